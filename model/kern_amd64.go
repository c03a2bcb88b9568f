//go:build !purego

package model

import "math"

// AVX2+FMA kernels in Go assembly (kern_amd64.s): no cgo, used when the CPU
// has AVX2 and FMA (cpuHas, kern_cpu_amd64.go); build with -tags purego
// to force the pure-Go kernel. With FMA each product is added without a
// separate rounding, so results differ from the pure-Go kernel in the last
// bits, but one process always uses one kernel, and within it a row's
// result is independent of the batch and of the column split (kern4 and
// kern1 run the same FMA chain per output element).

//go:noescape
func kern4(c *float32, ldc int, x *float32, ldx int, w *float32, ldw int, in int, ncols int)

//go:noescape
func kern1(c *float32, x *float32, w *float32, ldw int, in int, ncols int)

//go:noescape
func attnMix(out *float32, s *float32, v *float32, ldv int, hd int, n int)

//go:noescape
func attnMix2(out0, s0, v0, out1, s1, v1 *float32, ldv int, hd int, n int)

//go:noescape
func expArr(x *float32, n int, c *[12]float32)

// expConsts are expArr's constants: clamp range, log2 e, ln 2 split in a
// high part exact in float32 and the rest, Taylor coefficients 1/720 ..
// 1/2, 1, and the exponent bias 127 (as int32 bits).
var expConsts = [12]float32{
	88.3, -87.3, 1.44269504088896341, 0.693359375, -2.12194440e-4,
	1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5, 1,
	math.Float32frombits(127),
}

// expVec sets x[i] = exp(x[i]); len(x) must be a multiple of 8.
func expVec(x []float32) {
	if len(x) > 0 {
		expArr(&x[0], len(x), &expConsts)
	}
}

func init() {
	if cpuHas.avx2FMA {
		useAVX = true
		if matmulKernel == "go" {
			linearKernel, matmulKernel = linearAVX, "avx2"
		}
	}
}

// linearAVX computes rows [r0, r1) and columns [j0, j1) of a with the
// assembly kernels: 4 rows at a time, then single rows. It needs a.ldw and
// j0 to be multiples of 16, j1 a multiple of 16 or a.out, and a.w to hold
// in rows of a.ldw floats (the engine pads weights to that); scratch holds
// at least 4 * (j1 - j0 rounded up to 16) floats.
func linearAVX(a *linArgs, r0, r1, j0, j1 int, scratch []float32) {
	if r0 >= r1 || j0 >= j1 {
		return
	}
	in, out, ldw := a.in, a.out, a.ldw
	nc := (j1 - j0 + 15) &^ 15
	if ldw%16 != 0 || j0%16 != 0 || j0+nc > ldw || len(a.w) < in*ldw || len(scratch) < 4*nc ||
		len(a.x) < r1*in || len(a.dst) < r1*out {
		panic("model: linearAVX: bad shapes")
	}
	i := r0
	if r1-r0 >= 8 {
		// Column chunks whose weight panel (in x cw floats) stays in L1
		// across all the 4-row tiles; a row's bits do not depend on it.
		cw := max(16, (8192/in)&^15)
		i = r0 + (r1-r0)&^3
		for c0 := j0; c0 < j1; c0 += cw {
			c1 := min(c0+cw, j1)
			cn := (c1 - c0 + 15) &^ 15
			for t := r0; t < i; t += 4 {
				kern4(&scratch[0], cn, &a.x[t*in], in, &a.w[c0], ldw, in, cn)
				for r := range 4 {
					epilogueRowAVX(a.dst[(t+r)*out:(t+r+1)*out], scratch[r*cn:r*cn+cn], a.b, c0, c1, a.epi)
				}
			}
		}
	} else {
		for ; i+4 <= r1; i += 4 {
			kern4(&scratch[0], nc, &a.x[i*in], in, &a.w[j0], ldw, in, nc)
			for r := range 4 {
				epilogueRowAVX(a.dst[(i+r)*out:(i+r+1)*out], scratch[r*nc:r*nc+nc], a.b, j0, j1, a.epi)
			}
		}
	}
	for ; i < r1; i++ {
		kern1(&scratch[0], &a.x[i*in], &a.w[j0], ldw, in, nc)
		epilogueRowAVX(a.dst[i*out:(i+1)*out], scratch[:nc], a.b, j0, j1, a.epi)
	}
}

