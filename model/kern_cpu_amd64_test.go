//go:build !purego

package model

import "testing"

// TestCPUFeaturesPickKernels: the one detection drives both kernel
// families the same way.
func TestCPUFeaturesPickKernels(t *testing.T) {
	wantSgemm := "go"
	switch {
	case cpuHas.avx512:
		wantSgemm = "avx512"
	case cpuHas.avx2FMA:
		wantSgemm = "avx2"
	}
	if got := SgemmKernel(); got != wantSgemm {
		t.Errorf("cpu %+v: SgemmKernel() = %q, want %q", cpuHas, got, wantSgemm)
	}
	if useAVX != cpuHas.avx2FMA {
		t.Errorf("cpu %+v: useAVX = %v, want %v", cpuHas, useAVX, cpuHas.avx2FMA)
	}
	if cpuHas.avx2FMA && matmulKernel != "avx2" && matmulKernel != "openblas" {
		t.Errorf("cpu %+v: matmulKernel = %q, want avx2", cpuHas, matmulKernel)
	}
}
