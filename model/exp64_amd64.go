//go:build !purego

package model

import "math"

// exp64x4 is math.Exp 4 lanes at a time (exp64_amd64.s): it sets dst[i] =
// math.Exp(x[i]) for i < n (n % 4 == 0) up to the first group of 4 with a
// lane off math.Exp's normal path (not finite, overflow, a subnormal or
// zero result), and returns that group's index (n: none).
//
//go:noescape
func exp64x4(dst, x *float64, n int) int

// exp64VecAVX sets dst[i] = math.Exp(x[i]) with exp64x4 for the groups of 4
// of x up to the first with a lane off math.Exp's normal path, and returns
// how many it set (a multiple of 4).
func exp64VecAVX(dst, x []float64) int {
	n := len(x) &^ 3
	if n == 0 {
		return 0
	}
	dst = dst[:n]
	return exp64x4(&dst[0], &x[0], n)
}

// exp64MatchesMath says whether exp64x4 gives math.Exp's bits in this
// process. It copies math.Exp's FMA path, which math takes where the CPU
// has AVX and FMA; GODEBUG=cpu.fma=off (or cpu.avx=off) sends math.Exp down
// its other path, which rounds differently for about 9% of the inputs in
// [-50, 0]. The inputs below are some of those (8 groups of 4 would
// otherwise all have to agree by chance).
var exp64MatchesMath = exp64Check()

func exp64Check() bool {
	if !cpuHas.avx2FMA {
		return false
	}
	x := [8]float64{ // math.Exp rounds each differently with and without FMA
		math.Float64frombits(0xc03451f42ff1354f), math.Float64frombits(0xbffc9a69bf1c541e),
		math.Float64frombits(0xc024f64cf26e10de), math.Float64frombits(0xc03253dbd0131243),
		math.Float64frombits(0xc0480fbde5e5e689), math.Float64frombits(0xc0355550f0820a42),
		math.Float64frombits(0xc0429ae25610276d), math.Float64frombits(0xc04598941f42187b),
	}
	var y [8]float64
	if exp64VecAVX(y[:], x[:]) != len(x) {
		return false
	}
	for i, v := range x {
		if math.Float64bits(y[i]) != math.Float64bits(math.Exp(v)) {
			return false
		}
	}
	return true
}
