package model

import "math"

// LayerNorm's row kernels, shared by the training graph's fused ops
// (fused_ops.go) and the rollout engine (kernels.go): the statistics, the
// forward rows, the gradient's rows and the gain's gradient. Like the
// other kernels they work on rows lo..hi of (N, C) matrices and allocate
// nothing; the element-wise passes run 8 lanes at a time in assembly where
// the CPU has AVX2 (layerNormAsm), with the same bits as the Go loops.

// layerNormStats returns the mean and 1/sqrt(var + eps) of x, with the
// biased variance, in the arithmetic of the engine's layerNorm (kernels.go).
func layerNormStats[F float32 | float64](x []F) (mean, rstd F) {
	for _, v := range x {
		mean += v
	}
	mean /= F(len(x))
	var vr F
	for _, v := range x {
		d := v - mean
		vr += d * d
	}
	vr /= F(len(x))
	return mean, F(1 / math.Sqrt(float64(vr)+refLayerNormEps))
}

// rowStats returns row r's mean and rstd: kept in st (N, 2) by the forward
// pass, or computed from the row xr when st is nil.
func rowStats[F float32 | float64](st, xr []F, r int) (mean, rstd F) {
	if st == nil {
		return layerNormStats(xr)
	}
	return st[2*r], st[2*r+1]
}

// layerNormStats4 is layerNormStats of four rows at once: four independent
// chains of additions, each in layerNormStats's order, so every row gets
// the same bits. One chain is bound by the latency of its additions; four
// overlap.
func layerNormStats4[F float32 | float64](x0, x1, x2, x3 []F) (mean, rstd [4]F) {
	n := len(x0)
	x1, x2, x3 = x1[:n], x2[:n], x3[:n]
	var m0, m1, m2, m3 F
	for c, v := range x0 {
		m0 += v
		m1 += x1[c]
		m2 += x2[c]
		m3 += x3[c]
	}
	m0 /= F(n)
	m1 /= F(n)
	m2 /= F(n)
	m3 /= F(n)
	var v0, v1, v2, v3 F
	for c, v := range x0 {
		d0, d1, d2, d3 := v-m0, x1[c]-m1, x2[c]-m2, x3[c]-m3
		v0 += d0 * d0
		v1 += d1 * d1
		v2 += d2 * d2
		v3 += d3 * d3
	}
	v0 /= F(n)
	v1 /= F(n)
	v2 /= F(n)
	v3 /= F(n)
	mean = [4]F{m0, m1, m2, m3}
	for i, vr := range [4]F{v0, v1, v2, v3} {
		rstd[i] = F(1 / math.Sqrt(float64(vr)+refLayerNormEps))
	}
	return mean, rstd
}

// layerNormRows writes y = (x - mean) * rstd * gain + bias, and each row's
// mean and rstd to st (N, 2) unless it is nil. The statistics of four rows
// at a time come from layerNormStats4.
func layerNormRows[F float32 | float64](y, x, gain, bias, st []F, C, lo, hi int) {
	gain, bias = gain[:C], bias[:C]
	var means, rstds [4]F
	for r := lo; r < hi; r++ {
		xr, yr := x[r*C:][:C], y[r*C:][:C]
		if (r-lo)%4 == 0 && r+4 <= hi {
			means, rstds = layerNormStats4(xr, x[(r+1)*C:][:C], x[(r+2)*C:][:C], x[(r+3)*C:][:C])
		}
		var mean, rstd F
		if k := (r - lo) % 4; r-k+4 <= hi { // in a group of four
			mean, rstd = means[k], rstds[k]
		} else {
			mean, rstd = layerNormStats(xr)
		}
		if st != nil {
			st[2*r], st[2*r+1] = mean, rstd
		}
		layerNormRow(yr, xr, gain, bias, mean, rstd)
	}
}

// layerNormAsm lets LayerNorm's element-wise passes on float32 rows
// (layerNormRow, layerNormGradRow, layerNormGainGradRow) run 8 lanes at a
// time with layerNormArr (the gain's gradient too) and layerNormGradArr
// where the CPU has AVX2 and FMA (useAVX): the same operations in the same
// order, so the same bits (TestLayerNormVecMatchesGo). A knob for the
// benchmarks that measure it.
var layerNormAsm = true

// layerNormRow writes yr = (xr - mean) * rstd * gain + bias: a float32 row
// 8 lanes at a time where useAVX && layerNormAsm, the rest (the tail, or
// all of it) in layerNormRowGo.
func layerNormRow[F float32 | float64](yr, xr, gain, bias []F, mean, rstd F) {
	yr = yr[:len(xr)] // the vector pass's length, as the Go loop's
	n := 0
	if useAVX && layerNormAsm {
		if y, ok := any(yr).([]float32); ok {
			n = layerNormVecAVX(y, any(xr).([]float32), any(gain).([]float32), any(bias).([]float32), float32(mean), float32(rstd))
		}
	}
	layerNormRowGo(yr[n:], xr[n:], gain[n:], bias[n:], mean, rstd)
}

// layerNormRowGo is layerNormRow one element at a time, the reference of
// layerNormArr: ((x - mean) * rstd) * gain, then + bias, each operation
// rounded on its own. The conversion keeps a GOAMD64=v3 build from fusing
// the last product and the sum into one FMA (a no-op on the default build).
func layerNormRowGo[F float32 | float64](yr, xr, gain, bias []F, mean, rstd F) {
	n := len(xr)
	yr, gain, bias = yr[:n], gain[:n], bias[:n]
	for c, v := range xr {
		yr[c] = F((v-mean)*rstd*gain[c]) + bias[c]
	}
}

