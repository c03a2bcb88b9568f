//go:build !purego

package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
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

// TestEpilogueBiasAsm: epilogueRowAVX's epiSet and epiAdd (biasRow) equal
// epilogueRow bitwise, with and without a bias, for ragged column ranges
// and signed zeros.
func TestEpilogueBiasAsm(t *testing.T) {
	if !useAVX {
		t.Skip("no AVX2+FMA")
	}
	rng := rand.New(rand.NewPCG(7, 9))
	const out = 60
	for _, epi := range []epilogue{epiSet, epiAdd} {
		for _, bias := range []bool{true, false} {
			for _, r := range [][2]int{{0, 0}, {0, 1}, {3, 11}, {16, 48}, {5, 60}, {0, 60}} {
				t.Run(fmt.Sprintf("epi=%d/bias=%v/cols=%d-%d", epi, bias, r[0], r[1]), func(t *testing.T) {
					j0, j1 := r[0], r[1]
					c, dst := make([]float32, j1-j0), make([]float32, out)
					var b []float32
					if bias {
						b = make([]float32, out)
					}
					for i := range c {
						c[i] = float32(rng.NormFloat64())
					}
					for i := range dst {
						dst[i] = float32(rng.NormFloat64())
						if b != nil {
							b[i] = float32(rng.NormFloat64())
						}
					}
					if len(c) > 1 { // -0 + -0 keeps its sign; -0 + 0 does not
						c[0], dst[j0] = float32(math.Copysign(0, -1)), float32(math.Copysign(0, -1))
						if b != nil {
							b[j0] = float32(math.Copysign(0, -1))
						}
					}
					want := append([]float32(nil), dst...)
					epilogueRow(want, c, b, j0, j1, epi)
					epilogueRowAVX(dst, c, b, j0, j1, epi)
					for i := range out {
						if math.Float32bits(dst[i]) != math.Float32bits(want[i]) {
							t.Fatalf("column %d: asm %g, epilogueRow %g", i, dst[i], want[i])
						}
					}
				})
			}
		}
	}
}

// TestAttendHeadPairBits: two heads through attendHeadPairAVX (attnMix2)
// give the bits of each through attendHeadAVX, for positions that fill
// part of a key block, one, and more.
func TestAttendHeadPairBits(t *testing.T) {
	if !useAVX {
		t.Skip("no AVX2")
	}
	const hd, D = 32, 64
	ldb := D * kvBlock
	rng := rand.New(rand.NewPCG(71, 72))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	for _, n := range []int{1, 15, 16, 33, 64, 65, 100} {
		nb := (n + kvBlock - 1) / kvBlock
		Kt := fill(nb * ldb) // two heads' keys: head 1 at hd*kvBlock
		V0, V1, q := fill(n*hd), fill(n*hd), fill(D)
		scale := float32(0.17)
		want0, want1 := make([]float32, hd), make([]float32, hd)
		s := make([]float32, pad16(n))
		attendHeadAVX(want0, s[:n], q[:hd], Kt, V0, ldb, hd, scale)
		attendHeadAVX(want1, s[:n], q[hd:], Kt[hd*kvBlock:], V1, ldb, hd, scale)
		got0, got1 := make([]float32, hd), make([]float32, hd)
		s0, s1 := make([]float32, pad16(n)), make([]float32, pad16(n))
		attendHeadPairAVX(got0, got1, s0[:n], s1, q[:hd], q[hd:], Kt, Kt[hd*kvBlock:], V0, V1, ldb, hd, scale)
		for c := range hd {
			if math.Float32bits(got0[c]) != math.Float32bits(want0[c]) || math.Float32bits(got1[c]) != math.Float32bits(want1[c]) {
				t.Fatalf("n=%d, column %d: pair %v %v, one head at a time %v %v", n, c, got0[c], got1[c], want0[c], want1[c])
			}
		}
	}
}

// TestScaleShiftVecMatchesGo: the decode attention's scaling and shift 8
// lanes at a time give the Go loop's values (equal, a zero's sign aside)
// and, after the exp, its bits, on every length from 1 to 70 (every tail),
// with zeros of both signs and ties at the maximum.
func TestScaleShiftVecMatchesGo(t *testing.T) {
	if !useAVX {
		t.Skip("no AVX2 on this CPU")
	}
	rng := rand.New(rand.NewPCG(13, 14))
	for n := 1; n <= 70; n++ {
		for trial := range 3 {
			a := make([]float32, (n+15)&^15)
			for j := range n {
				a[j] = float32(rng.NormFloat64() * math.Pow(10, float64(trial)))
				switch rng.IntN(6) {
				case 0:
					a[j] = 0
				case 1:
					a[j] = float32(math.Copysign(0, -1))
				case 2:
					a[j] = 3 // ties at the maximum, when no other score is larger
				}
			}
			b := slices.Clone(a)
			scaleShiftGo(a[:n], 0.17677669)
			scaleShiftVec(b[:n], 0.17677669)
			for j := range n {
				if a[j] != b[j] {
					t.Fatalf("n=%d trial %d element %d: Go %v, vector %v", n, trial, j, a[j], b[j])
				}
			}
			clear(a[n:])
			clear(b[n:])
			expVec(a)
			expVec(b)
			for j := range n {
				if math.Float32bits(a[j]) != math.Float32bits(b[j]) {
					t.Fatalf("n=%d trial %d element %d after exp: Go %v, vector %v", n, trial, j, a[j], b[j])
				}
			}
		}
	}
}
