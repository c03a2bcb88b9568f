package main

import (
	"slices"
	"time"

	"tinyr1/model"
)

// The machine's ceiling, measured in each kernels part (pinned like the
// rest of it) so that the work rates of flops.go can be read against it:
//
//	fma_peak  GFLOP/s of one core on a register-only FMA loop
//	          (fma_amd64.s): what its FMA pipes can issue, no memory
//	sgemm_l1  GFLOP/s of one core on model.Sgemm of a small product whose
//	          operands stay in cache: tinyr1's practical ceiling
//
// Both run on one goroutine, so they are per-core figures whatever the
// part's thread count; a budget's peak is its cores times the per-core one
// (an upper bound: two SMT threads of one core share its pipes). The
// report takes the best sample of each, not the median: interference only
// slows a loop down, so the fastest sample is the closest estimate of what
// the core can do, and the conservative one for a claim that a target is
// beyond it.

// measureCeiling adds the two ceilings to a kernels part's result:
// fma_peak (with the loop's name in r.FMA) where an FMA loop runs, and
// sgemm_l1, runs samples each.
func measureCeiling(r *Result, runs int) {
	if s, name := measureFMAPeak(runs); s != nil {
		r.add("fma_peak", "GFLOP/s", s)
		r.FMA = name
	}
	r.add("sgemm_l1", "GFLOP/s", measureSgemmL1(runs))
}

// fmaLoop is one register-only FMA loop.
type fmaLoop struct {
	name  string                         // instruction set and registers, "AVX2 ymm"
	flops float64                        // FLOPs per iteration
	run   func(n int, x float32) float32 // runs n iterations
}

// The cache-resident product timed for sgemm_l1: C (m x n) = A (m x k) B
// (k x n), 68 KiB of operands (A and B's packed panels in L1, all of it in
// L2), single-threaded (2*m*n*k is below Sgemm's split size), multiples of
// both micro-kernels' tiles (6x16 and 8x32).
const (
	sgemmM, sgemmN, sgemmK = 48, 64, 128
)

// ceilingSample is the length of one timed sample of either ceiling.
const ceilingSample = 80 * time.Millisecond

// measureFMAPeak times each FMA loop the CPU runs, runs samples of about
// ceilingSample after a calibration, and returns the GFLOP/s samples of
// the fastest loop (by its best sample) and its name; nil where no loop
// is built (fma_other.go).
func measureFMAPeak(runs int) ([]float64, string) {
	var best []float64
	var name string
	for _, l := range fmaLoops() {
		n := calibrate(func(n int) { l.run(n, 1) }, 1<<12)
		ts := make([]float64, runs)
		timeInto(ts, func() error { l.run(n, 1); return nil })
		s := rates(l.flops*float64(n)/1e9, ts)
		if best == nil || slices.Max(s) > slices.Max(best) {
			best, name = s, l.name
		}
	}
	return best, name
}

// measureSgemmL1 times model.Sgemm on the cache-resident product, runs
// samples of about ceilingSample, and returns their GFLOP/s.
func measureSgemmL1(runs int) []float64 {
	a := make([]float32, sgemmM*sgemmK)
	b := make([]float32, sgemmK*sgemmN)
	c := make([]float32, sgemmM*sgemmN)
	for i := range a {
		a[i] = float32(i%7) / 7
	}
	for i := range b {
		b[i] = float32(i%5) / 5
	}
	product := func(reps int) {
		for range reps {
			model.Sgemm(false, false, sgemmM, sgemmN, sgemmK, 1, a, sgemmK, b, sgemmN, 0, c, sgemmN)
		}
	}
	reps := calibrate(product, 1)
	ts := make([]float64, runs)
	timeInto(ts, func() error { product(reps); return nil })
	return rates(2*sgemmM*sgemmN*sgemmK*float64(reps)/1e9, ts)
}

// calibrate returns how many repetitions of fn take about ceilingSample,
// doubling from n until one call takes a tenth of it (the first calls
// also warm the caches and the clock).
func calibrate(fn func(n int), n int) int {
	for {
		t0 := time.Now()
		fn(n)
		if d := time.Since(t0); d >= ceilingSample/10 {
			return max(1, int(float64(n)*ceilingSample.Seconds()/d.Seconds()))
		}
		n *= 2
	}
}
