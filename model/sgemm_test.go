package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// sgemmRef is the reference: a naive triple loop accumulating in float64.
func sgemmRef(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				s += float64(sgemmAt(a, lda, tA, i, p)) * float64(sgemmAt(b, ldb, tB, p, j))
			}
			v := float64(alpha) * s
			if beta != 0 {
				v += float64(beta) * float64(c[i*ldc+j])
			}
			c[i*ldc+j] = float32(v)
		}
	}
}

// sgemmAt returns op(X)[i, j] for X stored row-major with leading dimension ld.
func sgemmAt(x []float32, ld int, t bool, i, j int) float32 {
	if t {
		return x[j*ld+i]
	}
	return x[i*ld+j]
}

// sgemmBound returns the error scale of element (i, j): |alpha| sum_p
// |a_ip||b_pj| + |beta||c_ij|.
func sgemmBound(tA, tB bool, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c0 []float32, ldc, i, j int) float64 {
	var s float64
	for p := range k {
		s += math.Abs(float64(sgemmAt(a, lda, tA, i, p)) * float64(sgemmAt(b, ldb, tB, p, j)))
	}
	return math.Abs(float64(alpha))*s + math.Abs(float64(beta)*float64(c0[i*ldc+j]))
}

type sgemmCase struct {
	tA, tB           bool
	m, n, k          int
	alpha, beta      float32
	padA, padB, padC int
}

// operands builds random A, B, C (with leading dimensions padded) for c.
func (tc sgemmCase) operands(rng *rand.Rand) (a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	ar, ac := tc.m, tc.k
	if tc.tA {
		ar, ac = tc.k, tc.m
	}
	br, bc := tc.k, tc.n
	if tc.tB {
		br, bc = tc.n, tc.k
	}
	lda, ldb, ldc = max(1, ac)+tc.padA, max(1, bc)+tc.padB, max(1, tc.n)+tc.padC
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	return fill(ar*lda + 3), lda, fill(br*ldb + 3), ldb, fill(tc.m*ldc + 3), ldc
}

// sgemmTol is the relative tolerance against sgemmBound: float32 sums of up
// to ~600 terms, each rounding at most 2^-24 relative.
const sgemmTol = 1e-5

func TestSgemmMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var cases []sgemmCase
	for _, tA := range []bool{false, true} {
		for _, tB := range []bool{false, true} {
			for range 12 {
				cases = append(cases, sgemmCase{tA: tA, tB: tB,
					m: 1 + rng.IntN(70), n: 1 + rng.IntN(70), k: 1 + rng.IntN(70),
					alpha: 1, beta: 0, padA: rng.IntN(3), padB: rng.IntN(3), padC: rng.IntN(3)})
			}
			for _, ab := range [][2]float32{{1, 1}, {0.5, -2}, {-1.5, 0}, {0, 0.5}, {0, 0}} {
				cases = append(cases, sgemmCase{tA: tA, tB: tB, m: 37, n: 45, k: 29,
					alpha: ab[0], beta: ab[1], padA: 2, padB: 1, padC: 5})
			}
			cases = append(cases,
				sgemmCase{tA: tA, tB: tB, m: 64, n: 384, k: 128, alpha: 1},
				sgemmCase{tA: tA, tB: tB, m: 1, n: 384, k: 128, alpha: 1, beta: 1},
				sgemmCase{tA: tA, tB: tB, m: 130, n: 97, k: 600, alpha: 1, beta: 1},
				sgemmCase{tA: tA, tB: tB, m: 5, n: 7, k: 0, alpha: 1, beta: 2},
				sgemmCase{tA: tA, tB: tB, m: 0, n: 7, k: 3, alpha: 1, beta: 2},
			)
		}
	}
	for _, kern := range sgemmKernels {
		t.Run(kern.name, func(t *testing.T) {
			defer sgemmUseKernel(kern)()
			sgemmCheckCases(t, rng, cases)
		})
	}
}

// sgemmUseKernel makes Sgemm use kern until the returned func is called.
func sgemmUseKernel(kern sgemmMicro) (restore func()) {
	saved := sgemmKern
	sgemmKern = kern
	return func() { sgemmKern = saved }
}

