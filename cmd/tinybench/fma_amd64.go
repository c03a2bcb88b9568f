//go:build amd64 && !purego

package main

import "tinyr1/model"

// fmaLoopAVX2 runs n iterations of 12 independent 8-lane FMAs on ymm
// registers (fma_amd64.s) and returns 12*n*x*x while that is exact.
func fmaLoopAVX2(n int, x float32) float32

// fmaLoopAVX512 is fmaLoopAVX2 on 16-lane zmm registers.
func fmaLoopAVX512(n int, x float32) float32

// The FLOPs of one iteration of each loop: 12 FMAs of 8 or 16 lanes, 2
// FLOPs a lane (TestFMALoopFLOPs counts them in fma_amd64.s).
const (
	avx2LoopFLOPs   = 12 * 8 * 2
	avx512LoopFLOPs = 12 * 16 * 2
)

// fmaLoops are the FMA loops this CPU runs, widest last. model.SgemmKernel
// names the widest micro-kernel model's CPUID check allows (AVX2 and FMA,
// or AVX-512F as well, with the OS saving the registers).
func fmaLoops() []fmaLoop {
	var out []fmaLoop
	switch model.SgemmKernel() {
	case "avx512":
		out = append(out, fmaLoop{"AVX2 ymm", avx2LoopFLOPs, fmaLoopAVX2}, fmaLoop{"AVX-512 zmm", avx512LoopFLOPs, fmaLoopAVX512})
	case "avx2":
		out = append(out, fmaLoop{"AVX2 ymm", avx2LoopFLOPs, fmaLoopAVX2})
	}
	return out
}
