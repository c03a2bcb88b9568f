package model

import (
	"math"
)

// The engine's forward passes: forwardChunk runs many rows (prefill and
// scoring chunks) layer by layer through parallel ops, forwardRows runs a
// worker's rows of a batched decode step to the logits on its own, and
// the column split of a batch-1 decode step is in engine_split.go.

// linear computes rows [r0, r1) and columns [j0, j1) of a on worker w.
func (e *Engine) linear(w int, a *linArgs, r0, r1, j0, j1 int) {
	linearKernel(a, r0, r1, j0, j1, e.kbuf[w*e.kstep:(w+1)*e.kstep])
}

// linearRows computes rows [r0, r1) of a, all columns, on worker w: through
// Sgemm for many rows, else the row kernels (the same bits either way).
func (e *Engine) linearRows(w int, a *linArgs, r0, r1, j1 int) {
	if e.useGemm(r1 - r0) {
		e.linearGemm(w, a, r0, r1, 0, j1)
		return
	}
	e.linear(w, a, r0, r1, 0, j1)
}

// linArgsFor describes dst (n, m.out) = epi(x @ m + b).
func linArgsFor(dst, x []float32, m *mat, b []float32, n int, epi epilogue) linArgs {
	return linArgs{dst: dst, x: x, w: m.w, b: b, n: n, in: m.in, out: m.out, ldw: m.ld, epi: epi, wpk: m.pk}
}

// kvBlock is how many positions a block of the key cache holds. Keys are
// stored transposed, so that a head's scores are a matrix-vector product
// over contiguous positions (kern1), and in blocks of kvBlock positions, so
// that a head's keys for a block are hd rows of kvBlock floats in one
// contiguous run: with rows of maxLen positions, one head's keys for the
// first 48 positions were 32 pieces of 192 bytes, 1 KiB apart. Values are
// stored by head, a head's values for every position in one run.
const kvBlock = 64

// kvAt returns where the keys of slot at position pos start in a layer's
// key cache (dimension c at kAt + c*kvBlock), and where its values for
// head h start in the value cache (hd floats).
func (e *Engine) kvAt(slot, pos, h int) (kAt, vAt int) {
	D, H := e.cfg.Dim, e.cfg.Heads
	hd := D / H
	kAt = (slot*e.nblk+pos/kvBlock)*D*kvBlock + pos%kvBlock
	vAt = ((slot*H+h)*e.maxLen + pos) * hd
	return kAt, vAt
}

// storeKV copies the k and v parts of columns [j0, j1) of qkv rows [r0, r1)
// into block l's cache at each row's slot and position (kvBlock, kvAt).
func (e *Engine) storeKV(l, r0, r1, j0, j1 int) {
	D := e.cfg.Dim
	hd := D / e.cfg.Heads
	kc, vc := e.kc[l], e.vc[l]
	for r := r0; r < r1; r++ {
		slot, pos := e.rowSlot[r], e.rowPos[r]
		row := e.qkv[r*3*D : (r+1)*3*D]
		if a, b := max(j0, D), min(j1, 2*D); a < b {
			kAt, _ := e.kvAt(slot, pos, 0)
			kt := kc[kAt:]
			for j := a; j < b; j++ {
				kt[(j-D)*kvBlock] = row[j]
			}
		}
		for a := max(j0, 2*D); a < min(j1, 3*D); {
			h := (a - 2*D) / hd
			b := min(j1, 2*D+(h+1)*hd) // the end of head h's part, or of the range
			_, vAt := e.kvAt(slot, pos, h)
			off := (a - 2*D) % hd
			copy(vc[vAt+off:vAt+off+b-a], row[a:b])
			a = b
		}
	}
}

// scoreScratch is worker w's attention scratch: attnPanel rows of maxLen
// rounded up to 16, for the two heads attendHeadPairAVX takes at once or
// the rows of attendPanelAVX.
func (e *Engine) scoreScratch(w int) []float32 {
	n := attnPanel * pad16(e.maxLen)
	return e.scores[w*n : (w+1)*n]
}

// attnPanel is how many rows of one sequence attendPanel takes at once:
// the height of the AVX2 Sgemm micro-kernel (sgemmKernel6x16).
const attnPanel = 6

// attnGemm lets forwardChunk's attention take runs of attnPanel rows of
// one sequence at consecutive positions as register-tiled products
// (attendPanel) instead of one row at a time; the bits are the same. A
// knob for the tests and the benchmark that compare the two.
var attnGemm = true