func sgemmCheckCases(t *testing.T, rng *rand.Rand, cases []sgemmCase) {
	for _, tc := range cases {
		name := fmt.Sprintf("tA=%v,tB=%v,%dx%dx%d,alpha=%g,beta=%g,pad=%d.%d.%d",
			tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, tc.beta, tc.padA, tc.padB, tc.padC)
		t.Run(name, func(t *testing.T) {
			a, lda, b, ldb, c, ldc := tc.operands(rng)
			c0 := append([]float32(nil), c...)
			want := append([]float32(nil), c...)
			sgemmRef(tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, want, ldc)
			for _, workers := range []int{1, 2} {
				got := append([]float32(nil), c0...)
				sgemmWorkers(workers, tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, got, ldc)
				for idx := range got {
					i, j := idx/ldc, idx%ldc
					if i >= tc.m || j >= tc.n {
						if got[idx] != c0[idx] { // padding must be left alone
							t.Fatalf("workers=%d: C[%d] outside the matrix changed: got %v, want %v", workers, idx, got[idx], c0[idx])
						}
						continue
					}
					bound := sgemmBound(tc.tA, tc.tB, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c0, ldc, i, j)
					if d := math.Abs(float64(got[idx]) - float64(want[idx])); d > sgemmTol*bound+1e-30 {
						t.Fatalf("workers=%d: C[%d,%d] = %v, want %v (|diff| %.3g > %.0e * %.3g)", workers, i, j, got[idx], want[idx], d, sgemmTol, bound)
					}
				}
			}
		})
	}
}

// TestSgemmDeterministic checks that an element's bits depend on neither the
// number of workers nor the rows and columns around it in the call.
func TestSgemmDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []sgemmCase{
		{m: 2048, n: 384, k: 128, alpha: 1},
		{tA: true, m: 128, n: 384, k: 2048, alpha: 1},
		{tB: true, m: 300, n: 130, k: 512, alpha: 0.5, beta: 1},
		{tA: true, tB: true, m: 67, n: 45, k: 33, alpha: 1, beta: -1},
	} {
		t.Run(fmt.Sprintf("tA=%v,tB=%v,%dx%dx%d", tc.tA, tc.tB, tc.m, tc.n, tc.k), func(t *testing.T) {
			a, lda, b, ldb, c, ldc := tc.operands(rng)
			c1 := append([]float32(nil), c...)
			c2 := append([]float32(nil), c...)
			sgemmWorkers(1, tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c1, ldc)
			sgemmWorkers(2, tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c2, ldc)
			for i := range c1 {
				if math.Float32bits(c1[i]) != math.Float32bits(c2[i]) {
					t.Fatalf("C[%d]: 1 worker %v, 2 workers %v", i, c1[i], c2[i])
				}
			}
			// Row i alone (m = 1) and columns [j, n) alone must give the
			// same bits as in the full call.
			for _, i := range []int{0, tc.m / 2, tc.m - 1} {
				row := append([]float32(nil), c[i*ldc:i*ldc+tc.n]...)
				ai := a[i:] // op(A) row i: column i of a stored A
				if !tc.tA {
					ai = a[i*lda:]
				}
				sgemmWorkers(1, tc.tA, tc.tB, 1, tc.n, tc.k, tc.alpha, ai, lda, b, ldb, tc.beta, row, tc.n)
				for j, v := range row {
					if math.Float32bits(v) != math.Float32bits(c1[i*ldc+j]) {
						t.Fatalf("C[%d,%d]: alone %v, in the full call %v", i, j, v, c1[i*ldc+j])
					}
				}
			}
			j0 := tc.n / 3
			sub := append([]float32(nil), c...)
			bj := b[j0:]
			if tc.tB {
				bj = b[j0*ldb:]
			}
			sgemmWorkers(2, tc.tA, tc.tB, tc.m, tc.n-j0, tc.k, tc.alpha, a, lda, bj, ldb, tc.beta, sub[j0:], ldc)
			for i := range tc.m {
				for j := j0; j < tc.n; j++ {
					if math.Float32bits(sub[i*ldc+j]) != math.Float32bits(c1[i*ldc+j]) {
						t.Fatalf("C[%d,%d]: column slice %v, full call %v", i, j, sub[i*ldc+j], c1[i*ldc+j])
					}
				}
			}
		})
	}
}

