package main

import (
	"slices"
	"testing"

	"tinyr1/model"
)

// TestFMALoops: each FMA loop this CPU runs does n iterations of 12 FMAs
// (12*n*x*x, exact here), and stops at once for n = 0. (That the 12 are
// independent, fma_amd64.s's point, shows only in the rate.)
// Where model's Sgemm runs an assembly kernel (amd64 with AVX2 and FMA, no
// purego) at least the AVX2 loop must be there.
func TestFMALoops(t *testing.T) {
	loops := fmaLoops()
	if model.SgemmKernel() != "go" && len(loops) == 0 {
		t.Fatal("no FMA loop on amd64: want at least AVX2 ymm")
	}
	for _, l := range loops {
		for _, tc := range []struct {
			n    int
			x    float32
			want float32
		}{{1000, 1, 12000}, {7, 0.5, 12 * 7 * 0.25}, {0, 3, 0}} {
			if got := l.run(tc.n, tc.x); got != tc.want {
				t.Errorf("%s run(%d, %g) = %g, want %g", l.name, tc.n, tc.x, got, tc.want)
			}
		}
	}
}

// TestMeasureCeilings: the two ceilings come out as one sample per run,
// each positive and below 10 TFLOP/s (a core of today runs at most about
// 0.3), and the FMA peak names its loop.
func TestMeasureCeilings(t *testing.T) {
	if testing.Short() {
		t.Skip("times about 1 s of loops")
	}
	plausible := func(s []float64) bool {
		return len(s) == 2 && slices.Min(s) > 0 && slices.Max(s) < 1e4
	}
	r := newResult("tinyr1", "small", 1, 2)
	measureCeiling(r, 2)
	if s := r.Metrics["fma_peak"]; len(fmaLoops()) > 0 && (!plausible(s.Samples) || s.Unit != "GFLOP/s" || r.FMA == "") {
		t.Errorf("fma_peak = %v %s from loop %q: want 2 samples in (0, 1e4) GFLOP/s and a loop name", s.Samples, s.Unit, r.FMA)
	}
	if s := r.Metrics["sgemm_l1"]; !plausible(s.Samples) || s.Unit != "GFLOP/s" {
		t.Errorf("sgemm_l1 = %v %s, want 2 samples in (0, 1e4) GFLOP/s", s.Samples, s.Unit)
	}
}
