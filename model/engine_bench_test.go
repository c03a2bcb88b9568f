package model

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// Rollout benchmarks at the preset sizes, vocabulary 64 (about the size of
// tinyr1's character-level tokenizer), fixed seed. Reported metrics:
//
//	tok/s    generated (decode) or scored tokens per second
//	GFLOP/s  2 * (matmul parameters) per token fed, plus attention
//	         4 * D * L * (pos+1) per token fed: prompts and completions
//
// Run: go test ./model/ -run '^$' -bench 'Decode|Score' -benchtime 3x

const benchVocab = 64

// benchFLOPs estimates the forward FLOPs of feeding positions [from, to)
// of one sequence.
func benchFLOPs(cfg Config, from, to int) float64 {
	D, M, V, L := float64(cfg.Dim), float64(cfg.MLP), float64(cfg.Vocab), float64(cfg.Layers)
	perTok := 2 * (L*(3*D*D+D*D+2*D*M) + D*V)
	f := 0.0
	for pos := from; pos < to; pos++ {
		f += perTok + 4*D*L*float64(pos+1)
	}
	return f
}

func benchEngine(b *testing.B, preset string, batch, workers int) (*Engine, Config) {
	cfg, err := Preset(preset, benchVocab)
	if err != nil {
		b.Fatal(err)
	}
	p := NewParams(cfg)
	p.Init(1)
	return NewEngine(p, batch, cfg.Context, workers), cfg
}

// BenchmarkDecode times Generate for a batch of 16-token prompts and 128
// new tokens each (no EOS), so almost all the work is KV-cache decode.
func BenchmarkDecode(b *testing.B) {
	const promptLen, maxNew = 16, 128
	for _, preset := range []string{"small", "medium"} {
		for _, batch := range []int{1, 16, 64} {
			for _, workers := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/B=%d/workers=%d", preset, batch, workers), func(b *testing.B) {
					e, cfg := benchEngine(b, preset, batch, workers)
					defer e.Close()
					rng := rand.New(rand.NewPCG(1, 2))
					prompts := engRandSeqs(rng, batch, promptLen, promptLen, cfg.Vocab)
					seeds := make([]uint64, batch)
					sc := SampleConfig{Temperature: 1, TopP: 1, MaxNew: maxNew, EOS: -1}
					ro := NewRollout(batch, maxNew)
					b.ReportAllocs()
					for b.Loop() {
						if err := e.Generate(ro, prompts, seeds, sc); err != nil {
							b.Fatal(err)
						}
					}
					s := b.Elapsed().Seconds()
					b.ReportMetric(float64(batch*maxNew*b.N)/s, "tok/s")
					b.ReportMetric(float64(batch)*benchFLOPs(cfg, 0, promptLen+maxNew-1)*float64(b.N)/s/1e9, "GFLOP/s")
				})
			}
		}
	}
}

