//go:build !purego

package model

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// attnPanelCase is one head's operands for attendPanelAVX: keys in the
// engine's transposed blocks, values, and six query rows ldq apart.
type attnPanelCase struct {
	hd, p0, maxLen, ldq, ldb int
	q, Kt, V                 []float32
}

func newAttnPanelCase(rng *rand.Rand, hd, p0, maxLen int) *attnPanelCase {
	nblk := (maxLen + kvBlock - 1) / kvBlock
	c := &attnPanelCase{hd: hd, p0: p0, maxLen: maxLen, ldq: 3*hd + 8, ldb: hd * kvBlock}
	c.q = make([]float32, attnPanel*c.ldq)
	c.Kt = make([]float32, nblk*c.ldb)
	c.V = make([]float32, maxLen*hd)
	for _, x := range [][]float32{c.q, c.Kt, c.V} {
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
	}
	return c
}

// setK sets key dimension d of position j.
func (c *attnPanelCase) setK(j, d int, v float32) {
	c.Kt[j/kvBlock*c.ldb+d*kvBlock+j%kvBlock] = v
}

// run returns attendPanelAVX's rows (hd floats each, ldo apart) and
// attendHeadAVX's, row by row, over the same operands.
func (c *attnPanelCase) run() (got, want []float32, ldo int) {
	hd := c.hd
	scale := float32(1 / math.Sqrt(float64(hd)))
	ldo = hd + 24
	ldp := pad16(c.maxLen)
	P := make([]float32, attnPanel*ldp)
	for i := range P {
		P[i] = float32(math.NaN()) // stale scratch must not matter
	}
	got = make([]float32, attnPanel*ldo)
	attendPanelAVX(got, ldo, P, ldp, c.q, c.ldq, c.Kt, c.ldb, c.V[:(c.p0+attnPanel)*hd], hd, c.p0, scale)
	want = make([]float32, attnPanel*ldo)
	s := make([]float32, ldp)
	for i := range attnPanel {
		n := c.p0 + i + 1
		attendHeadAVX(want[i*ldo:i*ldo+hd], s[:n], c.q[i*c.ldq:i*c.ldq+hd], c.Kt, c.V[:n*hd], c.ldb, hd, scale)
	}
	return got, want, ldo
}

// TestAttendPanelMatchesRows: attendPanelAVX gives every row attendHeadAVX's
// bits, at head widths 16 to 64 and first positions from 0 to past two key
// blocks, so that the last row ends anywhere in a 16-position panel and in
// a key block. On random data no result is zero or NaN, so the bits come
// from the products themselves, not from attnMix's second pass.
func TestAttendPanelMatchesRows(t *testing.T) {
	if !useAVX {
		t.Skip("no AVX2+FMA: attendPanelAVX does not run")
	}
	rng := rand.New(rand.NewPCG(21, 22))
	for _, hd := range []int{16, 32, 48, 64} {
		for p0 := 0; p0 <= 2*kvBlock+12; p0++ {
			c := newAttnPanelCase(rng, hd, p0, 2*kvBlock+20)
			got, want, ldo := c.run()
			for i := range attnPanel {
				o := got[i*ldo : i*ldo+hd]
				if !noZeroNaN(o) {
					t.Fatalf("hd %d p0 %d row %d: a zero or NaN in random data's result %v", hd, p0, i, o)
				}
				for j := range hd {
					g, w := got[i*ldo+j], want[i*ldo+j]
					if math.Float32bits(g) != math.Float32bits(w) {
						t.Fatalf("hd %d p0 %d row %d column %d: panel %v, row by row %v", hd, p0, i, j, g, w)
					}
				}
			}
		}
	}
}

