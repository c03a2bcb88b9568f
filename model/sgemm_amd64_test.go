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