// attendHeadAVX is one head of Engine.attend with the assembly kernels:
// scores and softmax (attnScores), then the mix of values V (positions hd
// floats apart) with attnMix. s has room for len(s) rounded up to 16;
// hd % 8 == 0.
func attendHeadAVX(out, s, q, Kt, V []float32, ldb, hd int, scale float32) {
	n := len(s)
	sum := attnScores(s, q, Kt, ldb, hd, scale)
	_ = V[(n-1)*hd+hd-1]
	attnMix(&out[0], &s[0], &V[0], hd, hd, n)
	mulScalarArr(&out[0], hd, 1/sum)
}

// attendHeadPairAVX is attendHeadAVX for two heads of one row: the same
// scores and softmax for each, then both mixes in one attnMix2, whose eight
// FMA chains (attnMix's four per head) overlap; each output gets
// attendHeadAVX's bits. hd % 32 == 0.
func attendHeadPairAVX(out0, out1, s0, s1, q0, q1, Kt0, Kt1, V0, V1 []float32, ldb, hd int, scale float32) {
	n := len(s0)
	sum0 := attnScores(s0, q0, Kt0, ldb, hd, scale)
	sum1 := attnScores(s1[:n], q1, Kt1, ldb, hd, scale)
	_, _, _, _ = V0[(n-1)*hd+hd-1], V1[(n-1)*hd+hd-1], out0[hd-1], out1[hd-1]
	attnMix2(&out0[0], &s0[0], &V0[0], &out1[0], &s1[0], &V1[0], hd, hd, n)
	mulScalarArr(&out0[0], hd, 1/sum0)
	mulScalarArr(&out1[0], hd, 1/sum1)
}

// attnScores writes the softmax weights of one head into s (unnormalised:
// exp(score - max)) and returns their sum: scores from the transposed keys
// Kt (blocks of hd rows of kvBlock positions, ldb floats apart) with kern1,
// which gives each score the same FMA chain over the key dimensions
// whatever the layout, then expVec.
func attnScores(s, q, Kt []float32, ldb, hd int, scale float32) float32 {
	n := len(s)
	n16 := (n + 15) &^ 15
	s16 := s[:n16]
	nb := (n16 + kvBlock - 1) / kvBlock
	last := n16 - (nb-1)*kvBlock // columns of the last block
	_ = Kt[(nb-1)*ldb+(hd-1)*kvBlock+last-1]
	for b := range nb {
		kern1(&s16[b*kvBlock], &q[0], &Kt[b*ldb], kvBlock, hd, min(kvBlock, n16-b*kvBlock))
	}
	return attnSoftmax(s16, n, scale)
}

// attnSoftmax is attnScores after the scores: s16 holds the raw scores of
// n positions (and room up to n rounded up to 16), which it turns into
// exp(score*scale - max), returning their sum in attnScores' fixed order.
func attnSoftmax(s16 []float32, n int, scale float32) float32 {
	s := s16[:n]
	if softmaxAsm {
		scaleShiftVec(s, scale)
	} else {
		scaleShiftGo(s, scale)
	}
	clear(s16[n:]) // the pad is exp'd and ignored
	expVec(s16)
	var s0, s1, s2, s3 float32 // fixed order: four interleaved partial sums
	j := 0
	for ; j+4 <= n; j += 4 {
		s0 += s[j]
		s1 += s[j+1]
		s2 += s[j+2]
		s3 += s[j+3]
	}
	sum := (s0 + s1) + (s2 + s3)
	for ; j < n; j++ {
		sum += s[j]
	}
	return sum
}

