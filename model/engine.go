package model

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Engine is the rollout engine: a hand-written float32 forward pass over a
// Params arena with a KV cache, for a batch of sequences at once. Prompts of
// different lengths are prefilled in chunks of rows (a batched matmul over
// many positions), then all unfinished sequences decode one token per step;
// finished ones drop out of the batch.
//
// All buffers are allocated by NewEngine; Generate and Score allocate
// nothing. The engine reads the weights at each call, so it follows the
// optimizer's in-place updates of Params.Data.
//
// Determinism: every output element is computed by one worker, in an order
// fixed by the model shape alone (see matmul.go), so a sequence's tokens,
// log-probs and entropies are bitwise identical whatever the batch, its
// position in it and the number of workers. Each sequence draws from its own
// PCG stream seeded from its seed. (Bits differ between the AVX2+FMA
// assembly kernels and the pure-Go ones, but a process uses one set; with
// -tags openblas, batch independence is not guaranteed.)
//
// Work split: prefill, scoring and decode steps with fewer than rowMode
// rows split each matmul by 16-column blocks and each row-wise op by rows,
// with a hand-off per op; larger decode steps give each worker a range of
// sequences to take through the whole model with one hand-off per step.
// Chunks of at most splitMaxRows rows (batch-1 decode) give each worker
// the same columns of every matmul at every step, read from its own packed
// copy that stays in its core's L2 (engine_split.go). Matmuls over
// gemmRows rows or more run on Sgemm's register-tiled micro-kernel, which
// gives the same bits as the row kernels (engine_gemm.go). Workers hand
// off through spinning atomics, and park when idle (engine_sync.go).
//
// An Engine is not safe for concurrent use. Call Close to stop its worker
// goroutines.
type Engine struct {
	p        *Params
	cfg      Config
	maxBatch int // sequences in flight (KV cache slots)
	maxLen   int // positions per sequence (prompt + generated)
	rowCap   int // rows the activation buffers hold (one prefill/scoring chunk, or one decode step)
	workers  int

	mats  []layerMats // per block, the matmul weights as the kernels read them
	head  mat         // (D, V) output projection: wte^T (refreshed at each call) when tied, else Head
	kc    [][]float32 // per layer (maxBatch, D, ldk) keys, transposed: column pos of row (slot, c)
	vc    [][]float32 // per layer (maxBatch, maxLen, D) values
	ldk   int         // pad16(maxLen): positions per key row
	kbuf  []float32   // (workers, 4*maxOut) matmul kernel scratch
	kstep int         // floats of kbuf per worker

	x      []float32 // (R, D) residual stream
	h      []float32 // (R, D) LayerNorm output; after the last block, LNF(x[sel[i]]) in row i
	qkv    []float32 // (R, 3D) [q | k | v]
	att    []float32 // (R, D) attention output, heads concatenated
	mlp    []float32 // (R, M) GELU(h@w1 + b1)
	logits []float32 // (R, V) logits of the rows in sel, row i for sel[i]
	scores []float32 // (workers, pad16(maxLen)) attention weights, one row per worker

	rowTok  []int // (R) token fed at each row
	rowPos  []int // (R) its position
	rowSlot []int // (R) its sequence's KV cache slot
	n       int   // rows in the current chunk
	sel     []int // (R) rows whose logits are needed
	nsel    int

	// Sampling and scoring state.
	scfg     SampleConfig
	rng      []rand.PCG // (maxBatch) one stream per sequence
	prob     []float64  // (workers, V) softmax scratch
	idx      []int32    // (workers, V) top-k/top-p scratch
	out      *Rollout
	prompts  [][]int
	seqLen   []int  // (maxBatch) tokens so far, prompt included
	finished []bool // (maxBatch)
	scoreDst [][]float32
	scoreSeq [][]int
	scoreT   float64

	// The parallel op in flight, read by every worker.
	op      opKind
	opN     int       // units of work to split
	opAlign int       // split boundaries are multiples of this
	layer   int       // block of opQKV/opAttn
	lin     linArgs   // opLinear / opQKV
	wlin    []linArgs // (workers) each worker's matmul in opDecode (heap-resident: the kernel is called through a func value)
	ln      lnArgs    // opLN

	rowMode int // decode steps with at least this many rows run one worker per row range, with no barrier

	// Sgemm path of forwardChunk (engine_gemm.go).
	gemmRows int            // matmuls over at least this many rows go through Sgemm; 0: never
	gemm     []sgemmScratch // (workers) packing buffers
	gargs    []sgemmArgs    // (workers) each worker's Sgemm operands (heap-resident, like wlin)
	gbuf     []float32      // (R, ldg) raw matmul sums before the bias and epilogue
	ldg      int            // pad16(max(3D, M, V))

	// Fixed column split of chunks of few rows (engine_split.go).
	split  []workerPanels // (workers) each worker's packed columns of the weights; nil for 1 worker
	packed bool           // split panels match the weights (reset by prepare)
	splitM splitMat       // the matmul of opSplitLinear
	hw     []float32      // (workers, splitMaxRows, D) each worker's LayerNorm output

	sync engineSync // worker hand-off (engine_sync.go)
}

