package model

import "math"

// exp64Asm lets expF64 run exp64VecAVX, math.Exp 4 lanes at a time, where
// the CPU has AVX2 and FMA and it gives math.Exp's bits
// (exp64MatchesMath): the same bits either way (TestExpF64MatchesMath). A
// knob for the benchmark that measures it.
var exp64Asm = true

// expF64 sets dst[i] = math.Exp(x[i]) for every i of x, bit for bit; dst
// may be x. With AVX2 and FMA it runs 4 lanes at a time; a group of 4 with
// a lane off math.Exp's normal path (not finite, overflow, subnormal or
// zero result) and the last len(x) % 4 go through math.Exp.
func expF64(dst, x []float64) {
	dst = dst[:len(x)]
	i := 0
	if useAVX && exp64Asm && exp64MatchesMath {
		for {
			i += exp64VecAVX(dst[i:], x[i:])
			if len(x)-i < 4 {
				break
			}
			for j := i; j < i+4; j++ { // the group exp64VecAVX stopped at
				dst[j] = math.Exp(x[j])
			}
			i += 4
		}
	}
	for ; i < len(x); i++ {
		dst[i] = math.Exp(x[i])
	}
}
