package model

// The engine's many-row matmul: prefill and scoring chunks, and each
// worker's rows of a batched decode step, run their linear layers through
// Sgemm's register-tiled micro-kernel (sgemm.go) instead of the row kernels
// kern4/kern1. With AVX-512 the 8x32 tile does twice the
// work per instruction of kern4's 4x16, and it reuses each weight load over
// 8 rows instead of 4: BenchmarkSgemmVsEngine measures about 2x on the
// engine's shapes from 8 rows up (and 3x slower at 1 row, where packing
// does not pay).
//
// Bits: both kernels keep one FMA accumulator per output element, updated
// in k order from zero, and Sgemm is called with alpha = 1, beta = 0, so
// its raw sums are bitwise those of kern4/kern1 (TestSgemmMatchesEngineKernel);
// the bias and epilogue are then applied by the same code as linearAVX.
// So the engine's outputs do not change, Score stays bitwise equal to
// Generate's LogP, and the path is used by default only where that holds:
// the engine on its AVX2 kernels and Sgemm on an FMA assembly kernel.

// gemmMinRows is the fewest rows for which forwardChunk's matmuls use
// Sgemm (measured 2x faster than kern4 at 8 rows; see above).
const gemmMinRows = 8

// defaultGemmRows returns the engine's gemmRows: gemmMinRows where Sgemm's
// kernel gives the same bits as linearKernel, else 0 (never).
func defaultGemmRows() int {
	if matmulKernel == "avx2" && sgemmKern.name != "go" {
		return gemmMinRows
	}
	return 0
}

// newGemmScratch returns packing buffers big enough for every Sgemm call
// of forwardChunk on a model of shape cfg, so that the engine's first call
// allocates nothing either.
func newGemmScratch(cfg Config) sgemmScratch {
	D, M, V := cfg.Dim, cfg.MLP, cfg.Vocab
	mr, nr := sgemmKern.mr, sgemmKern.nr
	roundNR := func(n int) int { return (n + nr - 1) / nr * nr }
	packB := max(D*roundNR(3*D), D*roundNR(D), D*roundNR(M), M*roundNR(D), D*roundNR(V))
	return sgemmScratch{
		packA: make([]float32, mr*max(D, M)),
		packB: make([]float32, packB),
		tile:  make([]float32, mr*nr),
	}
}

// useGemm reports whether a matmul over n rows goes through Sgemm.
func (e *Engine) useGemm(n int) bool { return e.gemmRows > 0 && n >= e.gemmRows }

// linAlign is the column split unit, in 16-column blocks, of a matmul over
// n rows: a whole Sgemm panel (nr columns) when it goes through Sgemm, so
// that no worker gets a ragged tile.
func (e *Engine) linAlign(n int) int {
	if e.useGemm(n) {
		return max(1, sgemmKern.nr/16)
	}
	return 1
}

// gemmInPlaceRows: a product over at most this many rows (a decode step of
// up to 128 sequences, a small prefill) reads the weights in place rather
// than packing them for every call. Measured by alternating Generate calls
// in one process, small preset, 1 worker: packing off x0.93-0.94 at batch
// 64, x0.95-1.00 at 128; on Score's chunks of 256 rows x1.04-1.06 (slower),
// and on the training graph's products (attention's 64-row ones included)
// x1.09, so only here.
const gemmInPlaceRows = 128

// enginePrepack lets the engine keep its weights packed as Sgemm's B
// panels (gpk) and hand them to every Sgemm call once they are packed,
// instead of packing them for every matmul of a chunk (Score's and the
// prefill's, about 5% of Score on 1 core) or reading them strided in place
// (decode steps). They are packed at most once per Generate or Score call
// (prepackGemm), where that pays: before the first chunk of more than
// gemmInPlaceRows rows, which would pack them anyway, or the first batched
// decode step through Sgemm, which comes back at every token. A shorter
// chunk before that (a small prefill) reads them in place as before: one
// pass over the weights, where packing costs two more (at batch 1 that
// would be a few percent of Generate). Off, the engine packs or reads in
// place as Sgemm does for any B (a knob for the benchmarks that measure
// it, and for the tests that hold the two to the same bits: the kernel
// reads the same values either way).
//
// Memory: a second copy of every matmul weight, each matrix's columns
// rounded up to nr: in * ceil(out/nr) * nr floats a matrix, 0.80M floats
// (3.2 MB) for the small preset at vocabulary 103 and 4.75M (19 MB) for
// the medium one, allocated by NewEngine when it uses Sgemm.
var enginePrepack = true