// TestSgemmKernelsAgree: the FMA kernels (AVX-512 8x32, AVX2 6x16) run the
// same FMA chain per element, so they must agree bit for bit.
func TestSgemmKernelsAgree(t *testing.T) {
	var fma []sgemmMicro
	for _, k := range sgemmKernels {
		if k.name != "go" {
			fma = append(fma, k)
		}
	}
	if len(fma) < 2 {
		t.Skipf("only %d FMA kernel(s) on this CPU", len(fma))
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for _, tc := range []sgemmCase{
		{m: 70, n: 67, k: 130, alpha: 1},
		{tA: true, tB: true, m: 33, n: 100, k: 64, alpha: 0.5, beta: -1, padC: 3},
	} {
		a, lda, b, ldb, c, ldc := tc.operands(rng)
		var res [][]float32
		for _, kern := range fma {
			got := append([]float32(nil), c...)
			restore := sgemmUseKernel(kern)
			Sgemm(tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, got, ldc)
			restore()
			res = append(res, got)
		}
		for i := range res[0] {
			if math.Float32bits(res[0][i]) != math.Float32bits(res[1][i]) {
				t.Fatalf("%v: C[%d]: %s %v, %s %v", tc, i, fma[0].name, res[0][i], fma[1].name, res[1][i])
			}
		}
	}
}

func TestSgemmAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []sgemmCase{
		{m: 64, n: 384, k: 128, alpha: 1},
		{m: 2048, n: 128, k: 512, alpha: 1, beta: 1},
		{tA: true, m: 128, n: 384, k: 2048, alpha: 1},
		{m: 1, n: 384, k: 128, alpha: 1},
	} {
		a, lda, b, ldb, c, ldc := tc.operands(rng)
		run := func() {
			Sgemm(tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
		}
		run()
		if got := testing.AllocsPerRun(10, run); got != 0 {
			t.Errorf("%dx%dx%d: %v allocs per call, want 0", tc.m, tc.n, tc.k, got)
		}
		// Nor after a garbage collection, which emptied the sync.Pool the
		// packing buffers used to live in.
		if got := testing.AllocsPerRun(3, func() { runtime.GC(); run() }); got != 0 {
			t.Errorf("%dx%dx%d after a GC: %v allocs per call, want 0", tc.m, tc.n, tc.k, got)
		}
	}
}

// TestSgemmPackMatchesReference holds the packing routines, fast paths for
// full panels included, to an element-by-element packing of op(A) and op(B)
// with zero padding.
func TestSgemmPackMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, tr := range []bool{false, true} {
		for _, w := range []int{4, 6, 8, 16, 32} { // panel widths: mr and nr of every kernel
			for _, used := range []int{w, w - 1, 1} {
				tc := sgemmCase{tA: tr, tB: tr, m: w + 3, n: w + 5, k: 37, alpha: 1, padA: 2, padB: 1}
				a, lda, b, ldb, _, _ := tc.operands(rng)
				p := &sgemmArgs{tA: tr, tB: tr, m: tc.m, n: tc.n, k: tc.k, a: a, lda: lda, b: b, ldb: ldb}
				got := make([]float32, tc.k*w)
				for i := range got {
					got[i] = float32(rng.NormFloat64()) // padding must be overwritten
				}
				sgemmPackA(got, p, 2, used, w)
				for q := range tc.k {
					for r := range w {
						want := float32(0)
						if r < used {
							want = sgemmAt(a, lda, tr, 2+r, q)
						}
						if g := got[q*w+r]; math.Float32bits(g) != math.Float32bits(want) {
							t.Fatalf("tA=%v, mr=%d, rows=%d: packed A[%d, %d] = %v, want %v", tr, w, used, q, r, g, want)
						}
					}
				}
				sgemmPackB(got, p, 3, used, w)
				for q := range tc.k {
					for c := range w {
						want := float32(0)
						if c < used {
							want = sgemmAt(b, ldb, tr, q, 3+c)
						}
						if g := got[q*w+c]; math.Float32bits(g) != math.Float32bits(want) {
							t.Fatalf("tB=%v, nr=%d, cols=%d: packed B[%d, %d] = %v, want %v", tr, w, used, q, c, g, want)
						}
					}
				}
			}
		}
	}
}

// TestSgemmPackOnceSameBits: packing a transposed A once per call for all
// column blocks must give the bits of packing it per block (the reference
// path, sgemmPackOnce off), at 1 and 2 workers.
func TestSgemmPackOnceSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, tc := range []sgemmCase{
		{tA: true, m: 128, n: 384, k: 2048, alpha: 1},                      // small preset, d WQKV
		{tA: true, m: 131, n: 517, k: 2048, alpha: 1, beta: 1, padC: 3},    // short last panel and column block
		{tA: true, tB: true, m: 103, n: 300, k: 1500, alpha: 0.5, padA: 1}, // B transposed too
	} {
		t.Run(fmt.Sprintf("tA=%v,tB=%v,%dx%dx%d", tc.tA, tc.tB, tc.m, tc.n, tc.k), func(t *testing.T) {
			a, lda, b, ldb, c, ldc := tc.operands(rng)
			for _, workers := range []int{1, 2} {
				var res [2][]float32
				for i, once := range []bool{false, true} {
					sgemmPackOnce = once
					res[i] = append([]float32(nil), c...)
					sgemmWorkers(workers, tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, res[i], ldc)
				}
				sgemmPackOnce = true
				for i := range res[0] {
					if math.Float32bits(res[0][i]) != math.Float32bits(res[1][i]) {
						t.Fatalf("workers=%d: C[%d]: packed per block %v, once %v", workers, i, res[0][i], res[1][i])
					}
				}
			}
		})
	}
}