type opKind uint8

const (
	opLN          opKind = iota // rows: ln.dst = LN(ln.src)
	opLinear                    // 8-column tiles of lin
	opQKV                       // opLinear, then copy its k and v columns into the cache
	opAttn                      // rows: attention of block layer
	opFinal                     // sel entries: h[i] = LNF(x[sel[i]])
	opSample                    // sel entries: sample the next token of each sequence
	opScore                     // sel entries: log-prob of the next token
	opDecode                    // rows: the whole forward pass and sampling, one row range per worker
	opPack                      // workers: pack each worker's split panels
	opSplitAttn                 // workers: LN1, then QKV and attention of each worker's heads
	opSplitLinear               // workers: each worker's columns of matmul splitM, after its LayerNorm
	opQuit                      // helpers return (Close)
)

type lnArgs struct {
	dst, src, g, b []float32
}

// NewEngine allocates an engine for up to maxBatch sequences of up to maxLen
// tokens each (prompt plus generated), running on workers goroutines (1 runs
// everything on the caller's goroutine). It panics on bad sizes (a
// programming error).
func NewEngine(p *Params, maxBatch, maxLen, workers int) *Engine {
	cfg := p.Cfg
	if maxBatch < 1 || maxLen < 2 || maxLen > cfg.Context || workers < 1 {
		panic(fmt.Sprintf("model: NewEngine(maxBatch=%d, maxLen=%d, workers=%d): want maxBatch >= 1, 2 <= maxLen <= context %d, workers >= 1",
			maxBatch, maxLen, workers, cfg.Context))
	}
	D, M, V, L := cfg.Dim, cfg.MLP, cfg.Vocab, cfg.Layers
	// A prefill or scoring chunk holds at least 256 rows (enough to keep
	// the matmuls efficient), and at least one decode step of the batch.
	R := min(max(maxBatch, 256), maxBatch*maxLen)
	e := &Engine{
		p: p, cfg: cfg, maxBatch: maxBatch, maxLen: maxLen, rowCap: R, workers: workers,
		x: make([]float32, R*D), h: make([]float32, R*D), qkv: make([]float32, R*3*D),
		att: make([]float32, R*D), mlp: make([]float32, R*M), logits: make([]float32, R*V),
		scores: make([]float32, workers*pad16(maxLen)),
		rowTok: make([]int, R), rowPos: make([]int, R), rowSlot: make([]int, R), sel: make([]int, R),
		rng: make([]rand.PCG, maxBatch), prob: make([]float64, workers*V), idx: make([]int32, workers*V),
		seqLen: make([]int, maxBatch), finished: make([]bool, maxBatch),
		rowMode: 2 * workers, wlin: make([]linArgs, workers),
		gemmRows: defaultGemmRows(), gemm: make([]sgemmScratch, workers), gargs: make([]sgemmArgs, workers),
		ldg: pad16(max(3*D, M, V)),
	}
	e.gbuf = make([]float32, R*e.ldg)
	for w := range e.gemm {
		e.gemm[w] = newGemmScratch(cfg)
	}
	e.mats = make([]layerMats, L)
	for l, b := range p.Blocks {
		e.mats[l] = layerMats{
			qkv: newMat(b.WQKV.Data, D, 3*D), o: newMat(b.WO.Data, D, D),
			w1: newMat(b.W1.Data, D, M), w2: newMat(b.W2.Data, M, D),
		}
	}
	if cfg.Tied {
		e.head = mat{in: D, out: V, ld: pad16(V)}
		e.head.w = make([]float32, D*e.head.ld)
	} else {
		e.head = newMat(p.Head.Data, D, V)
	}
	e.kstep = 4 * max(pad16(3*D), pad16(M), pad16(V))
	e.kbuf = make([]float32, workers*e.kstep)
	e.kc = make([][]float32, L)
	e.vc = make([][]float32, L)
	e.ldk = pad16(maxLen)
	for l := range L {
		e.kc[l] = make([]float32, maxBatch*D*e.ldk)
		e.vc[l] = make([]float32, maxBatch*maxLen*D)
	}
	if workers > 1 {
		e.newSplit()
		e.startHelpers()
	}
	return e
}

