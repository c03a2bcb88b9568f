//go:build !purego

package model

// CPU features for the Go-assembly kernels, detected once with CPUID and
// XGETBV (golang.org/x/sys/cpu is not a dependency of this module), as a
// package variable so that it is set before any init runs. The engine's
// kernels (kern_amd64.go) need AVX2 and FMA; Sgemm (sgemm_amd64.go) picks
// its AVX-512 or AVX2 micro-kernel from it.
var cpuHas = detectCPU()

// cpuFeatures is what the CPU and the OS support.
type cpuFeatures struct {
	avx2FMA bool // AVX2 and FMA3, with XCR0 enabling the YMM state
	avx512  bool // AVX-512F as well, with XCR0 enabling the opmask and ZMM states
}

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

func xgetbv0() (eax uint32)

func detectCPU() cpuFeatures {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return cpuFeatures{}
	}
	_, _, c1, _ := cpuid(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if c1&fma == 0 || c1&osxsave == 0 || c1&avx == 0 {
		return cpuFeatures{}
	}
	xcr0 := xgetbv0()
	if xcr0&6 != 6 { // SSE and YMM state
		return cpuFeatures{}
	}
	_, b7, _, _ := cpuid(7, 0)
	var f cpuFeatures
	f.avx2FMA = b7&(1<<5) != 0
	f.avx512 = f.avx2FMA && b7&(1<<16) != 0 && xcr0&0xe0 == 0xe0
	return f
}

// cpuRelax executes PAUSE: a spin-wait hint that eases the spinning core's
// pressure on the cache line it polls (engine_sync.go).
func cpuRelax()