// TestSgemmTransposedAInPlaceSameBits: a transposed A read in place (few
// column panels, as attention's products) gives the bits of packing it
// (sgemmPackAll), at 1 and 2 workers.
func TestSgemmTransposedAInPlaceSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	for _, tc := range []sgemmCase{
		{tA: true, m: 64, n: 32, k: 64, alpha: 1},                      // small preset, attention dK and dV
		{tA: true, m: 128, n: 32, k: 128, alpha: 1},                    // medium preset
		{tA: true, m: 37, n: 20, k: 70, alpha: 1, beta: 1, padA: 3},    // short panels, padded lda
		{tA: true, tB: true, m: 45, n: 9, k: 33, alpha: -0.5, padB: 2}, // B transposed
	} {
		t.Run(tc.String(), func(t *testing.T) {
			a, lda, b, ldb, c, ldc := tc.operands(rng)
			for _, workers := range []int{1, 2} {
				var res [2][]float32
				for i, packAll := range []bool{true, false} {
					sgemmPackAll = packAll
					res[i] = append([]float32(nil), c...)
					sgemmWorkers(workers, tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, res[i], ldc)
				}
				sgemmPackAll = false
				for i := range res[0] {
					if math.Float32bits(res[0][i]) != math.Float32bits(res[1][i]) {
						t.Fatalf("workers=%d: C[%d]: packed %v, in place %v", workers, i, res[0][i], res[1][i])
					}
				}
			}
		})
	}
}

// TestSgemmPackAsm: a transposed A's and an untransposed B's full panels
// copied by the assembly loops (sgemmPackRowsAsm) hold what the Go loops
// write, for panels of 6 and 8 rows and of 16 and 32 columns, and Sgemm
// gives the same bits either way, for every kernel.
func TestSgemmPackAsm(t *testing.T) {
	defer func(v bool) { sgemmPackAsm = v }(sgemmPackAsm)
	rng := rand.New(rand.NewPCG(91, 92))
	for _, mr := range []int{6, 8} {
		tc := sgemmCase{tA: true, m: 3*mr + 2, n: 5, k: 37, alpha: 1, padA: 3}
		a, lda, b, ldb, _, _ := tc.operands(rng)
		p := &sgemmArgs{tA: true, m: tc.m, n: tc.n, k: tc.k, a: a, lda: lda, b: b, ldb: ldb}
		var got [2][]float32
		for i, on := range []bool{false, true} {
			sgemmPackAsm = on
			got[i] = make([]float32, mr*tc.k)
			sgemmPackA(got[i], p, mr+1, mr, mr)
		}
		for i := range got[0] {
			if got[0][i] != got[1][i] || got[0][i] != a[(i/mr)*lda+mr+1+i%mr] {
				t.Fatalf("mr=%d: packed[%d]: assembly %v, Go %v, want a[%d, %d] = %v", mr, i, got[1][i], got[0][i], i/mr, mr+1+i%mr, a[(i/mr)*lda+mr+1+i%mr])
			}
		}
	}
	for _, nr := range []int{16, 32} {
		tc := sgemmCase{m: 5, n: 3*nr + 2, k: 37, alpha: 1, padB: 3}
		a, lda, b, ldb, _, _ := tc.operands(rng)
		p := &sgemmArgs{m: tc.m, n: tc.n, k: tc.k, a: a, lda: lda, b: b, ldb: ldb}
		var got [2][]float32
		for i, on := range []bool{false, true} {
			sgemmPackAsm = on
			got[i] = make([]float32, nr*tc.k)
			sgemmPackB(got[i], p, nr+1, nr, nr)
		}
		for i := range got[0] {
			if got[0][i] != got[1][i] || got[0][i] != b[(i/nr)*ldb+nr+1+i%nr] {
				t.Fatalf("nr=%d: packed[%d]: assembly %v, Go %v, want b[%d, %d] = %v", nr, i, got[1][i], got[0][i], i/nr, nr+1+i%nr, b[(i/nr)*ldb+nr+1+i%nr])
			}
		}
	}
	for _, kern := range sgemmKernels {
		for _, tc := range []sgemmCase{
			{tA: true, m: 131, n: 200, k: 300, alpha: 0.5, padA: 1, padC: 2},
			{m: 131, n: 200, k: 300, alpha: 0.5, padB: 1, padC: 2},
		} {
			restore := sgemmUseKernel(kern)
			a, lda, b, ldb, c, ldc := tc.operands(rng)
			var res [2][]float32
			for i, on := range []bool{false, true} {
				sgemmPackAsm = on
				res[i] = append([]float32(nil), c...)
				sgemmWorkers(2, tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, res[i], ldc)
			}
			for i := range res[0] {
				if math.Float32bits(res[0][i]) != math.Float32bits(res[1][i]) {
					t.Fatalf("%s %v: C[%d]: Go packing %v, assembly %v", kern.name, tc, i, res[0][i], res[1][i])
				}
			}
			restore()
		}
	}
}