// parallel runs op over n units of work split into contiguous ranges, one
// per worker, and waits for all of them.
func (e *Engine) parallel(op opKind, n, align int) {
	if n == 0 {
		return
	}
	e.op, e.opN, e.opAlign = op, n, align
	if e.workers == 1 || n <= align {
		e.run(0, 0, n)
		return
	}
	g := e.publish()
	e.work(0)
	e.stealShares(g)
	e.awaitHelpers()
}

// work runs worker w's share of the current op.
func (e *Engine) work(w int) {
	units := (e.opN + e.opAlign - 1) / e.opAlign
	lo := units * w / e.workers * e.opAlign
	hi := min(units*(w+1)/e.workers*e.opAlign, e.opN)
	if lo < hi {
		e.run(w, lo, hi)
	}
}

func (e *Engine) run(w, lo, hi int) {
	switch e.op {
	case opLN:
		a := &e.ln
		D := e.cfg.Dim
		for r := lo; r < hi; r++ {
			layerNorm(a.dst[r*D:(r+1)*D], a.src[r*D:(r+1)*D], a.g, a.b)
		}
	case opLinear, opQKV:
		j0, j1 := lo*16, min(hi*16, e.lin.out)
		if e.useGemm(e.lin.n) {
			e.linearGemm(w, &e.lin, 0, e.lin.n, j0, j1)
		} else {
			e.linear(w, &e.lin, 0, e.lin.n, j0, j1)
		}
		if e.op == opQKV {
			e.storeKV(e.layer, 0, e.lin.n, j0, j1)
		}
	case opAttn:
		for r := lo; r < hi; r++ {
			e.attend(e.layer, r, e.scores[w*pad16(e.maxLen):(w+1)*pad16(e.maxLen)])
		}
	case opFinal:
		for i := lo; i < hi; i++ {
			D, r := e.cfg.Dim, e.sel[i]
			layerNorm(e.h[i*D:(i+1)*D], e.x[r*D:(r+1)*D], e.p.LNFG.Data, e.p.LNFB.Data)
		}
	case opSample:
		e.sampleRows(w, lo, hi)
	case opScore:
		e.scoreRows(w, lo, hi)
	case opDecode:
		e.forwardRows(w, lo, hi)
		e.sampleRows(w, lo, hi)
	case opPack:
		e.pack(w)
	case opSplitAttn:
		e.splitAttend(w)
	case opSplitLinear:
		e.splitLinear(w)
	}
}

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
	return linArgs{dst: dst, x: x, w: m.w, b: b, n: n, in: m.in, out: m.out, ldw: m.ld, epi: epi}
}