// attendRows computes attention for rows [r0, r1) of block l on worker w:
// runs of at least attnPanel rows of one sequence at consecutive positions
// (runEnd) in panels of attnPanel rows, the other rows one at a time. A
// run's last panel, if short, is moved back to end with the run: it
// recomputes a few rows of the panel before it, with the same bits. Chunks
// can start or end mid-sequence; a row's bits do not depend on the route.
func (e *Engine) attendRows(w, l, r0, r1 int) {
	s := e.scoreScratch(w)
	for r := r0; r < r1; {
		q := e.runEnd(r, r1)
		if q-r < attnPanel {
			for ; r < q; r++ {
				e.attend(l, r, s)
			}
			continue
		}
		for p := r; p < q; p += attnPanel {
			e.attendPanel(l, min(p, q-attnPanel), s)
		}
		r = q
	}
}

// runEnd returns the end of the run of rows from r, below r1, that
// attendPanel can take together: one sequence at consecutive positions.
// It is r+1 where attendPanelAVX cannot run (attnGemm off, no AVX2, heads
// not a multiple of 16 wide).
func (e *Engine) runEnd(r, r1 int) int {
	if !attnGemm || !useAVX || e.cfg.Dim/e.cfg.Heads%16 != 0 {
		return r + 1
	}
	q := r + 1
	for q < r1 && e.rowSlot[q] == e.rowSlot[r] && e.rowPos[q] == e.rowPos[q-1]+1 {
		q++
	}
	return q
}

// attendPanel is attend for the attnPanel rows from r, one sequence at
// consecutive positions (runEnd), head by head. s is a worker's
// scoreScratch.
func (e *Engine) attendPanel(l, r int, s []float32) {
	D, H := e.cfg.Dim, e.cfg.Heads
	hd := D / H
	scale := float32(1 / math.Sqrt(float64(hd)))
	slot, p0 := e.rowSlot[r], e.rowPos[r]
	n := p0 + attnPanel // positions of the last row
	ldb := D * kvBlock
	Kt := e.kc[l][slot*e.nblk*ldb : (slot+1)*e.nblk*ldb]
	ldp := pad16(e.maxLen)
	for h := range H {
		c0 := h * hd
		_, vAt := e.kvAt(slot, 0, h)
		attendPanelAVX(e.att[r*D+c0:], D, s[:attnPanel*ldp], ldp, e.qkv[r*3*D+c0:], 3*D,
			Kt[c0*kvBlock:], ldb, e.vc[l][vAt:vAt+n*hd], hd, p0, scale)
	}
}

// attend computes causal multi-head attention for row r of block l from
// the cache: att[r] = concat_h softmax(q_h K_h^T / sqrt(hd)) V_h over
// positions 0..pos. s is a worker's scoreScratch.
func (e *Engine) attend(l, r int, s []float32) {
	e.attendHeads(l, r, 0, e.cfg.Heads, s)
}

// attendHeads is attend for heads [h0, h1) only.
func (e *Engine) attendHeads(l, r, h0, h1 int, s []float32) {
	D, H := e.cfg.Dim, e.cfg.Heads
	hd := D / H
	scale := float32(1 / math.Sqrt(float64(hd)))
	slot, pos := e.rowSlot[r], e.rowPos[r]
	ldb := D * kvBlock // floats from one key block to the next
	Kt := e.kc[l][slot*e.nblk*ldb : (slot+1)*e.nblk*ldb]
	q := e.qkv[r*3*D : r*3*D+D]
	out := e.att[r*D : (r+1)*D]
	s2 := s[pad16(e.maxLen):][:pos+1]
	s = s[:pos+1]
	vOf := func(h int) []float32 {
		_, vAt := e.kvAt(slot, 0, h)
		return e.vc[l][vAt : vAt+(pos+1)*hd] // (pos+1, hd)
	}
	if useAVX && hd%8 == 0 {
		h := h0
		for ; h+1 < h1 && hd%32 == 0; h += 2 { // two heads' mixes at once (attnMix2)
			c0, c1 := h*hd, (h+1)*hd
			attendHeadPairAVX(out[c0:c0+hd], out[c1:c1+hd], s, s2, q[c0:c0+hd], q[c1:c1+hd],
				Kt[c0*kvBlock:], Kt[c1*kvBlock:], vOf(h), vOf(h+1), ldb, hd, scale)
		}
		for ; h < h1; h++ {
			c0 := h * hd
			attendHeadAVX(out[c0:c0+hd], s, q[c0:c0+hd], Kt[c0*kvBlock:], vOf(h), ldb, hd, scale)
		}
		return
	}
	for h := h0; h < h1; h++ {
		c0 := h * hd
		V := vOf(h)
		clear(s)
		for c, a := range q[c0 : c0+hd] { // s = q_h K_h^T, one key dimension at a time
			for j0 := 0; j0 < len(s); j0 += kvBlock {
				axpy(s[j0:min(len(s), j0+kvBlock)], a, Kt[j0/kvBlock*ldb+(c0+c)*kvBlock:])
			}
		}
		mx := float32(math.Inf(-1))
		for j := range s {
			s[j] *= scale
			mx = max(mx, s[j])
		}
		var sum float32
		for j, v := range s {
			v = expf(v - mx)
			s[j] = v
			sum += v
		}
		oh := out[c0 : c0+hd]
		clear(oh)
		for j, a := range s {
			axpy(oh, a, V[j*hd:(j+1)*hd])
		}
		inv := 1 / sum
		for c := range oh {
			oh[c] *= inv
		}
	}
}