// TestSgemmBInPlaceBits: reading B's full panels in place (the engine's
// decode steps, sgemmArgs.bInPlace, with the next panel prefetched) gives
// the packed path's bits, on decode shapes with full and short panels and
// row counts that leave short A panels.
func TestSgemmBInPlaceBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, tc := range []sgemmCase{
		{m: 64, n: 384, k: 128}, {m: 33, n: 100, k: 256}, {m: 128, n: 1024, k: 256}, {m: 8, n: 256, k: 1024},
	} {
		tc.alpha = 1
		a, lda, b, ldb, c, ldc := tc.operands(rng)
		var want, got []float32
		for _, inPlace := range []bool{false, true} {
			clear(c)
			p := sgemmArgs{m: tc.m, n: tc.n, k: tc.k, alpha: 1, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, bInPlace: inPlace}
			var s sgemmScratch
			s.run(&p, 0, tc.m, 0, tc.n)
			if inPlace {
				got = slices.Clone(c)
			} else {
				want = slices.Clone(c)
			}
		}
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%v: element %d: in place %v, packed %v", tc, i, got[i], want[i])
			}
		}
	}
}

// TestSgemmBPackedBits: a B packed once for all calls (sgemmArgs.bPacked,
// the engine's weights) gives the bits of packing it per call or reading it
// in place, with every kernel, for few and many rows, a short last panel,
// and column ranges that start past the first panel (worker splits) and
// span several column blocks (k large: nc is a few panels).
func TestSgemmBPackedBits(t *testing.T) {
	defer func(k sgemmMicro) { sgemmKern = k }(sgemmKern) // also after a t.Fatalf
	rng := rand.New(rand.NewPCG(17, 18))
	for _, kern := range sgemmKernels {
		nr := kern.nr
		for _, tc := range []sgemmCase{
			{m: 64, n: 384, k: 128, padB: 16}, {m: 33, n: 100, k: 256}, {m: 200, n: 1000, k: 512},
			{m: 8, n: 256, k: 1024}, {m: 5, n: 37, k: 24, padB: 3},
		} {
			restore := sgemmUseKernel(kern)
			tc.alpha = 1
			a, lda, b, ldb, c, ldc := tc.operands(rng)
			pk := make([]float32, sgemmPackedLen(tc.k, tc.n, nr))
			sgemmPackBPanels(pk, b, ldb, tc.k, tc.n, nr, 0, (tc.n+nr-1)/nr)
			// Column ranges [0, split) and [split, n), split a whole
			// number of panels, the second in two row ranges.
			split := min(tc.n, (tc.n/2+nr-1)/nr*nr)
			for _, inPlace := range []bool{false, true} {
				var res [2][]float32
				for i, packed := range [][]float32{nil, pk} {
					clear(c)
					p := sgemmArgs{m: tc.m, n: tc.n, k: tc.k, alpha: 1, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
						bInPlace: inPlace, bPacked: packed}
					var s sgemmScratch
					s.run(&p, 0, tc.m, 0, split)
					s.run(&p, 0, tc.m/3, split, tc.n)
					s.run(&p, tc.m/3, tc.m, split, tc.n)
					res[i] = slices.Clone(c)
				}
				for i := range res[0] {
					if math.Float32bits(res[0][i]) != math.Float32bits(res[1][i]) {
						t.Fatalf("%s %v inPlace=%v: C[%d] (row %d col %d): packed once %v, per call %v",
							kern.name, tc, inPlace, i, i/ldc, i%ldc, res[1][i], res[0][i])
					}
				}
			}
			restore()
		}
	}
}
