package model

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// sgemmBenchShapes are the model's matrix multiplies at 2048 tokens
// (d=128: QKV 128->384, MLP 128->512 and 512->128), a 64-row prefill and a
// single row, plus the backward passes' A^T B (weight gradient, k = tokens)
// and A B^T (input gradient).
var sgemmBenchShapes = []sgemmCase{
	{m: 2048, n: 384, k: 128},
	{m: 2048, n: 512, k: 128},
	{m: 2048, n: 128, k: 512},
	{m: 64, n: 384, k: 128},
	{m: 1, n: 384, k: 128},
	{tA: true, m: 128, n: 384, k: 2048},
	{tA: true, m: 512, n: 128, k: 2048},
	{tB: true, m: 2048, n: 128, k: 384},
	{tB: true, m: 2048, n: 512, k: 128},
	{tB: true, m: 64, n: 128, k: 384},
}

func (tc sgemmCase) String() string {
	t := ""
	if tc.tA {
		t += "AT"
	}
	if tc.tB {
		t += "BT"
	}
	if t == "" {
		t = "NN"
	}
	return fmt.Sprintf("%s/%dx%dx%d", t, tc.m, tc.k, tc.n)
}

// BenchmarkSgemm runs each shape with this package's Sgemm and with gonum's
// pure-Go Sgemm in the same run; compare the GFLOP/s metrics.
func BenchmarkSgemm(b *testing.B) {
	for _, tc := range sgemmBenchShapes {
		tc.alpha = 1
		rng := rand.New(rand.NewPCG(1, 2))
		a, lda, bb, ldb, c, ldc := tc.operands(rng)
		flops := 2 * float64(tc.m) * float64(tc.n) * float64(tc.k)
		tr := func(t bool) blas.Transpose {
			if t {
				return blas.Trans
			}
			return blas.NoTrans
		}
		impls := []struct {
			name string
			fn   func()
		}{
			{"tinyr1", func() { Sgemm(tc.tA, tc.tB, tc.m, tc.n, tc.k, 1, a, lda, bb, ldb, 0, c, ldc) }},
			{"tinyr1-1w", func() { sgemmWorkers(1, tc.tA, tc.tB, tc.m, tc.n, tc.k, 1, a, lda, bb, ldb, 0, c, ldc) }},
			{"gonum", func() {
				gonum.Implementation{}.Sgemm(tr(tc.tA), tr(tc.tB), tc.m, tc.n, tc.k, 1, a, lda, bb, ldb, 0, c, ldc)
			}},
		}
		for _, im := range impls {
			b.Run(tc.String()+"/"+im.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					im.fn()
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkSgemmVsGonum times this package's Sgemm (with its workers and
// with one) and gonum's alternately, call by call, so that load from other
// processes hits both alike, and reports the median of each in GFLOP/s of
// wall time and of process CPU time (CPU time shows the kernels' efficiency
// on a shared machine; wall time includes the parallel speed-up).
func BenchmarkSgemmVsGonum(b *testing.B) {
	for _, tc := range sgemmBenchShapes {
		tc.alpha = 1
		rng := rand.New(rand.NewPCG(1, 2))
		a, lda, bb, ldb, c, ldc := tc.operands(rng)
		flops := 2 * float64(tc.m) * float64(tc.n) * float64(tc.k)
		reps := max(1, int(2e6/flops)) // calls per measurement: >= ~2 MFLOP
		tr := map[bool]blas.Transpose{false: blas.NoTrans, true: blas.Trans}
		fns := []func(){
			func() { Sgemm(tc.tA, tc.tB, tc.m, tc.n, tc.k, 1, a, lda, bb, ldb, 0, c, ldc) },
			func() { sgemmWorkers(1, tc.tA, tc.tB, tc.m, tc.n, tc.k, 1, a, lda, bb, ldb, 0, c, ldc) },
			func() {
				gonum.Implementation{}.Sgemm(tr[tc.tA], tr[tc.tB], tc.m, tc.n, tc.k, 1, a, lda, bb, ldb, 0, c, ldc)
			},
		}
		b.Run(tc.String(), func(b *testing.B) {
			var wall, cpu [3][]float64
			for b.Loop() {
				for f, fn := range fns {
					w0, c0 := time.Now(), sgemmProcessCPU()
					for range reps {
						fn()
					}
					cpu[f] = append(cpu[f], sgemmProcessCPU()-c0)
					wall[f] = append(wall[f], time.Since(w0).Seconds())
				}
			}
			g := func(s []float64) float64 { return flops * float64(reps) / sgemmMedian(s) / 1e9 }
			b.ReportMetric(g(wall[0]), "GFLOP/s")
			b.ReportMetric(g(wall[2]), "gonum-GFLOP/s")
			b.ReportMetric(g(wall[0])/g(wall[2]), "x-gonum")
			b.ReportMetric(g(cpu[1]), "1w-GFLOP/cpu-s")
			b.ReportMetric(g(cpu[2]), "gonum-GFLOP/cpu-s")
		})
	}
}

func sgemmMedian(s []float64) float64 {
	s = slices.Clone(s)
	slices.Sort(s)
	return s[len(s)/2]
}

// sgemmProcessCPU returns the CPU time, in seconds, used by all the
// process's threads.
func sgemmProcessCPU() float64 {
	var ts syscall.Timespec
	const clockProcessCPUTimeID = 2
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockProcessCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0)
	return float64(ts.Sec) + float64(ts.Nsec)*1e-9
}

// BenchmarkSgemmPackAsm times one worker's Sgemm on the weight gradients'
// shapes (A transposed, k = tokens) with a transposed A's panels packed by
// the assembly loops and by the Go loops (the same values,
// TestSgemmPackAsm), alternately call by call, and reports the median
// GFLOP/s of each and their ratio.
func BenchmarkSgemmPackAsm(b *testing.B) {
	shapes := []sgemmCase{
		{tA: true, m: 128, n: 384, k: 2048}, // small preset, 2048 tokens
		{tA: true, m: 128, n: 512, k: 2048},
		{tA: true, m: 512, n: 128, k: 2048},
		{tA: true, m: 128, n: 128, k: 2048},
		{tA: true, m: 256, n: 768, k: 2048}, // medium
		{tA: true, m: 1024, n: 256, k: 2048},
		{tA: true, m: 128, n: 384, k: 1152}, // a GRPO pass, 16 x 72 tokens
	}
	defer func(v bool) { sgemmPackAsm = v }(sgemmPackAsm)
	for _, tc := range shapes {
		tc.alpha = 1
		rng := rand.New(rand.NewPCG(1, 2))
		a, lda, bb, ldb, c, ldc := tc.operands(rng)
		flops := 2 * float64(tc.m) * float64(tc.n) * float64(tc.k)
		b.Run(tc.String(), func(b *testing.B) {
			var t [2][]float64
			for b.Loop() {
				for i, on := range []bool{false, true} {
					sgemmPackAsm = on
					w0 := time.Now()
					sgemmWorkers(1, tc.tA, tc.tB, tc.m, tc.n, tc.k, 1, a, lda, bb, ldb, 0, c, ldc)
					t[i] = append(t[i], time.Since(w0).Seconds())
				}
			}
			goPack, asmPack := flops/sgemmMedian(t[0])/1e9, flops/sgemmMedian(t[1])/1e9
			b.ReportMetric(goPack, "go-GFLOP/s")
			b.ReportMetric(asmPack, "asm-GFLOP/s")
			b.ReportMetric(asmPack/goPack, "x-go")
		})
	}
}

// BenchmarkSgemmL2Block times one worker's Sgemm on the train step's
// products with the A block sized for a 2 MiB L2 (128Ki floats, the old
// sgemmL2Floats) and for a 512 KiB one (32Ki, 48Ki, 64Ki), alternately
// call by call, and reports each one's median GFLOP/s.
func BenchmarkSgemmL2Block(b *testing.B) {
	var shapes []sgemmCase // the small preset's at 2048 tokens, then the medium's
	for _, tc := range sgemmBenchShapes {
		if tc.m*tc.k >= 2048*128 {
			shapes = append(shapes, tc)
		}
	}
	shapes = append(shapes,
		sgemmCase{m: 2048, n: 768, k: 256},
		sgemmCase{m: 2048, n: 256, k: 1024},
		sgemmCase{tA: true, m: 256, n: 768, k: 2048},
		sgemmCase{tB: true, m: 2048, n: 256, k: 1024})
	vals := []int{128 << 10, 32 << 10, 48 << 10, 64 << 10}
	defer func(v int) { sgemmL2Floats = v }(sgemmL2Floats)
	for _, tc := range shapes {
		tc.alpha = 1
		rng := rand.New(rand.NewPCG(1, 2))
		a, lda, bb, ldb, c, ldc := tc.operands(rng)
		flops := 2 * float64(tc.m) * float64(tc.n) * float64(tc.k)
		b.Run(tc.String(), func(b *testing.B) {
			t := make([][]float64, len(vals))
			for b.Loop() {
				for i, v := range vals {
					sgemmL2Floats = v
					w0 := time.Now()
					sgemmWorkers(1, tc.tA, tc.tB, tc.m, tc.n, tc.k, 1, a, lda, bb, ldb, 0, c, ldc)
					t[i] = append(t[i], time.Since(w0).Seconds())
				}
			}
			for i, v := range vals {
				b.ReportMetric(flops/sgemmMedian(t[i])/1e9, fmt.Sprintf("GF-%dK", v>>10))
			}
		})
	}
}