// scaleShiftGo sets s[j] = s[j]*scale - m, m the largest s[j]*scale: the
// scores' scaling and shift before their exp, one element at a time.
// Scores are finite, so a plain compare gives the builtin max's result
// without its NaN and signed-zero branches (measured 3% of a batch-1
// decode step).
func scaleShiftGo(s []float32, scale float32) {
	mx := float32(math.Inf(-1))
	for j, v := range s {
		v *= scale
		s[j] = v
		if v > mx {
			mx = v
		}
	}
	for j := range s {
		s[j] -= mx
	}
}

// scaleShiftVec is scaleShiftGo with the first len(s) &^ 7 elements 8 lanes
// at a time (mulScalarArr, maxArr, subScalarArr, as the training graph's
// softmax): the same bits after exp, since the max is exact and only a
// zero's sign can differ (TestScaleShiftVecMatchesGo).
func scaleShiftVec(s []float32, scale float32) {
	n := len(s)
	n8 := n &^ 7
	mx := float32(math.Inf(-1))
	if n8 > 0 {
		mulScalarArr(&s[0], n8, scale)
		mx = maxArr(&s[0], n8)
	}
	for j := n8; j < n; j++ {
		v := s[j] * scale
		s[j] = v
		if v > mx {
			mx = v
		}
	}
	if n8 > 0 {
		subScalarArr(&s[0], n8, mx)
	}
	for j := n8; j < n; j++ {
		s[j] -= mx
	}
}

// epilogueRowAVX is epilogueRow with GELU vectorised: bias, then geluArr
// in one pass over the row (8 lanes at a time; a ragged tail goes through
// an 8-float buffer, so that every element takes the same route). c is the
// raw sums, as for epilogueRow. Bitwise equal to the three-pass version it
// replaced (geluRowRef in kern_amd64_test.go), which measured 20% of Score
// and 6% of batch-1 decode.
func epilogueRowAVX(dst, c, b []float32, j0, j1 int, epi epilogue) {
	if epi != epiGELU {
		biasRowAVX(dst, c, b, j0, j1, epi == epiAdd)
		return
	}
	biasRowAVX(dst, c, b, j0, j1, false) // dst = u = c + b
	d := dst[j0:j1]
	n8 := len(d) &^ 7
	if n8 > 0 {
		geluArr(&d[0], n8, &expConsts, &geluConsts)
	}
	if n8 < len(d) {
		var t [8]float32
		copy(t[:], d[n8:])
		geluArr(&t[0], 8, &expConsts, &geluConsts)
		copy(d[n8:], t[:])
	}
}

// biasRowAVX is epilogueRow's epiSet (acc false) or epiAdd (acc true)
// with the additions in assembly: the same two roundings per element, so
// the same bits (measured 3% of batch-1 decode as scalar Go). Without a
// bias it falls back to epilogueRow.
func biasRowAVX(dst, c, b []float32, j0, j1 int, acc bool) {
	if b == nil || j0 >= j1 {
		epi := epiSet
		if acc {
			epi = epiAdd
		}
		epilogueRow(dst, c, b, j0, j1, epi)
		return
	}
	d := dst[j0:j1]
	c, b = c[:len(d)], b[j0:j1]
	biasRow(&d[0], &c[0], &b[0], len(d), acc)
}

//go:noescape
func biasRow(d *float32, c *float32, b *float32, n int, acc bool)

//go:noescape
func geluArr(x *float32, n int, c *[12]float32, gc *[2]float32)

// geluConsts are geluArr's constants: 0.044715 and -2 sqrt(2/pi), rounded
// to float32 as the Go expression -2 * 0.7978845608028654 * (u + 0.044715*u*u*u)
// rounds them.
var geluConsts = [2]float32{0.044715, -2 * 0.7978845608028654}