// embed writes x[r] = wte[tok] + wpe[pos] for rows [r0, r1).
func (e *Engine) embed(r0, r1 int) {
	D := e.cfg.Dim
	wte, wpe := e.p.WTE.Data, e.p.WPE.Data
	for r := r0; r < r1; r++ {
		t, p := e.rowTok[r]*D, e.rowPos[r]*D
		x := e.x[r*D : (r+1)*D]
		for c := range x {
			x[c] = wte[t+c] + wpe[p+c]
		}
	}
}

// forwardChunk runs the model on the e.n rows of the chunk and leaves the
// logits of the rows in sel in e.logits, splitting each matmul by columns
// and each row-wise op by rows across the workers. Used for prefill,
// scoring and decode steps with few rows.
func (e *Engine) forwardChunk() {
	if e.split != nil && e.n <= splitMaxRows {
		e.forwardSplit()
		return
	}
	n, D, M := e.n, e.cfg.Dim, e.cfg.MLP
	if n > gemmInPlaceRows { // Sgemm would pack the weights for each matmul
		e.prepackGemm(n)
	}
	e.embed(0, n)
	for l := range e.p.Blocks {
		b := &e.p.Blocks[l]
		e.layer = l
		e.ln = lnArgs{e.h, e.x, b.LN1G.Data, b.LN1B.Data}
		e.parallel(opLN, n, 1)
		m := &e.mats[l]
		e.lin = linArgsFor(e.qkv, e.h, &m.qkv, b.BQKV.Data, n, epiSet)
		e.parallel(opQKV, (3*D+15)/16, e.linAlign(n))
		e.parallel(opAttn, n, 1)
		e.lin = linArgsFor(e.x, e.att, &m.o, b.BO.Data, n, epiAdd)
		e.parallel(opLinear, (D+15)/16, e.linAlign(n))
		e.ln = lnArgs{e.h, e.x, b.LN2G.Data, b.LN2B.Data}
		e.parallel(opLN, n, 1)
		e.lin = linArgsFor(e.mlp, e.h, &m.w1, b.B1.Data, n, epiGELU)
		e.parallel(opLinear, (M+15)/16, e.linAlign(n))
		e.lin = linArgsFor(e.x, e.mlp, &m.w2, b.B2.Data, n, epiAdd)
		e.parallel(opLinear, (D+15)/16, e.linAlign(n))
	}
	e.parallel(opFinal, e.nsel, 1)
	e.lin = linArgsFor(e.logits, e.h, &e.head, nil, e.nsel, epiSet)
	e.parallel(opLinear, (e.cfg.Vocab+15)/16, e.linAlign(e.nsel))
}

// forwardRows runs the whole model on rows [r0, r1) of a decode step, in
// which every row belongs to a different sequence, so no row needs another
// row's keys: a worker can take its rows through all blocks without
// waiting for the others. sel must be the identity on these rows.
func (e *Engine) forwardRows(w, r0, r1 int) {
	D, M, V := e.cfg.Dim, e.cfg.MLP, e.cfg.Vocab
	e.embed(r0, r1)
	s := e.scoreScratch(w)
	a := &e.wlin[w]
	for l := range e.p.Blocks {
		b := &e.p.Blocks[l]
		layerNormRows(e.h, e.x, b.LN1G.Data, b.LN1B.Data, nil, D, r0, r1)
		m := &e.mats[l]
		*a = linArgsFor(e.qkv, e.h, &m.qkv, b.BQKV.Data, e.n, epiSet)
		e.linearRows(w, a, r0, r1, 3*D)
		e.storeKV(l, r0, r1, 0, 3*D)
		for r := r0; r < r1; r++ {
			e.attend(l, r, s)
		}
		*a = linArgsFor(e.x, e.att, &m.o, b.BO.Data, e.n, epiAdd)
		e.linearRows(w, a, r0, r1, D)
		layerNormRows(e.h, e.x, b.LN2G.Data, b.LN2B.Data, nil, D, r0, r1)
		*a = linArgsFor(e.mlp, e.h, &m.w1, b.B1.Data, e.n, epiGELU)
		e.linearRows(w, a, r0, r1, M)
		*a = linArgsFor(e.x, e.mlp, &m.w2, b.B2.Data, e.n, epiAdd)
		e.linearRows(w, a, r0, r1, D)
	}
	layerNormRows(e.h, e.x, e.p.LNFG.Data, e.p.LNFB.Data, nil, D, r0, r1)
	*a = linArgsFor(e.logits, e.h, &e.head, nil, e.n, epiSet)
	e.linearRows(w, a, r0, r1, V)
}
