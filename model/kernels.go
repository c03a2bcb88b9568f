package model

import "math"

// Row kernels of the rollout engine: float32, allocation-free, each output
// element computed in a fixed order that does not depend on the batch.

// expf is a float32 exp: x = n ln2 + r with |r| <= ln2/2, then a degree-6
// Taylor polynomial for e^r (relative error about 2e-7) scaled by 2^n.
// math.Exp in float64 costs several times more and this sits in the GELU
// and attention inner loops.
func expf(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375 // ln2 split so that n*ln2hi is exact
		ln2lo = -2.12194440e-4
	)
	if x > 88.5 {
		return float32(math.Inf(1))
	}
	if x < -87.5 {
		return 0
	}
	f := x*log2e + 0.5
	n := int32(f)
	if float32(n) > f { // floor for negative f
		n--
	}
	fn := float32(n)
	r := x - fn*ln2hi - fn*ln2lo
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	return p * math.Float32frombits(uint32(n+127)<<23)
}

// gelu is the tanh approximation 0.5 u (1 + tanh(sqrt(2/pi) (u + 0.044715 u^3))),
// computed through the identity 0.5 (1 + tanh(a)) = 1 / (1 + exp(-2a)).
func gelu(u float32) float32 {
	const c = 0.7978845608028654 // sqrt(2/pi)
	a := c * (u + 0.044715*u*u*u)
	return u / (1 + expf(-2*a))
}

// layerNorm writes (x - mean) / sqrt(var + eps) * g + b to dst, with the
// biased variance (layerNormStats). dst and x have length D. layerNormRows
// (fused_ops.go) gives every row these bits, four rows at a time (their
// chains of additions overlap), and the engine uses it for its rows. Both
// write the row through layerNormRow (8 lanes at a time with AVX2).
func layerNorm(dst, x, g, b []float32) {
	n := len(x)
	dst, g, b = dst[:n], g[:n], b[:n]
	mean, inv := layerNormStats(x)
	layerNormRow(dst, x, g, b, mean, inv)
}

// axpy does y += a*x.
func axpy(y []float32, a float32, x []float32) {
	x = x[:len(y)]
	for i := range y {
		y[i] += a * x[i]
	}
}