// TestAttendPanelSignedZero: where a row's mix is -0 over its own
// positions, or a later position's value is infinite, the panel's extra
// zero-weighted steps would give +0 or NaN; attendPanelAVX must still
// return attendHeadAVX's bits (its second pass through attnMix).
func TestAttendPanelSignedZero(t *testing.T) {
	if !useAVX {
		t.Skip("no AVX2+FMA: attendPanelAVX does not run")
	}
	const hd, p0 = 16, 1
	for _, tc := range []struct {
		name string
		set  func(c *attnPanelCase)
	}{
		// Row 0 (positions 0, 1): q = e_0, key 0 = 0 and key 1 = 100 on
		// dimension 0, so weight 0 is exp(-25) and weight 1 is 1. Column 3
		// of value 0 is the smallest negative subnormal, whose product with
		// exp(-25) rounds to -0, and of value 1 is -0: the mix is -0, and
		// the positive values after it would make it +0.
		{"negative zero", func(c *attnPanelCase) {
			for j := range c.maxLen {
				for d := range hd {
					c.setK(j, d, 0)
				}
				c.V[j*hd+3] = 1
			}
			c.setK(1, 0, 100)
			c.V[0*hd+3] = -math.Float32frombits(1)
			c.V[1*hd+3] = float32(math.Copysign(0, -1))
			for i := range attnPanel {
				for d := range hd {
					c.q[i*c.ldq+d] = 0
				}
				c.q[i*c.ldq] = 1
			}
		}},
		// Position 4's values are infinite: rows 0-2 must not see them.
		{"infinite value", func(c *attnPanelCase) {
			for d := range hd {
				c.V[4*hd+d] = float32(math.Inf(1))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newAttnPanelCase(rand.New(rand.NewPCG(3, 4)), hd, p0, 32)
			tc.set(c)
			got, want, ldo := c.run()
			for i := range attnPanel {
				for j := range hd {
					g, w := got[i*ldo+j], want[i*ldo+j]
					if math.Float32bits(g) != math.Float32bits(w) {
						t.Errorf("row %d column %d: panel %v (%#x), row by row %v (%#x)", i, j, g, math.Float32bits(g), w, math.Float32bits(w))
					}
				}
			}
			if tc.name == "negative zero" && (want[3] != 0 || !math.Signbit(float64(want[3]))) {
				t.Fatalf("the case does not make row 0's column 3 -0: %v", want[3])
			}
		})
	}
}

// noZeroNaN reports whether no element of x is zero or NaN.
func noZeroNaN(x []float32) bool {
	for _, v := range x {
		if v == 0 || v != v {
			return false
		}
	}
	return true
}

// scaleExactGo is scaleExact's reference: mulScalarArr, then a scan.
func scaleExactGo(x []float32, s float32) bool {
	mulScalarArr(&x[0], len(x), s)
	return noZeroNaN(x)
}

// TestScaleExactMatchesGo: scaleExact gives mulScalarArr's bits and
// reports a zero (of either sign), a NaN, or a product that underflows to
// zero in any lane of any 8-float group, and nothing else (infinities and
// subnormals pass).
func TestScaleExactMatchesGo(t *testing.T) {
	if !useAVX {
		t.Skip("no AVX2+FMA")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)),
		float32(math.Inf(-1)), math.Float32frombits(1), -math.Float32frombits(1), math.SmallestNonzeroFloat32 * 4}
	for _, n := range []int{8, 16, 32, 48} {
		for _, s := range []float32{0.37, 1, 1e-30} {
			for pos := -1; pos < n; pos++ {
				for k, sp := range specials {
					if pos < 0 && k > 0 {
						break
					}
					x := make([]float32, n)
					for i := range x {
						x[i] = float32(rng.NormFloat64())
					}
					if pos >= 0 {
						x[pos] = sp
					}
					want := slices.Clone(x)
					gotOK, wantOK := scaleExact(&x[0], n, s), scaleExactGo(want, s)
					if gotOK != wantOK {
						t.Fatalf("n %d scale %g: %v at %d: scaleExact reports %v, want %v", n, s, sp, pos, gotOK, wantOK)
					}
					for i := range x {
						if math.Float32bits(x[i]) != math.Float32bits(want[i]) {
							t.Fatalf("n %d scale %g: %v at %d: x[%d] = %v, want %v", n, s, sp, pos, i, x[i], want[i])
						}
					}
				}
			}
		}
	}
}