// BenchmarkScore times Score of 64 sequences of 144 tokens (a GRPO batch of
// prompt + completion) at temperature 1.
func BenchmarkScore(b *testing.B) {
	const batch, seqLen = 64, 144
	for _, preset := range []string{"small", "medium"} {
		b.Run(preset, func(b *testing.B) {
			e, cfg := benchEngine(b, preset, batch, runtime.GOMAXPROCS(0))
			defer e.Close()
			rng := rand.New(rand.NewPCG(3, 4))
			seqs := engRandSeqs(rng, batch, seqLen, seqLen, cfg.Vocab)
			dst := engNewDst(seqs)
			b.ReportAllocs()
			for b.Loop() {
				if err := e.Score(dst, seqs, 1); err != nil {
					b.Fatal(err)
				}
			}
			s := b.Elapsed().Seconds()
			b.ReportMetric(float64(batch*(seqLen-1)*b.N)/s, "tok/s")
			b.ReportMetric(float64(batch)*benchFLOPs(cfg, 0, seqLen-1)*float64(b.N)/s/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkRollout times Generate at the shapes of cmd/tinybench's rollout
// rows (make bench): the small preset with tinyr1's vocabulary of 103,
// 16-token prompts, 64 new tokens, temperature-1 sampling.
func BenchmarkRollout(b *testing.B) {
	const vocab, promptLen, maxNew = 103, 16, 64
	for _, batch := range []int{1, 16, 64} {
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("small/B=%d/workers=%d", batch, workers), func(b *testing.B) {
				cfg := DefaultConfig(vocab)
				p := NewParams(cfg)
				p.Init(1)
				e := NewEngine(p, batch, cfg.Context, workers)
				defer e.Close()
				rng := rand.New(rand.NewPCG(1, 2))
				prompts := engRandSeqs(rng, batch, promptLen, promptLen, cfg.Vocab)
				seeds := make([]uint64, batch)
				for i := range seeds {
					seeds[i] = SeedFor(1, 0, i, 0)
				}
				sc := SampleConfig{Temperature: 1, TopP: 1, MaxNew: maxNew, EOS: -1}
				ro := NewRollout(batch, maxNew)
				b.ReportAllocs()
				for b.Loop() {
					if err := e.Generate(ro, prompts, seeds, sc); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(batch*maxNew*b.N)/b.Elapsed().Seconds(), "tok/s")
			})
		}
	}
}

// BenchmarkRolloutKnobs times Generate (16-token prompts, 64 new tokens)
// with each knob of the decode path off and on, alternately call by call
// on one worker, and reports the ratio of the medians (below 1: on is
// faster): Sgemm's prefetch of the next in-place weight panel
// (sgemmPrefetch), the attention scores' scaling and shift 8 lanes at a
// time (softmaxAsm), LayerNorm's element-wise pass 8 lanes at a time
// (layerNormAsm) and the weights packed once per call (enginePrepack).
// Each gives the same bits either way.
func BenchmarkRolloutKnobs(b *testing.B) {
	for _, knob := range []struct {
		name string
		v    *bool
	}{{"prefetch", &sgemmPrefetch}, {"softmax", &softmaxAsm}, {"layernorm", &layerNormAsm}, {"prepack", &enginePrepack}} {
		for _, preset := range []string{"small", "medium"} {
			for _, batch := range []int{16, 64} {
				b.Run(fmt.Sprintf("%s/%s/B%d", knob.name, preset, batch), func(b *testing.B) {
					defer func(v bool) { *knob.v = v }(*knob.v)
					cfg, err := Preset(preset, 103)
					if err != nil {
						b.Fatal(err)
					}
					p := NewParams(cfg)
					p.Init(1)
					e := NewEngine(p, batch, cfg.Context, 1)
					defer e.Close()
					rng := rand.New(rand.NewPCG(1, 2))
					prompts := engRandSeqs(rng, batch, 16, 16, cfg.Vocab)
					seeds := make([]uint64, batch)
					for i := range seeds {
						seeds[i] = SeedFor(1, 0, i, 0)
					}
					sc := SampleConfig{Temperature: 1, TopP: 1, MaxNew: 64, EOS: -1}
					ro := NewRollout(batch, 64)
					var t [2][]float64
					for b.Loop() {
						for i, on := range []bool{false, true} {
							*knob.v = on
							w0 := time.Now()
							if err := e.Generate(ro, prompts, seeds, sc); err != nil {
								b.Fatal(err)
							}
							t[i] = append(t[i], time.Since(w0).Seconds())
						}
					}
					b.ReportMetric(sgemmMedian(t[1])/sgemmMedian(t[0]), "x-on")
				})
			}
		}
	}
}

// BenchmarkScoreKnobs times Score of 64 sequences of 144 tokens (as
// BenchmarkScore) with each knob of the scoring path off and on,
// alternately call by call on one worker, and reports the ratio of the
// medians (below 1: on is faster): the weights packed once per call
// (enginePrepack) rather than for every chunk's matmul, attention over
// runs of six rows as register-tiled products (attnGemm), LayerNorm's
// element-wise pass (layerNormAsm) and the log-softmax's float64 exps 4
// lanes at a time (exp64Asm). Each gives the same bits either way.
func BenchmarkScoreKnobs(b *testing.B) {
	const batch, seqLen = 64, 144
	for _, knob := range []struct {
		name string
		v    *bool
	}{{"prepack", &enginePrepack}, {"attngemm", &attnGemm}, {"layernorm", &layerNormAsm}, {"exp64", &exp64Asm}} {
		for _, preset := range []string{"small", "medium"} {
			b.Run(fmt.Sprintf("%s/%s", knob.name, preset), func(b *testing.B) {
				defer func(v bool) { *knob.v = v }(*knob.v)
				e, cfg := benchEngine(b, preset, batch, 1)
				defer e.Close()
				rng := rand.New(rand.NewPCG(3, 4))
				seqs := engRandSeqs(rng, batch, seqLen, seqLen, cfg.Vocab)
				dst := engNewDst(seqs)
				var t [2][]float64
				for b.Loop() {
					for i, on := range []bool{false, true} {
						*knob.v = on
						w0 := time.Now()
						if err := e.Score(dst, seqs, 1); err != nil {
							b.Fatal(err)
						}
						t[i] = append(t[i], time.Since(w0).Seconds())
					}
				}
				b.ReportMetric(sgemmMedian(t[1])/sgemmMedian(t[0]), "x-on")
			})
		}
	}
}
