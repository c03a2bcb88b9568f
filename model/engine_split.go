package model

// The fixed column split of a decode step with few rows (batch 1 above
// all), with workers > 1. Each worker always computes the same columns of
// every matmul, from its own packed copy of them: a dense (in, ld) panel per
// matrix, all of a worker's panels in one arena. The small preset's weights
// are 3.2 MB, more than a core's 2 MiB L2, so one worker streams them from
// L3 at each token (about 25 GB/s); half of them, packed, stay in each
// core's L2 from token to token (measured 62-73 GB/s in kern1 for a
// 1.6 MB set, against 34 GB/s for the same columns read in place: a
// column range of a row-major matrix uses half the lines of each page, so
// only part of the L2's sets).
//
// The QKV matmul is split by heads rather than by 16-column blocks, so a
// worker holds the q, k and v of its heads and runs their attention with
// no barrier in between. Each worker computes the LayerNorm before a
// matmul itself, into its own buffer (the same bits in each), rather than
// wait for the caller's. Barriers per block: after attention, after the
// output projection, after each MLP matmul.
//
// Bits: a column's sums do not depend on the panel it is read from (the
// kernels run one accumulator per column in k order) and attention is per
// head, so this path gives the bits of the others.

// splitMaxRows is the most rows a chunk may have to take the split path:
// from gemmMinRows rows up, forwardChunk's matmuls run through Sgemm where
// the engine uses it (gemmRows > 0: the AVX2 kernels, not OpenBLAS or
// purego), which reuses each weight over 8 rows and does not need the
// split. The bound stays the same without Sgemm.
const splitMaxRows = gemmMinRows - 1

// panel is one worker's columns [j0, j1) of a weight matrix, packed: w is
// (in, ld) with ld = j1-j0 rounded up to 16 and zero padding.
type panel struct {
	w      []float32
	src    *mat // the matrix, as the kernels read it (refreshed by prepare)
	j0, j1 int
	ld     int
}

// splitLayer is one worker's panels of a block.
type splitLayer struct {
	q, k, v   panel // its heads' columns of WQKV: [h0*hd, h1*hd) of q, then of k and v
	o, w1, w2 panel
	h0, h1    int // its heads
}

// workerPanels are one worker's panels, in the order a step reads them.
type workerPanels struct {
	layers []splitLayer
	head   panel
	arena  []float32
}

// splitMat names the matmul of an opSplitLinear.
type splitMat uint8

const (
	splitO    splitMat = iota // x += att @ WO + BO
	splitW1                   // mlp = GELU(LN2(x) @ W1 + B1)
	splitW2                   // x += mlp @ W2 + B2
	splitHead                 // logits[i] = LNF(x[sel[i]]) @ head
)

// newSplit lays out every worker's panels.
func (e *Engine) newSplit() {
	D, H, L := e.cfg.Dim, e.cfg.Heads, e.cfg.Layers
	hd := D / H
	W := e.workers
	e.split = make([]workerPanels, W)
	e.hw = make([]float32, W*splitMaxRows*D)
	for w := range W {
		wp := &e.split[w]
		var size int
		cols := func(m *mat, j0, j1 int) panel {
			pn := panel{src: m, j0: j0, j1: j1, ld: pad16(j1 - j0)}
			size += m.in * pn.ld
			return pn
		}
		blocks := func(m *mat) panel { // 16-column blocks, as parallel splits them
			units := (m.out + 15) / 16
			return cols(m, units*w/W*16, min(units*(w+1)/W*16, m.out))
		}
		wp.layers = make([]splitLayer, L)
		for l := range L {
			m, sl := &e.mats[l], &wp.layers[l]
			sl.h0, sl.h1 = H*w/W, H*(w+1)/W
			c0, c1 := sl.h0*hd, sl.h1*hd
			sl.q, sl.k, sl.v = cols(&m.qkv, c0, c1), cols(&m.qkv, D+c0, D+c1), cols(&m.qkv, 2*D+c0, 2*D+c1)
			sl.o, sl.w1, sl.w2 = blocks(&m.o), blocks(&m.w1), blocks(&m.w2)
		}
		wp.head = blocks(&e.head)
		wp.arena = make([]float32, size)
		at := 0
		wp.each(func(pn *panel) {
			n := pn.src.in * pn.ld
			pn.w = wp.arena[at : at+n : at+n]
			at += n
		})
	}
}

// each calls f on every panel, in arena order.
func (wp *workerPanels) each(f func(pn *panel)) {
	for l := range wp.layers {
		sl := &wp.layers[l]
		for _, pn := range [...]*panel{&sl.q, &sl.k, &sl.v, &sl.o, &sl.w1, &sl.w2} {
			f(pn)
		}
	}
	f(&wp.head)
}

// pack copies worker w's columns of the weights into its panels (on w's
// core, so that they start out in its cache).
func (e *Engine) pack(w int) {
	wp := &e.split[w]
	for l := range wp.layers {
		sl := &wp.layers[l]
		sl.q.pack()
		sl.k.pack()
		sl.v.pack()
		sl.o.pack()
		sl.w1.pack()
		sl.w2.pack()
	}
	wp.head.pack()
}

