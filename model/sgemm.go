package model

import (
	"runtime"
	"sync"
)

// Sgemm is a deterministic single-precision matrix multiply in pure Go plus
// Go assembly (no cgo), BLIS-style (Van Zee & van de Geijn, "BLIS: A
// Framework for Rapidly Instantiating BLAS Functionality", TOMS 2015):
// panels of op(A) and op(B) are packed into contiguous buffers and an
// MR x NR register-tiled micro-kernel computes each tile of C.
//
// It computes, with row-major storage,
//
//	C = alpha * op(A) * op(B) + beta * C
//
// where op(A) is m x k (A stored m x k with lda >= k, or k x m with
// lda >= m when tA), op(B) is k x n (B stored k x n with ldb >= n, or n x k
// with ldb >= k when tB) and C is m x n with ldc >= n. As in BLAS, C is not
// read when beta == 0, and when alpha == 0 or k == 0 only C = beta*C is done.
//
// Determinism: each element of C is one accumulator updated in k order,
// acc = acc + a[i,p]*b[p,j] for p = 0..k-1 (fused multiply-add on CPUs with
// FMA), then alpha*acc (+ beta*c). k is never split, so an element's bits do
// not depend on m, n, the tile it falls in, the packing or the number of
// workers. On amd64 with AVX-512 or AVX2+FMA the kernels are bitwise
// identical to each other and to the engine's kern4/kern1 (alpha=1,
// beta=0); the portable Go kernel (other CPUs, -tags purego) rounds each
// product separately, so its last bits differ, but one process uses one
// kernel.
//
// Sgemm allocates nothing once its packing buffers have grown (they are
// kept in sgemmCalls, across garbage collections too). Large calls are split over up to sgemmMaxWorkers goroutines
// by a fixed partition of the rows or columns of C. It panics on bad
// shapes, like gonum's BLAS.
func Sgemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	workers := 1
	if 2*m*n*k >= sgemmParallelFlops {
		workers = min(runtime.GOMAXPROCS(0), sgemmMaxWorkers)
	}
	sgemmWorkers(workers, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

const (
	// sgemmMaxWorkers caps the goroutines one call uses (the machine this
	// was tuned on has 2 cores).
	sgemmMaxWorkers = 2
	// sgemmParallelFlops is the size (2*m*n*k) from which a call is split
	// over workers: below it the hand-off (a few microseconds) costs more
	// than it saves.
	sgemmParallelFlops = 1 << 21
	// sgemmPackBMinRows: with fewer rows than this, full-width column
	// panels of an untransposed B are read in place instead of packed
	// (packing costs more than the few tiles that reuse it).
	sgemmPackBMinRows = 32
	// sgemmTAInPlacePanels: a transposed A is read in place, not packed,
	// when a call's column range has at most this many nr-wide panels.
	sgemmTAInPlacePanels = 2
	// sgemmPackOnceFloats bounds the packed A of a whole call (rows x k
	// floats) that run packs once for all its column blocks rather than
	// once per block (16 MiB).
	sgemmPackOnceFloats = 4 << 20
)

// sgemmL2Floats bounds the packed A block (mc x k) and half the packed
// B block (k x nc), in floats: 128 KiB, a quarter of the smallest L2 this
// runs on (512 KiB a core on the AMD EPYC), so that the A block, the B
// panel in use and the C tiles stay in L2 together. (At 512 KiB, sized for
// a 2 MiB L2, the A block alone filled the EPYC's L2; the 32Ki-float
// block measured +2-3% on the model's products and x0.985-0.99 on a train
// step, alternated in one process.) The blocking does not change the bits:
// every element's k loop runs whole, in order.
var sgemmL2Floats = 32 << 10

// sgemmPrefetch lets Sgemm prefetch the next in-place B panel (a knob for
// the benchmark that measures it).
var sgemmPrefetch = true

// sgemmPackAsm lets sgemmPackA and sgemmPackB copy a transposed A's and
// an untransposed B's full panels with the assembly loops
// (sgemmPackRowsAsm); tests and benchmarks turn it off to compare with
// the Go loops, which pack the same values.
var sgemmPackAsm = true

// sgemmPackAll makes run pack every panel of A; otherwise the kernel reads
// A in place and only a short last panel is packed (zero-padded).
var sgemmPackAll = false

// sgemmPackOnce lets run pack a transposed A once per call when it spans
// several column blocks; tests turn it off to compare with packing per
// block, which must give the same bits.
var sgemmPackOnce = true

// sgemmMicro is a micro-kernel: it computes one mr x nr tile of C from mr
// rows of op(A) (element (i, p) at a[i*rsa+p*csa]) and k rows of B
// (b[p*ldb+j]); see sgemm_amd64.s for the exact arithmetic. pf, when not
// nil, is the next B panel, ldb floats a row like b: the AVX2 kernel
// prefetches a row of it a step of k, the others ignore it; either way
// the arithmetic is the same.
type sgemmMicro struct {
	mr, nr int
	name   string
	fn     func(k int, a []float32, rsa, csa int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32, loadC bool, pf *float32)
}

// sgemmKern is the micro-kernel Sgemm uses, chosen once at start-up:
// AVX-512 8x32 or AVX2+FMA 6x16 on amd64 (sgemm_amd64.go), else the
// portable 4x4 Go kernel.
var sgemmKern = sgemmMicro{4, 4, "go", sgemmKernelGo}

// sgemmKernels lists the kernels this CPU can run, best last; tests run
// each.
var sgemmKernels = []sgemmMicro{sgemmKern}

// SgemmKernel names the micro-kernel Sgemm uses: "avx512", "avx2" or "go".
func SgemmKernel() string { return sgemmKern.name }

// sgemmArgs is one call's operands.
type sgemmArgs struct {
	tA, tB      bool
	m, n, k     int
	alpha, beta float32
	a, b, c     []float32
	lda, ldb    int
	ldc         int
	// bInPlace: read full column panels of an untransposed B in place
	// whatever the number of rows (the engine's products of at most
	// gemmInPlaceRows rows before its weights are packed for the call, or
	// all of them without enginePrepack: B a weight matrix that would be
	// packed anew for every product otherwise).
	bInPlace bool
	// bPacked, when not nil, is all of an untransposed B already packed
	// as sgemmPackBPanels lays it out for sgemmKern.nr: run reads its
	// panels (nr floats a row) and packs no B, and j0 must be a multiple
	// of nr. The engine keeps its weights so (engine_gemm.go).
	bPacked []float32
}

// sgemmTask is one worker's share: rows [i0, i1) and columns [j0, j1) of C.
type sgemmTask struct {
	args           *sgemmArgs
	i0, i1, j0, j1 int
	s              sgemmScratch
	done           chan struct{}
}

// sgemmScratch holds one worker's packing buffers.
type sgemmScratch struct {
	packA []float32 // (mc/mr, k, mr)
	packB []float32 // (nc/nr, k, nr)
	tile  []float32 // (mr, nr) for edge tiles
}

// sgemmCall is what a call takes from sgemmCalls: a task per worker.
type sgemmCall struct {
	args  sgemmArgs
	tasks [sgemmMaxWorkers]sgemmTask
	run   func(w int) // cl.runTask, made once (sgemmPool hands it to a pool)
}

var (
	// sgemmCalls holds the calls not in use, packing buffers included. A
	// sync.Pool dropped them at every GC and missed whenever the caller
	// had moved to another P since its last call (a P's private item
	// cannot be taken by another), so with 2 threads a training step
	// reallocated a call now and then; this list keeps every call ever
	// made (at most the number of concurrent Sgemm calls).
	sgemmCalls struct {
		sync.Mutex
		free []*sgemmCall
	}
	// sgemmQueue holds the tasks handed to the helpers. A helper blocked on
	// it (and a caller blocked on a task's done) holds a runtime sudog,
	// which now and then allocates on 2 Ps; the training graph's products,
	// which must not (TestGraphStepAllocs), run on its pool's team instead
	// (sgemmPool).
	sgemmQueue     chan *sgemmTask
	sgemmStartOnce sync.Once
)

// sgemmStart starts the helper goroutines, which live for the process.
func sgemmStart() {
	sgemmQueue = make(chan *sgemmTask, sgemmMaxWorkers)
	for range sgemmMaxWorkers - 1 {
		go func() {
			for t := range sgemmQueue {
				t.s.run(t.args, t.i0, t.i1, t.j0, t.j1)
				t.done <- struct{}{}
			}
		}()
	}
}

// sgemmSerial is Sgemm on the calling goroutine with the packing buffers
// s, for callers that run in parallel already and keep a scratch per
// worker (attention's workers): it takes no call from sgemmCalls, whose
// size would otherwise follow how many such calls happen to overlap. With
// s nil it is Sgemm. The bits are Sgemm's (no split changes them).
func sgemmSerial(s *sgemmScratch, tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if s == nil {
		Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if sgemmTrivial(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		return
	}
	args := sgemmArgs{tA: tA, tB: tB, m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc}
	s.run(&args, 0, m, 0, n)
}

// sgemmWorkers is Sgemm with the number of workers given (clamped to
// [1, sgemmMaxWorkers]); tests use it to check that the result does not
// depend on it.
func sgemmWorkers(workers int, tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if sgemmTrivial(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		return
	}
	cl := sgemmGetCall()
	workers = cl.split(workers, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	if workers > 1 {
		sgemmStartOnce.Do(sgemmStart)
	}
	for w := 1; w < workers; w++ {
		sgemmQueue <- &cl.tasks[w]
	}
	cl.runTask(0)
	for w := 1; w < workers; w++ {
		<-cl.tasks[w].done
	}
	sgemmPutCall(cl)
}

// sgemmPool is Sgemm on the workers of pool (the training graph's, whose
// helpers already spin between its ops: see workPool), not on Sgemm's own
// helpers, up to sgemmMaxWorkers of them. The bits are Sgemm's. A nil pool
// means Sgemm.
func sgemmPool(pool *workPool, tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if pool == nil {
		Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if sgemmTrivial(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		return
	}
	workers := 1
	if 2*m*n*k >= sgemmParallelFlops {
		workers = pool.size(sgemmMaxWorkers)
	}
	cl := sgemmGetCall()
	workers = cl.split(workers, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	pool.run(workers, cl.run)
	sgemmPutCall(cl)
}

// split sets up the call's operands and its tasks for up to workers
// workers, and returns how many it uses.
func (cl *sgemmCall) split(workers int, tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) int {
	cl.args = sgemmArgs{tA: tA, tB: tB, m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc}
	mr, nr := sgemmKern.mr, sgemmKern.nr
	workers = max(1, min(workers, sgemmMaxWorkers))
	// Split the rows when op(B) is the smaller operand (each worker packs
	// all of B), else the columns (each packs all of A); any split gives
	// the same bits.
	splitRows := n <= m
	span, unit := n, nr
	if splitRows {
		span, unit = m, mr
	}
	workers = min(workers, (span+unit-1)/unit)
	per := ((span+workers-1)/workers + unit - 1) / unit * unit
	for w := range workers {
		t := &cl.tasks[w]
		t.args = &cl.args
		lo, hi := min(w*per, span), min((w+1)*per, span)
		if splitRows {
			t.i0, t.i1, t.j0, t.j1 = lo, hi, 0, n
		} else {
			t.i0, t.i1, t.j0, t.j1 = 0, m, lo, hi
		}
	}
	return workers
}

// runTask runs task w of the call.
func (cl *sgemmCall) runTask(w int) {
	t := &cl.tasks[w]
	t.s.run(t.args, t.i0, t.i1, t.j0, t.j1)
}

// sgemmPutCall gives a call back to sgemmCalls.
func sgemmPutCall(cl *sgemmCall) {
	for w := range cl.tasks {
		cl.tasks[w].args = nil
	}
	cl.args = sgemmArgs{}
	sgemmCalls.Lock()
	sgemmCalls.free = append(sgemmCalls.free, cl)
	sgemmCalls.Unlock()
}

// sgemmGetCall takes a call from sgemmCalls, or makes one.
func sgemmGetCall() *sgemmCall {
	sgemmCalls.Lock()
	if n := len(sgemmCalls.free); n > 0 {
		cl := sgemmCalls.free[n-1]
		sgemmCalls.free = sgemmCalls.free[:n-1]
		sgemmCalls.Unlock()
		return cl
	}
	sgemmCalls.Unlock()
	cl := new(sgemmCall)
	cl.run = cl.runTask
	for i := range cl.tasks {
		cl.tasks[i].done = make(chan struct{}, 1)
	}
	return cl
}

// sgemmTrivial checks the operands (sgemmCheck) and does what needs no
// product: nothing for an empty C, C = beta*C when alpha or k is zero. It
// reports whether that was the whole call.
func sgemmTrivial(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	sgemmCheck(tA, tB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return true
	}
	if alpha == 0 || k == 0 {
		sgemmScaleC(c, m, n, ldc, beta)
		return true
	}
	return false
}

// sgemmCheck panics unless the operands hold the shapes they claim.
func sgemmCheck(tA, tB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic("model: Sgemm: negative dimension")
	}
	ar, ac := m, k
	if tA {
		ar, ac = k, m
	}
	br, bc := k, n
	if tB {
		br, bc = n, k
	}
	if lda < max(1, ac) || ldb < max(1, bc) || ldc < max(1, n) {
		panic("model: Sgemm: bad leading dimension")
	}
	if ar > 0 && ac > 0 && len(a) < (ar-1)*lda+ac {
		panic("model: Sgemm: short A")
	}
	if br > 0 && bc > 0 && len(b) < (br-1)*ldb+bc {
		panic("model: Sgemm: short B")
	}
	if m > 0 && n > 0 && len(c) < (m-1)*ldc+n {
		panic("model: Sgemm: short C")
	}
}

// sgemmScaleC sets C = beta*C (C = 0 when beta == 0, without reading C).
func sgemmScaleC(c []float32, m, n, ldc int, beta float32) {
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// grow returns buf with length n, reallocating only when it is too short.
func sgemmGrow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// run computes rows [i0, i1) and columns [j0, j1) of C. Loop order is
// BLIS's without the k loop: column blocks of nc (packed B in L2), row
// blocks of mc (packed A in L2), then NR-wide B panels (L1) by MR-high A
// panels.
func (s *sgemmScratch) run(p *sgemmArgs, i0, i1, j0, j1 int) {
	kern := sgemmKern
	mr, nr, k := kern.mr, kern.nr, p.k
	nc := max(nr, sgemmL2Floats*2/k/nr*nr)
	mc := max(mr, sgemmL2Floats/k/mr*mr)
	s.tile = sgemmGrow(s.tile, mr*nr)
	packAllB := p.tB || i1-i0 >= sgemmPackBMinRows && !p.bInPlace
	// A transposed is packed: read in place its tile's rows sit lda floats
	// apart in k, which with lda a multiple of 512 falls in a few L1 sets.
	// Except with few column panels to reuse the packing (attention's
	// dS^T Q and P^T dY, n = head width), where packing cost as much as
	// the products; the kernel reads the same values either way.
	packA := sgemmPackAll || p.tA && ((j1-j0+nr-1)/nr > sgemmTAInPlacePanels || p.lda%512 == 0)
	// The weight gradients (A transposed, k = tokens) span several
	// column blocks: their A, the costliest operand to pack (a strided
	// gather), is packed once for all of them. The panels are the same,
	// mr rows from i0 on, so the kernel reads the same values.
	packOnce := false
	if packA && sgemmPackOnce && j1-j0 > nc {
		mpan := (i1 - i0 + mr - 1) / mr
		if mpan*mr*k <= sgemmPackOnceFloats {
			packOnce = true
			s.packA = sgemmGrow(s.packA, mpan*mr*k)
			for ip := range mpan {
				sgemmPackA(s.packA[ip*mr*k:(ip+1)*mr*k], p, i0+ip*mr, min(mr, i1-i0-ip*mr), mr)
			}
		}
	}
	if p.bPacked != nil && (p.tB || j0%nr != 0 || len(p.bPacked) < sgemmPackedLen(k, p.n, nr)) {
		panic("model: Sgemm: bad packed B")
	}
	loadC := p.beta != 0
	for jc := j0; jc < j1; jc += nc {
		ncur := min(nc, j1-jc)
		npan := (ncur + nr - 1) / nr
		if p.bPacked == nil {
			s.packB = sgemmGrow(s.packB, npan*nr*k)
			for jp := range npan {
				cols := min(nr, ncur-jp*nr)
				if packAllB || cols < nr {
					sgemmPackB(s.packB[jp*nr*k:(jp+1)*nr*k], p, jc+jp*nr, cols, nr)
				}
			}
		}
		for ic := i0; ic < i1; ic += mc {
			mcur := min(mc, i1-ic)
			mpan := (mcur + mr - 1) / mr
			apan := 0 // the block's first panel in s.packA
			switch {
			case packOnce:
				apan = (ic - i0) / mr // mc is a multiple of mr
			case packA:
				s.packA = sgemmGrow(s.packA, mpan*mr*k)
				for ip := range mpan {
					sgemmPackA(s.packA[ip*mr*k:(ip+1)*mr*k], p, ic+ip*mr, min(mr, mcur-ip*mr), mr)
				}
			default:
				if rows := mcur % mr; rows != 0 { // the last panel is short: pack it
					s.packA = sgemmGrow(s.packA, mr*k)
					sgemmPackA(s.packA, p, ic+mcur-rows, rows, mr)
				}
			}
			for jp := range npan {
				j := jc + jp*nr
				cols := min(nr, ncur-jp*nr)
				// B read in place (bInPlace, or under sgemmPackBMinRows
				// rows), or from bPacked when as few rows reuse it (the
				// engine's decode steps): the first A panel's call also
				// pulls the next B panel toward L2, a row a step, so that
				// its first call does not wait on L3 (sgemmPrefetch).
				var bp []float32
				var ldbp int
				var pf *float32
				switch {
				case p.bPacked != nil: // panel j/nr starts at j/nr*nr*k = j*k
					bp, ldbp = p.bPacked[j*k:(j+nr)*k], nr
					if sgemmPrefetch && !packAllB && jp+1 < npan {
						pf = &p.bPacked[(j+nr)*k]
					}
				case !packAllB && cols == nr:
					bp, ldbp = p.b[j:], p.ldb
					if sgemmPrefetch && jp+1 < npan && ncur-(jp+1)*nr >= nr {
						pf = &p.b[j+nr]
					}
				default:
					bp, ldbp = s.packB[jp*nr*k:(jp+1)*nr*k], nr
				}
				for ip := range mpan {
					i := ic + ip*mr
					rows := min(mr, mcur-ip*mr)
					ap, rsa, csa := s.packA, 1, mr
					switch {
					case packA:
						ap = s.packA[(apan+ip)*mr*k : (apan+ip+1)*mr*k]
					case rows < mr: // packed above
					case p.tA: // op(A)[i, q] = a[q*lda + i]
						ap, rsa, csa = p.a[i:], 1, p.lda
					default:
						ap, rsa, csa = p.a[i*p.lda:], p.lda, 1
					}
					if rows == mr && cols == nr {
						kern.fn(k, ap, rsa, csa, bp, ldbp, p.c[i*p.ldc+j:], p.ldc, p.alpha, p.beta, loadC, pf)
						pf = nil
						continue
					}
					kern.fn(k, ap, rsa, csa, bp, ldbp, s.tile, nr, 1, 0, false, nil)
					sgemmEdge(p.c[i*p.ldc+j:], p.ldc, s.tile, nr, rows, cols, p.alpha, p.beta)
				}
			}
		}
	}
}

// sgemmEdge stores a rows x cols corner of an accumulator tile into C with
// the kernels' arithmetic: alpha*acc, plus beta*c (each product rounded on
// its own; the float32 conversions stop the compiler fusing them).
func sgemmEdge(c []float32, ldc int, tile []float32, ldt, rows, cols int, alpha, beta float32) {
	for r := range rows {
		dst := c[r*ldc : r*ldc+cols]
		src := tile[r*ldt : r*ldt+cols]
		if beta == 0 {
			for j, v := range src {
				dst[j] = float32(alpha * v)
			}
			continue
		}
		for j, v := range src {
			dst[j] = float32(alpha*v) + float32(beta*dst[j])
		}
	}
}

// sgemmKernelGo is the portable 4x4 micro-kernel: each product is rounded
// before it is added (float32(x*y) stops fusing), unlike the FMA kernels.
func sgemmKernelGo(k int, a []float32, rsa, csa int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32, loadC bool, _ *float32) {
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var c20, c21, c22, c23, c30, c31, c32, c33 float32
	_ = b[(k-1)*ldb+3]
	a0s, a1s, a2s, a3s := a, a[rsa:], a[2*rsa:], a[3*rsa:]
	_ = a3s[(k-1)*csa]
	for p := range k {
		bp := b[p*ldb : p*ldb+4 : p*ldb+4]
		a0, a1, a2, a3 := a0s[p*csa], a1s[p*csa], a2s[p*csa], a3s[p*csa]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		c00 += float32(a0 * b0)
		c01 += float32(a0 * b1)
		c02 += float32(a0 * b2)
		c03 += float32(a0 * b3)
		c10 += float32(a1 * b0)
		c11 += float32(a1 * b1)
		c12 += float32(a1 * b2)
		c13 += float32(a1 * b3)
		c20 += float32(a2 * b0)
		c21 += float32(a2 * b1)
		c22 += float32(a2 * b2)
		c23 += float32(a2 * b3)
		c30 += float32(a3 * b0)
		c31 += float32(a3 * b1)
		c32 += float32(a3 * b2)
		c33 += float32(a3 * b3)
	}
	acc := [16]float32{c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33}
	if !loadC {
		beta = 0
	}
	for r := range 4 {
		sgemmEdge(c[r*ldc:], ldc, acc[4*r:], 4, 1, 4, alpha, beta)
	}
}
