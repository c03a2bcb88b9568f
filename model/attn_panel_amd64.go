//go:build !purego

package model

// attendPanelAVX is attendHeadAVX for one head of attnPanel (6) rows of
// one sequence at consecutive positions p0, ..., p0+5, as two
// register-tiled products through the AVX2 Sgemm micro-kernel (6x16),
// which loads each key and value once for the six rows instead of once a
// row:
//
//	S = Q K^T   (6, pad16(p0+6)), 16 positions at a time
//	O = P V     (6, hd), 16 columns at a time over the p0+6 positions
//
// Row i's query is q[i*ldq:] (hd floats) and its output out[i*ldo:]; Kt
// holds the head's keys (blocks of hd rows of kvBlock positions, ldb
// floats apart), V its values (hd floats a position, at least p0+6). P is
// scratch of 6 rows ldp >= pad16(p0+6) floats apart. hd % 16 == 0.
//
// Bits: the micro-kernel runs each element's chain acc = a*b + acc (FMA)
// from zero in k order, then times alpha = 1, which is exact (Sgemm's
// Determinism), so every score is kern1's and row i's softmax
// (attnSoftmax of its first p0+i+1 scores) is attnScores'. The mix runs
// every row's chains over all p0+6 positions, with row i's weights past
// its own position set to zero: each extra step adds 0*v, which is ±0 for
// a finite v and leaves any sum but -0 unchanged (-0 + +0 = +0), and NaN
// for an infinite or NaN v, after which the chain stays NaN. So where a
// result is neither zero nor NaN it is attnMix's over the row's own
// positions, and so is the scaled result (a zero or NaN times 1/sum stays
// a zero or NaN, so the test can follow the scaling); a row and head with
// a zero or NaN in its scaled result is mixed again by attnMix over its
// own positions only (TestAttendPanelMatchesRows, TestAttendPanelSignedZero,
// TestEngineAttnGemmBitwise).
func attendPanelAVX(out []float32, ldo int, P []float32, ldp int, q []float32, ldq int, Kt []float32, ldb int, V []float32, hd, p0 int, scale float32) {
	const mr = attnPanel
	n := p0 + mr // positions of the last row
	n16 := pad16(n)
	for j := 0; j < n16; j += 16 { // S = Q K^T into P
		b := Kt[j/kvBlock*ldb+j%kvBlock:]
		sgemmAVX2(hd, q, ldq, 1, b, kvBlock, P[j:], ldp, 1, 0, false, nil)
	}
	var sum [mr]float32
	for i := range mr {
		ni := p0 + i + 1
		row := P[i*ldp : i*ldp+n]
		sum[i] = attnSoftmax(P[i*ldp:i*ldp+pad16(ni)], ni, scale)
		clear(row[ni:]) // weights past the row's position
	}
	for c := 0; c < hd; c += 16 { // O = P V
		sgemmAVX2(n, P, ldp, 1, V[c:], hd, out[c:], ldo, 1, 0, false, nil)
	}
	_ = V[n*hd-1]
	for i := range mr {
		o := out[i*ldo : i*ldo+hd]
		if !scaleExact(&o[0], hd, 1/sum[i]) {
			attnMix(&o[0], &P[i*ldp], &V[0], hd, hd, p0+i+1)
			mulScalarArr(&o[0], hd, 1/sum[i])
		}
	}
}

// scaleExact sets x[i] *= s for i < n, n % 8 == 0, with mulScalarArr's
// bits, and reports whether no product is zero or NaN: a row's mix from
// attendPanelAVX that passes is attnMix's (scaleExactGo is the reference;
// a scalar scan of hd compares and branches a row would be a sizeable
// part of its share of the mix, about (p0+6)*hd/8 FMAs: an estimate, not a
// measurement).
//
//go:noescape
func scaleExact(x *float32, n int, s float32) bool
