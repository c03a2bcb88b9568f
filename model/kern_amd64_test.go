//go:build !purego

package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// geluRowRef is the three-pass GELU epilogue that geluArr fused (bias, the
// exp argument in Go, expVec, the division in Go): the reference the fused
// kernel must match bitwise.
func geluRowRef(dst, c, b []float32, j0, j1 int) {
	epilogueRow(dst, c, b, j0, j1, epiSet)
	d := dst[j0:j1]
	tmp := make([]float32, pad16(len(d)))
	for j, u := range d {
		tmp[j] = -2 * 0.7978845608028654 * (u + 0.044715*u*u*u)
	}
	expVec(tmp)
	for j, u := range d {
		d[j] = u / (1 + tmp[j])
	}
}

// TestEpilogueGELUFused: epilogueRowAVX's GELU equals geluRowRef bitwise,
// for ragged lengths and inputs from tiny to past exp's clamp.
func TestEpilogueGELUFused(t *testing.T) {
	if !useAVX {
		t.Skip("no AVX2+FMA")
	}
	rng := rand.New(rand.NewPCG(3, 5))
	for _, n := range []int{1, 7, 8, 13, 16, 44, 512} {
		for _, scale := range []float64{1e-3, 1, 30} {
			t.Run(fmt.Sprintf("n=%d/scale=%g", n, scale), func(t *testing.T) {
				c, b := make([]float32, pad16(n)), make([]float32, n)
				for i := range n {
					c[i] = float32(scale * rng.NormFloat64())
					b[i] = float32(0.1 * rng.NormFloat64())
				}
				got, want := make([]float32, n), make([]float32, n)
				geluRowRef(want, c, b, 0, n)
				epilogueRowAVX(got, c, b, 0, n, epiGELU)
				for i := range n {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("element %d (u %g): fused %g, reference %g", i, c[i]+b[i], got[i], want[i])
					}
				}
			})
		}
	}
}