// storeKV copies the k and v parts of columns [j0, j1) of qkv rows [r0, r1)
// into block l's cache at each row's slot and position. Keys are stored
// transposed, so that a head's scores are a matrix-vector product over
// contiguous positions.
func (e *Engine) storeKV(l, r0, r1, j0, j1 int) {
	D, ldk := e.cfg.Dim, e.ldk
	for r := r0; r < r1; r++ {
		slot, pos := e.rowSlot[r], e.rowPos[r]
		at := (slot*e.maxLen + pos) * D
		row := e.qkv[r*3*D : (r+1)*3*D]
		if a, b := max(j0, D), min(j1, 2*D); a < b {
			kt := e.kc[l][slot*D*ldk:]
			for j := a; j < b; j++ {
				kt[(j-D)*ldk+pos] = row[j]
			}
		}
		if a, b := max(j0, 2*D), min(j1, 3*D); a < b {
			copy(e.vc[l][at+a-2*D:at+b-2*D], row[a:b])
		}
	}
}

// attend computes causal multi-head attention for row r of block l from
// the cache: att[r] = concat_h softmax(q_h K_h^T / sqrt(hd)) V_h over
// positions 0..pos. s is scratch of length maxLen.
func (e *Engine) attend(l, r int, s []float32) {
	e.attendHeads(l, r, 0, e.cfg.Heads, s)
}

