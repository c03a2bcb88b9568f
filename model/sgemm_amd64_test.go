//go:build !purego

package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSgemmMatchesEngineKernel: with alpha=1, beta=0 the FMA kernels give
// the same bits as the engine's own AVX2 kernel (kern1): the engine's
// Sgemm path for many rows (engine_gemm.go) relies on it.
func TestSgemmMatchesEngineKernel(t *testing.T) {
	if SgemmKernel() == "go" || matmulKernel != "avx2" {
		t.Skipf("kernels %q and %q", SgemmKernel(), matmulKernel)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	in, out := 128, 384
	x := make([]float32, in)
	w := make([]float32, in*out)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for i := range w {
		w[i] = float32(rng.NormFloat64())
	}
	want := make([]float32, out)
	kern1(&want[0], &x[0], &w[0], out, in, out)
	got := make([]float32, out)
	Sgemm(false, false, 1, out, in, 1, x, in, w, out, 0, got, out)
	for j := range got {
		if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
			t.Fatalf("column %d: Sgemm %v, kern1 %v", j, got[j], want[j])
		}
	}
}

// TestKern1Widths: kern1 gives Sgemm's bits whatever the number of columns,
// so through each of its paths (64, 32 and 16 columns at a time) and their
// mixes: the engine's attention runs it on 16 to 64 key positions.
func TestKern1Widths(t *testing.T) {
	if SgemmKernel() == "go" || matmulKernel != "avx2" {
		t.Skipf("kernels %q and %q", SgemmKernel(), matmulKernel)
	}
	rng := rand.New(rand.NewPCG(9, 10))
	const in, ldw = 37, 160
	x := make([]float32, in)
	w := make([]float32, in*ldw)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for i := range w {
		w[i] = float32(rng.NormFloat64())
	}
	for n := 16; n <= ldw; n += 16 {
		want := make([]float32, n)
		Sgemm(false, false, 1, n, in, 1, x, in, w, ldw, 0, want, n)
		got := make([]float32, n)
		kern1(&got[0], &x[0], &w[0], ldw, in, n)
		for j := range got {
			if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
				t.Fatalf("%d columns: column %d: kern1 %v, Sgemm %v", n, j, got[j], want[j])
			}
		}
	}
}

// TestSgemmKernelPrefetchBits: the AVX2 kernel that prefetches the next B
// panel (sgemmKernel6x16pf, the engine's decode steps with the weights in
// place) gives the plain kernel's bits, with beta 0 and with beta, on
// lengths of k through every case of the loop.
func TestSgemmKernelPrefetchBits(t *testing.T) {
	if !cpuHas.avx2FMA {
		t.Skip("no AVX2 and FMA")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for _, k := range []int{1, 2, 7, 64, 300} {
		const ldb, ldc = 48, 20
		a := make([]float32, 6*k)
		b := make([]float32, k*ldb)
		for i := range a {
			a[i] = float32(rng.NormFloat64())
		}
		for i := range b {
			b[i] = float32(rng.NormFloat64())
		}
		for _, beta := range []float32{0, 0.5} {
			c0 := make([]float32, 6*ldc)
			for i := range c0 {
				c0[i] = float32(rng.NormFloat64())
			}
			c1 := append([]float32(nil), c0...)
			sgemmAVX2(k, a, 1, 6, b, ldb, c0, ldc, 1.5, beta, beta != 0, nil)
			sgemmAVX2(k, a, 1, 6, b, ldb, c1, ldc, 1.5, beta, beta != 0, &b[16])
			for i := range c0 {
				if math.Float32bits(c0[i]) != math.Float32bits(c1[i]) {
					t.Fatalf("k=%d beta=%g: element %d: plain kernel %v, prefetching kernel %v", k, beta, i, c0[i], c1[i])
				}
			}
		}
	}
}
