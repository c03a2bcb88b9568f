package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// math.Exp's Overflow (above it, +Inf) and LOG2E (exp_amd64.s).
const (
	expOverflow = 7.09782712893384e+02
	expLog2E    = 1.4426950408889634073599246810018920
)

// expTestInputs returns inputs for expF64: n uniform in [-50, 0] (the
// loss's range), n uniform in [-745, 710], and runs of neighbours around
// each edge of math.Exp's normal path (overflow, the last normal and the
// last nonzero result, exp's 2^e boundaries), then specials: +-Inf, NaNs,
// +-0, subnormals, tiny and huge values.
func expTestInputs(rng *rand.Rand, n int) []float64 {
	var x []float64
	for range n {
		x = append(x, -50*rng.Float64())
	}
	for range n {
		x = append(x, -745+1455*rng.Float64())
	}
	edges := []float64{
		expOverflow,
		1023.5 / expLog2E,  // x * LOG2E = 1023.5: e = 1024 above
		-708.3964185322641, // log(2^-1022): the smallest normal result
		-1022.5 / expLog2E, // e = -1023 below: a subnormal result
		-744.4400719213812, // log(2^-1074): the smallest subnormal result
		-745.1332191019412, // exp rounds to 0 below
		-1075.5 / expLog2E, // e = -1076 below: archExp's underflow to 0
		0.5 * math.Ln2, -0.5 * math.Ln2, 1, -1, 0x1p-30, -0x1p-30,
	}
	for _, e := range edges {
		for _, d := range []float64{1e-3, 1e-6, 1e-9, 1e-12} {
			x = append(x, e+d, e-d)
		}
		up, down := e, e
		for range 24 {
			up, down = math.Nextafter(up, math.Inf(1)), math.Nextafter(down, math.Inf(-1))
			x = append(x, up, down)
		}
		x = append(x, e)
	}
	x = append(x, math.Inf(1), math.Inf(-1), math.NaN(), -math.NaN(), math.Float64frombits(0x7ff0000000000001),
		math.Float64frombits(0xfff8000000000123), 0, math.Copysign(0, -1),
		5e-324, -5e-324, 2.2250738585072014e-308, -2.2250738585072014e-308, 1e-300, -1e-300, 1e-17, -1e-17,
		math.MaxFloat64, -math.MaxFloat64, 1e10, -1e10, 0x1p31, -0x1p31, 0x1p40, -0x1p40)
	for range 64 {
		x = append(x, 1e-5*(2*rng.Float64()-1))
	}
	return x
}

// TestExpF64MatchesMath: expF64 gives math.Exp's bits for every input of
// expTestInputs, in order and shuffled (so that an input off math.Exp's
// normal path sits in each lane of a group), for every length 0..13 and at
// every start 0..3 (lengths not a multiple of 4), with the vector exp on
// (where the CPU has it) and off, and with dst the input itself.
func TestExpF64MatchesMath(t *testing.T) {
	defer func(v bool) { exp64Asm = v }(exp64Asm)
	rng := rand.New(rand.NewPCG(13, 64))
	x := expTestInputs(rng, 100000)
	shuffled := append([]float64(nil), x...)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	check := func(t *testing.T, dst, x []float64) {
		t.Helper()
		for i, v := range x {
			if got, want := math.Float64bits(dst[i]), math.Float64bits(math.Exp(v)); got != want {
				t.Fatalf("exp(%v = %#x) at %d of %d: got %v (%#x), want math.Exp's %v (%#x)",
					v, math.Float64bits(v), i, len(x), dst[i], got, math.Exp(v), want)
			}
		}
	}
	for _, on := range []bool{true, false} {
		exp64Asm = on
		t.Run(fmt.Sprintf("asm=%v", on), func(t *testing.T) {
			for _, in := range [][]float64{x, shuffled} {
				dst := make([]float64, len(in))
				expF64(dst, in)
				check(t, dst, in)
				inPlace := append([]float64(nil), in...)
				expF64(inPlace, inPlace)
				check(t, inPlace, in)
			}
			for start := range 4 {
				for n := range 14 {
					for _, in := range [][]float64{x[start:][:n], shuffled[start:][:n], x[len(x)-n-start:][:n]} {
						dst := make([]float64, n)
						expF64(dst, in)
						check(t, dst, in)
					}
				}
			}
		})
	}
}