// layerNormGradRows writes dx from dy: with xhat = (x - mean) rstd and
// g = dy * gain, dx = rstd (g - mean(g) - xhat mean(g xhat)). The mean
// and rstd come from st (rowStats).
func layerNormGradRows[F float32 | float64](dx, x, gain, dy, st []F, C, lo, hi int) {
	gain = gain[:C]
	r := lo
	for ; r+2 <= hi; r += 2 { // two rows at a time: four independent chains
		x0, dy0 := x[r*C:][:C], dy[r*C:][:C]
		x1, dy1 := x[(r+1)*C:][:C], dy[(r+1)*C:][:C]
		mean0, rstd0 := rowStats(st, x0, r)
		mean1, rstd1 := rowStats(st, x1, r+1)
		var sg0, sgx0, sg1, sgx1 F
		for c, v := range x0 {
			g0, g1 := dy0[c]*gain[c], dy1[c]*gain[c]
			sg0 += g0
			sgx0 += g0 * (v - mean0) * rstd0
			sg1 += g1
			sgx1 += g1 * (x1[c] - mean1) * rstd1
		}
		layerNormGradRow(dx[r*C:][:C], x0, gain, dy0, mean0, rstd0, sg0, sgx0)
		layerNormGradRow(dx[(r+1)*C:][:C], x1, gain, dy1, mean1, rstd1, sg1, sgx1)
	}
	for ; r < hi; r++ {
		xr, dyr := x[r*C:][:C], dy[r*C:][:C]
		mean, rstd := rowStats(st, xr, r)
		var sg, sgx F
		for c, v := range xr {
			g := dyr[c] * gain[c]
			sg += g
			sgx += g * (v - mean) * rstd
		}
		layerNormGradRow(dx[r*C:][:C], xr, gain, dyr, mean, rstd, sg, sgx)
	}
}

// layerNormGradRow writes one row of dx from the row's sums sg = sum g and
// sgx = sum g xhat (layerNormGradRows).
func layerNormGradRow[F float32 | float64](dxr, xr, gain, dyr []F, mean, rstd, sg, sgx F) {
	C := len(xr)
	dxr = dxr[:C] // the vector pass's length, as the Go loop's
	sg /= F(C)
	sgx /= F(C)
	n := 0
	if useAVX && layerNormAsm {
		if d, ok := any(dxr).([]float32); ok {
			n = layerNormGradVecAVX(d, any(xr).([]float32), any(gain).([]float32), any(dyr).([]float32),
				float32(mean), float32(rstd), float32(sg), float32(sgx))
		}
	}
	layerNormGradRowGo(dxr[n:], xr[n:], gain[n:C], dyr[n:C], mean, rstd, sg, sgx)
}

// layerNormGradRowGo writes dxr = rstd * (dy*gain - sg - (x-mean)*rstd*sgx)
// one element at a time, sg and sgx already divided by the row's length;
// the reference of layerNormGradArr. Go evaluates it, one rounding per
// operation, as
//
//	a = dy * gain; b = a - sg; t = x - mean; t = t * rstd; t = t * sgx; b = b - t; dx = rstd * b
//
// and the conversions keep a GOAMD64=v3 build from fusing a product into
// the subtraction that follows it (no-ops on the default build).
func layerNormGradRowGo[F float32 | float64](dxr, xr, gain, dyr []F, mean, rstd, sg, sgx F) {
	n := len(xr)
	dxr, gain, dyr = dxr[:n], gain[:n], dyr[:n]
	for c, v := range xr {
		dxr[c] = rstd * (F(dyr[c]*gain[c]) - sg - F((v-mean)*rstd*sgx))
	}
}

// layerNormGainGradRows adds sum_r xhat_r * dy_r to dgain (C), the mean and
// rstd from st (rowStats).
func layerNormGainGradRows[F float32 | float64](dgain, x, dy, st []F, C, lo, hi int) {
	dgain = dgain[:C]
	for r := lo; r < hi; r++ {
		xr, dyr := x[r*C:][:C], dy[r*C:][:C]
		mean, rstd := rowStats(st, xr, r)
		layerNormGainGradRow(dgain, xr, dyr, mean, rstd)
	}
}

// layerNormGainGradRow adds one row's xhat * dy to dgain: a float32 row 8
// lanes at a time where useAVX && layerNormAsm (layerNormGainGradVecAVX),
// the rest in layerNormGainGradRowGo. Each column still adds the rows in
// order.
func layerNormGainGradRow[F float32 | float64](dgain, xr, dyr []F, mean, rstd F) {
	dgain = dgain[:len(xr)] // the vector pass's length, as the Go loop's
	n := 0
	if useAVX && layerNormAsm {
		if d, ok := any(dgain).([]float32); ok {
			n = layerNormGainGradVecAVX(d, any(xr).([]float32), any(dyr).([]float32), float32(mean), float32(rstd))
		}
	}
	layerNormGainGradRowGo(dgain[n:], xr[n:], dyr[n:], mean, rstd)
}

// layerNormGainGradRowGo adds ((x - mean) * rstd) * dy to dgain one
// element at a time, the reference of layerNormGainGradVecAVX. The
// conversion keeps a GOAMD64=v3 build from fusing the last product and the
// sum into one FMA (a no-op on the default build).
func layerNormGainGradRowGo[F float32 | float64](dgain, xr, dyr []F, mean, rstd F) {
	n := len(xr)
	dgain, dyr = dgain[:n], dyr[:n]
	for c, v := range xr {
		dgain[c] += F((v - mean) * rstd * dyr[c])
	}
}
