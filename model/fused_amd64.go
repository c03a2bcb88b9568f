//go:build !purego

package model

// Vector forms of the training graph's fused float32 row kernels
// (fused_ops.go), through the engine's assembly (kern_amd64.s). Each does
// the scalar kernel's operations in the same order, one rounding per
// operation, so it gives the same bits; fused_ops_test.go holds each to
// its Go loop. They run where the CPU has AVX2 and FMA (useAVX).

// addVecAVX sets dst[i] = a[i] + b[i] with biasRow, 8 lanes at a time. dst
// may be a.
func addVecAVX(dst, a, b []float32) {
	if len(dst) == 0 {
		return
	}
	a, b = a[:len(dst)], b[:len(dst)]
	biasRow(&dst[0], &a[0], &b[0], len(dst), false)
}