// newGemmPanels lays out gpk, Sgemm's B panels of every weight matrix for
// the current kernel's nr, and points each mat's pk at its part.
func (e *Engine) newGemmPanels() {
	nr, size := sgemmKern.nr, 0
	e.gpanels = 0
	for i := range 4*len(e.mats) + 1 {
		m := e.gemmMat(i)
		size += sgemmPackedLen(m.in, m.out, nr)
		e.gpanels += (m.out + nr - 1) / nr
	}
	e.gpk, e.gpackNR = make([]float32, size), nr
	at := 0
	for i := range 4*len(e.mats) + 1 {
		m := e.gemmMat(i)
		n := sgemmPackedLen(m.in, m.out, nr)
		m.pk = e.gpk[at : at+n : at+n]
		at += n
	}
}

// gemmMat is weight matrix i of the engine in gpk's order: each block's
// qkv, o, w1, w2, then the head.
func (e *Engine) gemmMat(i int) *mat {
	if i == 4*len(e.mats) {
		return &e.head
	}
	m := &e.mats[i/4]
	switch i % 4 {
	case 0:
		return &m.qkv
	case 1:
		return &m.o
	case 2:
		return &m.w1
	}
	return &m.w2
}

// prepackGemm packs the weights into gpk, split by panels over the
// workers, if a matmul over n rows goes through Sgemm and they are not
// packed since the call's prepare (which runs after each weight update
// the engine can see: at the start of every Generate and Score). Its
// callers decide where it pays (enginePrepack).
func (e *Engine) prepackGemm(n int) {
	if e.gpacked || !enginePrepack || !e.useGemm(n) || e.gpk == nil || sgemmKern.nr != e.gpackNR {
		return
	}
	e.parallel(opPackGemm, e.gpanels, 1)
	e.gpacked = true
}

// packGemm packs panels [lo, hi) of gpk, counted across the matrices in
// gemmMat order.
func (e *Engine) packGemm(lo, hi int) {
	nr, base := e.gpackNR, 0
	for i := range 4*len(e.mats) + 1 {
		m := e.gemmMat(i)
		np := (m.out + nr - 1) / nr
		if jp0, jp1 := max(lo-base, 0), min(hi-base, np); jp0 < jp1 {
			sgemmPackBPanels(m.pk, m.w, m.ld, m.in, m.out, nr, jp0, jp1)
		}
		base += np
	}
}

// linearGemm computes rows [r0, r1) and columns [j0, j1) of a on worker w
// with Sgemm's micro-kernel: raw sums into the same rows of e.gbuf
// (R, ldg), then the bias and epilogue row by row. j0 must be a multiple
// of 16.
func (e *Engine) linearGemm(w int, a *linArgs, r0, r1, j0, j1 int) {
	if j0 >= j1 || r0 >= r1 {
		return
	}
	ldg, in, out := e.ldg, a.in, a.out
	if j0%16 != 0 || out > ldg || r1 > a.n {
		panic("model: linearGemm: bad row or column range")
	}
	p := &e.gargs[w]
	*p = sgemmArgs{m: r1 - r0, n: out, k: in, alpha: 1, a: a.x[r0*in:], lda: in, b: a.w, ldb: a.ldw, c: e.gbuf[r0*ldg:], ldc: ldg,
		bInPlace: r1-r0 <= gemmInPlaceRows}
	if e.gpacked && sgemmKern.nr == e.gpackNR { // (a test may switch kernels)
		p.bPacked = a.wpk // nil for a matrix not of the engine's: packed by run
	}
	sgemmCheck(false, false, p.m, p.n, p.k, p.a, p.lda, p.b, p.ldb, p.c, p.ldc)
	e.gemm[w].run(p, 0, p.m, j0, j1)
	*p = sgemmArgs{}
	// The row's scratch runs to j0 + (j1-j0 rounded up to 16) <= ldg:
	// epilogueRowAVX uses it for GELU's exp.
	nc := (j1 - j0 + 15) &^ 15
	for r := r0; r < r1; r++ {
		dst, c := a.dst[r*out:(r+1)*out], e.gbuf[r*ldg+j0:r*ldg+j0+nc]
		if useAVX {
			epilogueRowAVX(dst, c, a.b, j0, j1, a.epi)
		} else {
			epilogueRow(dst, c, a.b, j0, j1, a.epi)
		}
	}
}
