package model

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkSgemmVsEngine compares the engine's matmul kernels (linearGo and
// linearKernel, the AVX2 kern4/kern1 on amd64) with Sgemm (alpha=1, beta=0,
// one worker) on the rollout engine's shapes: rows x in -> out, with the
// weights (in, out) row-major as the engine stores them. No bias, epiSet.
func BenchmarkSgemmVsEngine(b *testing.B) {
	for _, sh := range []struct{ rows, in, out int }{
		{1, 128, 384}, {8, 128, 384}, {64, 128, 384}, {64, 128, 512}, {64, 512, 128}, {512, 128, 384},
	} {
		rng := rand.New(rand.NewPCG(1, 2))
		x := make([]float32, sh.rows*sh.in)
		w := make([]float32, sh.in*sh.out)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		for i := range w {
			w[i] = float32(rng.NormFloat64())
		}
		dst := make([]float32, sh.rows*sh.out)
		scratch := make([]float32, 4*(sh.out+15))
		a := &linArgs{dst: dst, x: x, w: w, n: sh.rows, in: sh.in, out: sh.out, ldw: sh.out, epi: epiSet}
		flops := 2 * float64(sh.rows*sh.in*sh.out)
		for _, im := range []struct {
			name string
			fn   func()
		}{
			{"linearGo", func() { linearGo(a, 0, sh.rows, 0, sh.out, scratch) }},
			{"linearKernel=" + matmulKernel, func() { linearKernel(a, 0, sh.rows, 0, sh.out, scratch) }},
			{"sgemm=" + SgemmKernel(), func() { sgemmWorkers(1, false, false, sh.rows, sh.out, sh.in, 1, x, sh.in, w, sh.out, 0, dst, sh.out) }},
		} {
			b.Run(fmt.Sprintf("%dx%dx%d/%s", sh.rows, sh.in, sh.out, im.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					im.fn()
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
