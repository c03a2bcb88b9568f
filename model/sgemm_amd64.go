//go:build !purego

package model

//go:generate sh -c "go run sgemm_gen.go > sgemm_amd64.s"

// Go-assembly SGEMM micro-kernels (sgemm_amd64.s), no cgo. The AVX-512
// 8x32 kernel is used when the CPU and OS support AVX-512F, else the AVX2
// 6x16 kernel when they support AVX2 and FMA, else the portable Go kernel;
// -tags purego forces the Go kernel. Detection uses CPUID/XGETBV directly
// (golang.org/x/sys/cpu is not a dependency of this module).

//go:noescape
func sgemmKernel8x32(k int, a *float32, rsa, csa int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, loadC bool)

//go:noescape
func sgemmKernel6x16(k int, a *float32, rsa, csa int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, loadC bool)

func sgemmCPUID(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

func sgemmXGETBV() (eax uint32)

// sgemmCPU reports AVX2+FMA and AVX-512F support by the CPU and the OS
// (XCR0 must enable the YMM state, and for AVX-512 the opmask and ZMM
// states too).
func sgemmCPU() (avx2fma, avx512 bool) {
	maxID, _, _, _ := sgemmCPUID(0, 0)
	if maxID < 7 {
		return false, false
	}
	_, _, c1, _ := sgemmCPUID(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if c1&fma == 0 || c1&osxsave == 0 || c1&avx == 0 {
		return false, false
	}
	xcr0 := sgemmXGETBV()
	if xcr0&6 != 6 {
		return false, false
	}
	_, b7, _, _ := sgemmCPUID(7, 0)
	avx2fma = b7&(1<<5) != 0
	avx512 = avx2fma && b7&(1<<16) != 0 && xcr0&0xe0 == 0xe0
	return avx2fma, avx512
}

// sgemmAVX512 and sgemmAVX2 check the operands' extent, then run the
// assembly kernel on them.
func sgemmAVX512(k int, a []float32, rsa, csa int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32, loadC bool) {
	_, _, _ = a[7*rsa+(k-1)*csa], b[(k-1)*ldb+31], c[7*ldc+31]
	sgemmKernel8x32(k, &a[0], rsa, csa, &b[0], ldb, &c[0], ldc, alpha, beta, loadC)
}

func sgemmAVX2(k int, a []float32, rsa, csa int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32, loadC bool) {
	_, _, _ = a[5*rsa+(k-1)*csa], b[(k-1)*ldb+15], c[5*ldc+15]
	sgemmKernel6x16(k, &a[0], rsa, csa, &b[0], ldb, &c[0], ldc, alpha, beta, loadC)
}

func init() {
	avx2, avx512 := sgemmCPU()
	if avx2 {
		sgemmKernels = append(sgemmKernels, sgemmMicro{6, 16, "avx2", sgemmAVX2})
	}
	if avx512 {
		sgemmKernels = append(sgemmKernels, sgemmMicro{8, 32, "avx512", sgemmAVX512})
	}
	sgemmKern = sgemmKernels[len(sgemmKernels)-1]
}
