//go:build !purego

package model

import "math"

// Vector forms of the training graph's fused float32 row kernels
// (fused_ops.go), in Go assembly (fused_amd64.s) or through the engine's
// (kern_amd64.s). Each does the scalar kernel's operations in the same
// order, one rounding per operation and no FMA outside exp, so it gives
// the same bits; fused_ops_test.go holds each to its Go loop. They run
// where the CPU has AVX2 and FMA (useAVX).

// addVecAVX sets dst[i] = a[i] + b[i] with biasRow, 8 lanes at a time. dst
// may be a.
func addVecAVX(dst, a, b []float32) {
	if len(dst) == 0 {
		return
	}
	a, b = a[:len(dst)], b[:len(dst)]
	biasRow(&dst[0], &a[0], &b[0], len(dst), false)
}

// geluVecAVX sets x[i] = gelu(x[i]) with geluArr, the engine's fused GELU:
// its operations and order are those of biasGELURowsGo32 on the columns
// that expInPlace sends through expVec. len(x) must be a multiple of 8.
func geluVecAVX(x []float32) {
	if len(x) > 0 {
		geluArr(&x[0], len(x), &expConsts, &geluConsts)
	}
}

// geluGradVecAVX sets du[i] = dy[i] * gelu'(x[i] + v[i]) as
// biasGELUGradRowsGo32 computes it on the columns that expInPlace sends
// through expVec; len(du) must be a multiple of 8.
func geluGradVecAVX(du, x, v, dy []float32) {
	if len(du) == 0 {
		return
	}
	x, v, dy = x[:len(du)], v[:len(du)], dy[:len(du)]
	geluGradArr(&du[0], &x[0], &v[0], &dy[0], len(du), &expConsts, &geluGradConsts)
}

//go:noescape
func geluGradArr(du, x, v, dy *float32, n int, c *[12]float32, gc *[5]float32)

// geluGradConsts are geluGradArr's constants, rounded to float32 as the Go
// expressions of biasGELUGradRowsGo32 round them: 0.044715 and
// -2 sqrt(2/pi) of the exp argument, 2, sqrt(2/pi) and 3 * 0.044715.
var geluGradConsts = [5]float32{0.044715, -2 * 0.7978845608028654, 2, geluC, 3 * geluK}

// adamwVecAVX runs AdamW.Update's step on the first len(p) &^ 7 elements
// with adamwArr (c as there) and returns how many it did.
func adamwVecAVX(p, g, m, v []float32, c *[9]float32, decay bool) int {
	n := len(p) &^ 7
	if n == 0 {
		return 0
	}
	g, m, v = g[:n], m[:n], v[:n]
	adamwArr(&p[0], &g[0], &m[0], &v[0], n, c, decay)
	return n
}

//go:noescape
func adamwArr(pr, gr, mo, ve *float32, n int, c *[9]float32, decay bool)

// layerNormVecAVX runs layerNormRowGo on the first len(y) &^ 7 elements
// with layerNormArr and returns how many it did.
func layerNormVecAVX(y, x, gain, bias []float32, mean, rstd float32) int {
	n := len(y) &^ 7
	if n == 0 {
		return 0
	}
	x, gain, bias = x[:n], gain[:n], bias[:n]
	layerNormArr(&y[0], &x[0], &gain[0], &bias[0], n, mean, rstd)
	return n
}

//go:noescape
func layerNormArr(y, x, gain, bias *float32, n int, mean, rstd float32)

// layerNormGradVecAVX runs layerNormGradRowGo on the first len(dx) &^ 7
// elements with layerNormGradArr and returns how many it did.
func layerNormGradVecAVX(dx, x, gain, dy []float32, mean, rstd, sg, sgx float32) int {
	n := len(dx) &^ 7
	if n == 0 {
		return 0
	}
	x, gain, dy = x[:n], gain[:n], dy[:n]
	layerNormGradArr(&dx[0], &x[0], &gain[0], &dy[0], n, &[4]float32{mean, rstd, sg, sgx})
	return n
}

//go:noescape
func layerNormGradArr(dx, x, gain, dy *float32, n int, c *[4]float32)

// layerNormGainGradVecAVX runs layerNormGainGradRowGo on the first
// len(dgain) &^ 7 elements and returns how many it did: dgain =
// ((x - mean) * rstd) * dy + dgain is layerNormArr with dy for the gain and
// dgain for the bias, the same operations in the same order (the product
// the first operand of the sum, as in the compiled Go loop), each element
// read before it is written.
func layerNormGainGradVecAVX(dgain, x, dy []float32, mean, rstd float32) int {
	return layerNormVecAVX(dgain, x, dy, dgain, mean, rstd)
}

//go:noescape
func maxArr(x *float32, n int) float32

//go:noescape
func subScalarArr(x *float32, n int, s float32)

//go:noescape
func mulScalarArr(x *float32, n int, s float32)

// softmaxRowAVX is attentionSoftmaxRowGo on seg with the max, the
// subtraction and the scaling 8 lanes at a time (maxArr, subScalarArr,
// mulScalarArr) and the rest in Go; the sum stays one chain in order. The
// same bits (TestSoftmaxRowAVXMatchesGo).
func softmaxRowAVX(seg []float32) {
	n := len(seg)
	n8 := n &^ 7
	mx := float32(math.Inf(-1))
	if n8 > 0 {
		mx = maxArr(&seg[0], n8)
	}
	for _, s := range seg[n8:] {
		mx = max(mx, s)
	}
	if n8 > 0 {
		subScalarArr(&seg[0], n8, mx)
	}
	for j := n8; j < n; j++ {
		seg[j] -= mx
	}
	expInPlace(seg)
	var sum float32
	for _, e := range seg {
		sum += e
	}
	inv := 1 / sum
	if n8 > 0 {
		mulScalarArr(&seg[0], n8, inv)
	}
	for j := n8; j < n; j++ {
		seg[j] *= inv
	}
}