// attendHeads is attend for heads [h0, h1) only.
func (e *Engine) attendHeads(l, r, h0, h1 int, s []float32) {
	D, H := e.cfg.Dim, e.cfg.Heads
	hd := D / H
	scale := float32(1 / math.Sqrt(float64(hd)))
	pos, ldk := e.rowPos[r], e.ldk
	base := e.rowSlot[r] * e.maxLen * D
	Kt := e.kc[l][e.rowSlot[r]*D*ldk : (e.rowSlot[r]+1)*D*ldk] // (D, ldk)
	V := e.vc[l][base : base+(pos+1)*D]                        // (pos+1, D)
	q := e.qkv[r*3*D : r*3*D+D]
	out := e.att[r*D : (r+1)*D]
	s = s[:pos+1]
	for h := h0; h < h1; h++ {
		c0 := h * hd
		if useAVX && hd%8 == 0 {
			attendHeadAVX(out[c0:c0+hd], s, q[c0:c0+hd], Kt[c0*ldk:], V[c0:], ldk, D, hd, scale)
			continue
		}
		clear(s)
		for c, a := range q[c0 : c0+hd] { // s = q_h K_h^T, one key dimension at a time
			axpy(s, a, Kt[(c0+c)*ldk:])
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
			axpy(oh, a, V[j*D+c0:j*D+c0+hd])
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
	s := e.scores[w*pad16(e.maxLen) : (w+1)*pad16(e.maxLen)]
	a := &e.wlin[w]
	for l := range e.p.Blocks {
		b := &e.p.Blocks[l]
		for r := r0; r < r1; r++ {
			layerNorm(e.h[r*D:(r+1)*D], e.x[r*D:(r+1)*D], b.LN1G.Data, b.LN1B.Data)
		}
		m := &e.mats[l]
		*a = linArgsFor(e.qkv, e.h, &m.qkv, b.BQKV.Data, e.n, epiSet)
		e.linearRows(w, a, r0, r1, 3*D)
		e.storeKV(l, r0, r1, 0, 3*D)
		for r := r0; r < r1; r++ {
			e.attend(l, r, s)
		}
		*a = linArgsFor(e.x, e.att, &m.o, b.BO.Data, e.n, epiAdd)
		e.linearRows(w, a, r0, r1, D)
		for r := r0; r < r1; r++ {
			layerNorm(e.h[r*D:(r+1)*D], e.x[r*D:(r+1)*D], b.LN2G.Data, b.LN2B.Data)
		}
		*a = linArgsFor(e.mlp, e.h, &m.w1, b.B1.Data, e.n, epiGELU)
		e.linearRows(w, a, r0, r1, M)
		*a = linArgsFor(e.x, e.mlp, &m.w2, b.B2.Data, e.n, epiAdd)
		e.linearRows(w, a, r0, r1, D)
	}
	for r := r0; r < r1; r++ {
		layerNorm(e.h[r*D:(r+1)*D], e.x[r*D:(r+1)*D], e.p.LNFG.Data, e.p.LNFB.Data)
	}
	*a = linArgsFor(e.logits, e.h, &e.head, nil, e.n, epiSet)
	e.linearRows(w, a, r0, r1, V)
}

// prepare brings the kernels' view of the weights up to date with
// Params.Data (the optimizer updates it in place between calls): it copies
// the weights that need padding and transposes wte when the head is tied.
func (e *Engine) prepare() {
	e.packed = false
	for l := range e.mats {
		m := &e.mats[l]
		m.qkv.refresh()
		m.o.refresh()
		m.w1.refresh()
		m.w2.refresh()
	}
	if !e.cfg.Tied {
		e.head.refresh()
		return
	}
	D, V, ld := e.cfg.Dim, e.cfg.Vocab, e.head.ld
	wte := e.p.WTE.Data
	for v := range V {
		for c := range D {
			e.head.w[c*ld+v] = wte[v*D+c]
		}
	}
}

// layerMats are one block's matmul weights.
type layerMats struct {
	qkv, o, w1, w2 mat // (D, 3D), (D, D), (D, M), (M, D)
}

// mat is a weight matrix (in, out) as the kernels read it: row k at
// w[k*ld:]. When out is a multiple of 16, w is the parameter itself;
// otherwise a zero-padded copy with ld = out rounded up to 16, refreshed by
// prepare.
type mat struct {
	w, src      []float32
	in, out, ld int
}

func pad16(n int) int { return (n + 15) &^ 15 }

func newMat(src []float32, in, out int) mat {
	m := mat{src: src, in: in, out: out, ld: pad16(out)}
	if m.ld == out {
		m.w = src
	} else {
		m.w = make([]float32, in*m.ld)
	}
	return m
}

func (m *mat) refresh() {
	if m.ld == m.out {
		return
	}
	for k := range m.in {
		copy(m.w[k*m.ld:k*m.ld+m.out], m.src[k*m.out:(k+1)*m.out])
	}
}

// Generate samples a completion for each prompt into dst under cfg;
// sequence b draws from a PCG stream seeded with seeds[b]. A sequence stops
// at cfg.EOS (dst.Stopped[b] = true), after cfg.MaxNew tokens, or when
// prompt plus completion reach the engine's maxLen. See Rollout for what
// LogP and Entropy hold. It returns an error, and generates nothing, on an
// invalid cfg, too many prompts, a prompt that is empty, too long (at most
// maxLen-1 tokens) or holds a bad token id, or a dst too small.
func (e *Engine) Generate(dst *Rollout, prompts [][]int, seeds []uint64, cfg SampleConfig) error {
	if err := e.begin(dst, prompts, seeds, cfg); err != nil {
		return err
	}
	e.prefill()
	for e.decodeStep() {
	}
	return nil
}

// begin validates Generate's arguments and resets the state.
func (e *Engine) begin(dst *Rollout, prompts [][]int, seeds []uint64, cfg SampleConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	B, V := len(prompts), e.cfg.Vocab
	if cfg.EOS >= V {
		return fmt.Errorf("model: eos = %d: want a token id below the vocabulary size %d, or -1", cfg.EOS, V)
	}
	if B > e.maxBatch {
		return fmt.Errorf("model: %d prompts: want at most the engine's max batch %d", B, e.maxBatch)
	}
	if len(seeds) != B {
		return fmt.Errorf("model: %d seeds for %d prompts: want one seed per prompt", len(seeds), B)
	}
	if dst == nil || cap(dst.Tokens) < B || cap(dst.LogP) < B || cap(dst.Entropy) < B || cap(dst.Stopped) < B {
		return fmt.Errorf("model: rollout too small for %d prompts: want one from NewRollout(maxBatch >= %d, ...)", B, B)
	}
	for b, pr := range prompts {
		if err := e.checkSeq("prompt", b, pr, 1, e.maxLen-1); err != nil {
			return err
		}
		if cap(dst.Tokens[:B][b]) < cfg.MaxNew || cap(dst.LogP[:B][b]) < cfg.MaxNew || cap(dst.Entropy[:B][b]) < cfg.MaxNew {
			return fmt.Errorf("model: rollout holds %d tokens per sequence: want NewRollout(..., maxNew >= %d)", cap(dst.Tokens[:B][b]), cfg.MaxNew)
		}
	}
	e.prepare()
	e.scfg, e.out, e.prompts = cfg, dst, prompts
	dst.Tokens, dst.LogP, dst.Entropy, dst.Stopped = dst.Tokens[:B], dst.LogP[:B], dst.Entropy[:B], dst.Stopped[:B]
	for b := range B {
		e.rng[b].Seed(seeds[b], rngStream)
		dst.Tokens[b], dst.LogP[b], dst.Entropy[b] = dst.Tokens[b][:0], dst.LogP[b][:0], dst.Entropy[b][:0]
		dst.Stopped[b] = false
		e.seqLen[b] = len(prompts[b])
		e.finished[b] = false
	}
	return nil
}

func (e *Engine) checkSeq(what string, b int, seq []int, minLen, maxLen int) error {
	if len(seq) < minLen || len(seq) > maxLen {
		return fmt.Errorf("model: %s %d has %d tokens: want %d to %d (engine maxLen %d)", what, b, len(seq), minLen, maxLen, e.maxLen)
	}
	for t, tok := range seq {
		if tok < 0 || tok >= e.cfg.Vocab {
			return fmt.Errorf("model: %s %d: token %d at position %d: want an id in [0, %d)", what, b, tok, t, e.cfg.Vocab)
		}
	}
	return nil
}

// prefill runs every prompt through the model in chunks of rows, sampling
// each sequence's first token from its last prompt position.
func (e *Engine) prefill() {
	e.n, e.nsel = 0, 0
	for b, pr := range e.prompts {
		for t, tok := range pr {
			if e.n == e.rowCap {
				e.flushPrefill()
			}
			e.rowTok[e.n], e.rowPos[e.n], e.rowSlot[e.n] = tok, t, b
			if t == len(pr)-1 {
				e.sel[e.nsel] = e.n
				e.nsel++
			}
			e.n++
		}
	}
	e.flushPrefill()
}

func (e *Engine) flushPrefill() {
	if e.n == 0 {
		return
	}
	e.forwardChunk()
	e.parallel(opSample, e.nsel, 1)
	e.n, e.nsel = 0, 0
}

// decodeStep feeds the last token of every unfinished sequence and samples
// the next. It returns false when every sequence has finished.
func (e *Engine) decodeStep() bool {
	n := 0
	for b := range e.prompts {
		if e.finished[b] {
			continue
		}
		toks := e.out.Tokens[b]
		e.rowTok[n], e.rowPos[n], e.rowSlot[n] = toks[len(toks)-1], e.seqLen[b]-1, b
		e.sel[n] = n
		n++
	}
	if n == 0 {
		return false
	}
	e.n, e.nsel = n, n
	if n >= e.rowMode {
		e.parallel(opDecode, n, 4)
	} else {
		e.forwardChunk()
		e.parallel(opSample, n, 1)
	}
	return true
}

// sampleRows samples the next token for sel entries [i0, i1) from their
// logits and records it; worker w's scratch is used.
func (e *Engine) sampleRows(w, i0, i1 int) {
	V := e.cfg.Vocab
	p, idx := e.prob[w*V:(w+1)*V], e.idx[w*V:(w+1)*V]
	out := e.out
	for i := i0; i < i1; i++ {
		b := e.rowSlot[e.sel[i]]
		tok, lp, ent := sampleToken(e.logits[i*V:(i+1)*V], &e.scfg, &e.rng[b], p, idx)
		out.Tokens[b] = append(out.Tokens[b], tok)
		out.LogP[b] = append(out.LogP[b], lp)
		out.Entropy[b] = append(out.Entropy[b], ent)
		e.seqLen[b]++
		switch {
		case tok == e.scfg.EOS:
			out.Stopped[b] = true
			e.finished[b] = true
		case len(out.Tokens[b]) >= e.scfg.MaxNew || e.seqLen[b] >= e.maxLen:
			e.finished[b] = true
		}
	}
}

// Score writes dst[b][t] = log p(seqs[b][t+1] | seqs[b][:t+1]) under the
// full softmax(logits / temperature): no top-k, top-p or min-p. It is the
// log-probability GRPO needs for the old and reference policies; with the
// same temperature and no truncation it equals Generate's LogP. Each
// sequence needs 1 to maxLen+1 tokens (the last one is only predicted) and
// len(dst[b]) == len(seqs[b])-1. More sequences than maxBatch are scored in
// groups.
func (e *Engine) Score(dst [][]float32, seqs [][]int, temperature float32) error {
	if t := float64(temperature); !(t > 0) || math.IsInf(t, 0) {
		return fmt.Errorf("model: temperature = %g: want a finite value > 0", t)
	}
	if len(dst) < len(seqs) {
		return fmt.Errorf("model: %d destination rows for %d sequences: want one per sequence", len(dst), len(seqs))
	}
	for b, s := range seqs {
		if err := e.checkSeq("sequence", b, s, 1, e.maxLen+1); err != nil {
			return err
		}
		if len(dst[b]) != len(s)-1 {
			return fmt.Errorf("model: dst[%d] has length %d: want len(seqs[%d])-1 = %d", b, len(dst[b]), b, len(s)-1)
		}
	}
	if len(seqs) == 0 {
		return nil
	}
	e.prepare()
	e.scoreT = float64(temperature)
	for g := 0; g < len(seqs); g += e.maxBatch {
		group := seqs[g:min(g+e.maxBatch, len(seqs))]
		e.scoreDst, e.scoreSeq = dst[g:], group
		e.n = 0
		for b, s := range group {
			for t := 0; t+1 < len(s); t++ {
				if e.n == e.rowCap {
					e.flushScore()
				}
				e.rowTok[e.n], e.rowPos[e.n], e.rowSlot[e.n] = s[t], t, b
				e.sel[e.n] = e.n
				e.n++
			}
		}
		e.flushScore()
	}
	e.scoreDst, e.scoreSeq = nil, nil
	return nil
}

func (e *Engine) flushScore() {
	if e.n == 0 {
		return
	}
	e.nsel = e.n
	e.forwardChunk()
	e.parallel(opScore, e.n, 1)
	e.n = 0
}

// scoreRows writes the log-probs of sel entries [i0, i1).
func (e *Engine) scoreRows(w, i0, i1 int) {
	V := e.cfg.Vocab
	p := e.prob[w*V : (w+1)*V]
	for i := i0; i < i1; i++ {
		r := e.sel[i]
		b, t := e.rowSlot[r], e.rowPos[r]
		e.scoreDst[b][t] = logProbOf(p, e.logits[i*V:(i+1)*V], e.scoreT, e.scoreSeq[b][t+1])
	}
}
