package model

import (
	"fmt"
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
	kc    [][]float32 // per layer (maxBatch, nblk, D, kvBlock) keys in blocks of positions, transposed (kvAt)
	vc    [][]float32 // per layer (maxBatch, Heads, maxLen, hd) values, each head's contiguous (kvAt)
	nblk  int         // key blocks per slot: ceil(maxLen / kvBlock)
	kbuf  []float32   // (workers, 4*maxOut) matmul kernel scratch
	kstep int         // floats of kbuf per worker

	x      []float32 // (R, D) residual stream
	h      []float32 // (R, D) LayerNorm output; after the last block, LNF(x[sel[i]]) in row i
	qkv    []float32 // (R, 3D) [q | k | v]
	att    []float32 // (R, D) attention output, heads concatenated
	mlp    []float32 // (R, M) GELU(h@w1 + b1)
	logits []float32 // (R, V) logits of the rows in sel, row i for sel[i]
	scores []float32 // (workers, attnPanel, pad16(maxLen)) attention weights (scoreScratch)

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
	gpk      []float32      // every mat's pk, in gemmMat order; nil when the engine does not use Sgemm
	gpackNR  int            // the panel width gpk is laid out for: sgemmKern.nr at NewEngine
	gpanels  int            // panels in gpk (opPackGemm's units)
	gpacked  bool           // gpk matches the weights (set by prepackGemm, reset by prepare)

	// Fixed column split of chunks of few rows (engine_split.go).
	split  []workerPanels // (workers) each worker's packed columns of the weights; nil for 1 worker
	packed bool           // split panels match the weights (reset by prepare)
	splitM splitMat       // the matmul of opSplitLinear
	hw     []float32      // (workers, splitMaxRows, D) each worker's LayerNorm output

	sync team // worker hand-off (engine_sync.go)
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
	opPackGemm                  // panels: pack the weights into Sgemm's panels (prepackGemm)
	opQuit                      // the engine is closed (Close); its helpers return on the team's stop
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
		scores: make([]float32, attnPanel*workers*pad16(maxLen)),
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
	if e.gemmRows > 0 {
		e.newGemmPanels()
	}
	e.kstep = 4 * max(pad16(3*D), pad16(M), pad16(V))
	e.kbuf = make([]float32, workers*e.kstep)
	e.kc = make([][]float32, L)
	e.vc = make([][]float32, L)
	e.nblk = (maxLen + kvBlock - 1) / kvBlock
	for l := range L {
		e.kc[l] = make([]float32, maxBatch*e.nblk*D*kvBlock)
		e.vc[l] = make([]float32, maxBatch*maxLen*D)
	}
	if workers > 1 {
		e.newSplit()
		e.sync.start(workers, e.work)
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
	e.sync.run()
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
		layerNormRows(a.dst, a.src, a.g, a.b, nil, D, lo, hi)
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
		e.attendRows(w, e.layer, lo, hi)
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
	case opPackGemm:
		e.packGemm(lo, hi)
	}
}

// prepare brings the kernels' view of the weights up to date with
// Params.Data (the optimizer updates it in place between calls): it copies
// the weights that need padding and transposes wte when the head is tied.
// The packed copies (the split path's panels, Sgemm's) are made again
// when first needed.
func (e *Engine) prepare() {
	e.packed, e.gpacked = false, false
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
	pk          []float32 // (ceil(out/nr), in, nr) w as Sgemm's B panels (gpk); nil without them
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