func (pn *panel) pack() {
	m, n := pn.src, pn.j1-pn.j0
	for k := range m.in {
		copy(pn.w[k*pn.ld:k*pn.ld+n], m.w[k*m.ld+pn.j0:k*m.ld+pn.j1])
	}
}

// linearPanel computes rows [0, a.n) and columns [pn.j0, pn.j1) of a from
// the panel pn, on worker w. The kernel is given a view of a shifted by
// j0 columns: destination and bias start at column j0, weights at the
// panel; rows keep their stride a.out.
func (e *Engine) linearPanel(w int, a *linArgs, pn *panel) {
	if pn.j0 >= pn.j1 {
		return
	}
	v := &e.wlin[w]
	*v = *a
	v.dst, v.w, v.ldw, v.wpk = a.dst[pn.j0:], pn.w, pn.ld, nil
	if a.b != nil {
		v.b = a.b[pn.j0:]
	}
	e.linear(w, v, 0, a.n, 0, pn.j1-pn.j0)
	*v = linArgs{}
}

// hOf is worker w's LayerNorm output buffer (splitMaxRows, D).
func (e *Engine) hOf(w int) []float32 {
	D := e.cfg.Dim
	return e.hw[w*splitMaxRows*D : (w+1)*splitMaxRows*D]
}

// splitAttend is worker w's share of block e.layer's attention: LN1 of
// every row, q, k and v of its heads, their keys and values into the
// cache, then their attention.
func (e *Engine) splitAttend(w int) {
	l, n := e.layer, e.n
	sl := &e.split[w].layers[l]
	if sl.h0 == sl.h1 {
		return
	}
	b, h := &e.p.Blocks[l], e.hOf(w)
	e.layerNormRows(h, e.x, b.LN1G.Data, b.LN1B.Data, n)
	a := linArgsFor(e.qkv, h, &e.mats[l].qkv, b.BQKV.Data, n, epiSet)
	e.linearPanel(w, &a, &sl.q)
	e.linearPanel(w, &a, &sl.k)
	e.linearPanel(w, &a, &sl.v)
	e.storeKV(l, 0, n, sl.k.j0, sl.k.j1)
	e.storeKV(l, 0, n, sl.v.j0, sl.v.j1)
	s := e.scoreScratch(w)
	for r := range n {
		e.attendHeads(l, r, sl.h0, sl.h1, s)
	}
}

// splitLinear is worker w's share of the matmul e.splitM of block
// e.layer, with the LayerNorm before it.
func (e *Engine) splitLinear(w int) {
	l, n, D := e.layer, e.n, e.cfg.Dim
	wp, h := &e.split[w], e.hOf(w)
	var a linArgs
	var pn *panel
	switch e.splitM {
	case splitO:
		b := &e.p.Blocks[l]
		a, pn = linArgsFor(e.x, e.att, &e.mats[l].o, b.BO.Data, n, epiAdd), &wp.layers[l].o
	case splitW1:
		b := &e.p.Blocks[l]
		e.layerNormRows(h, e.x, b.LN2G.Data, b.LN2B.Data, n)
		a, pn = linArgsFor(e.mlp, h, &e.mats[l].w1, b.B1.Data, n, epiGELU), &wp.layers[l].w1
	case splitW2:
		b := &e.p.Blocks[l]
		a, pn = linArgsFor(e.x, e.mlp, &e.mats[l].w2, b.B2.Data, n, epiAdd), &wp.layers[l].w2
	case splitHead:
		for i := range e.nsel {
			r := e.sel[i]
			layerNorm(h[i*D:(i+1)*D], e.x[r*D:(r+1)*D], e.p.LNFG.Data, e.p.LNFB.Data)
		}
		a, pn = linArgsFor(e.logits, h, &e.head, nil, e.nsel, epiSet), &wp.head
	}
	e.linearPanel(w, &a, pn)
}

// forwardSplit is forwardChunk for a chunk of at most splitMaxRows rows on
// more than one worker.
func (e *Engine) forwardSplit() {
	W := e.workers
	if !e.packed {
		e.parallel(opPack, W, 1)
		e.packed = true
	}
	e.embed(0, e.n)
	for l := range e.p.Blocks {
		e.layer = l
		e.parallel(opSplitAttn, W, 1)
		for _, m := range [...]splitMat{splitO, splitW1, splitW2} {
			e.splitM = m
			e.parallel(opSplitLinear, W, 1)
		}
	}
	e.splitM = splitHead
	e.parallel(opSplitLinear, W, 1)
}

// layerNormRows writes dst[r] = LN(src[r]) for rows [0, n).
func (e *Engine) layerNormRows(dst, src, g, b []float32, n int) {
	layerNormRows(dst, src, g, b, nil, e.cfg.Dim, 0, n)
}
