//go:build !purego

package model

//go:generate sh -c "go run sgemm_gen.go > sgemm_amd64.s"

// Go-assembly SGEMM micro-kernels (sgemm_amd64.s), no cgo. The AVX-512
// 8x32 kernel is used when the CPU and OS support AVX-512F, else the AVX2
// 6x16 kernel when they support AVX2 and FMA, else the portable Go kernel;
// -tags purego forces the Go kernel. Detection is shared with the
// engine's kernels (cpuHas, kern_cpu_amd64.go).

//go:noescape
func sgemmKernel8x32(k int, a *float32, rsa, csa int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, loadC bool)

//go:noescape
func sgemmKernel6x16(k int, a *float32, rsa, csa int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, loadC bool)

// sgemmKernel6x16pf is sgemmKernel6x16 that also prefetches pf, pf + ldb,
// ... (k rows, one a step of k) into L2: the next B panel, when B is read
// in place. The arithmetic is sgemmKernel6x16's.
//
//go:noescape
func sgemmKernel6x16pf(k int, a *float32, rsa, csa int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, loadC bool, pf *float32)

//go:noescape
func sgemmPackT6(dst, src *float32, lda, k int)

//go:noescape
func sgemmPackT8(dst, src *float32, lda, k int)

//go:noescape
func sgemmPackT16(dst, src *float32, lda, k int)

//go:noescape
func sgemmPackT32(dst, src *float32, lda, k int)

// sgemmPackRowsAsm copies k rows of w floats (6, 8, 16 or 32), ld floats
// apart in src, one after another into dst, with the assembly loops: a
// full panel of a transposed A (sgemmPackA) or of an untransposed B
// (sgemmPackB). It reports false when it did nothing (sgemmPackAsm off,
// or another width).
func sgemmPackRowsAsm(dst, src []float32, ld, k, w int) bool {
	if !sgemmPackAsm || k == 0 {
		return false
	}
	var f func(dst, src *float32, ld, k int)
	switch w {
	case 6:
		f = sgemmPackT6
	case 8:
		f = sgemmPackT8
	case 16:
		f = sgemmPackT16
	case 32:
		f = sgemmPackT32
	default:
		return false
	}
	_, _ = dst[k*w-1], src[(k-1)*ld+w-1]
	f(&dst[0], &src[0], ld, k)
	return true
}

// sgemmAVX512 and sgemmAVX2 check the operands' extent, then run the
// assembly kernel on them (sgemmAVX2 the prefetching one when pf is set;
// the AVX-512 kernel has none).
func sgemmAVX512(k int, a []float32, rsa, csa int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32, loadC bool, _ *float32) {
	_, _, _ = a[7*rsa+(k-1)*csa], b[(k-1)*ldb+31], c[7*ldc+31]
	sgemmKernel8x32(k, &a[0], rsa, csa, &b[0], ldb, &c[0], ldc, alpha, beta, loadC)
}

func sgemmAVX2(k int, a []float32, rsa, csa int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32, loadC bool, pf *float32) {
	_, _, _ = a[5*rsa+(k-1)*csa], b[(k-1)*ldb+15], c[5*ldc+15]
	if pf != nil {
		sgemmKernel6x16pf(k, &a[0], rsa, csa, &b[0], ldb, &c[0], ldc, alpha, beta, loadC, pf)
		return
	}
	sgemmKernel6x16(k, &a[0], rsa, csa, &b[0], ldb, &c[0], ldc, alpha, beta, loadC)
}

func init() {
	if cpuHas.avx2FMA {
		sgemmKernels = append(sgemmKernels, sgemmMicro{6, 16, "avx2", sgemmAVX2})
	}
	if cpuHas.avx512 {
		sgemmKernels = append(sgemmKernels, sgemmMicro{8, 32, "avx512", sgemmAVX512})
	}
	sgemmKern = sgemmKernels[len(sgemmKernels)-1]
}
