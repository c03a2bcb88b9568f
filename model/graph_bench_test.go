package model

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// BenchmarkTrainStep times one training step (forward, backward, AdamW) on
// 2048 tokens and reports ms/step, tokens/s and GFLOP/s by the 6*params*tokens
// rule. The graph runs on the executor (graph_exec.go): 0 allocations per
// step once warm (TestGraphStepAllocs); BenchmarkTrainStepTape is the same
// step on gorgonia's tape machine, which reallocates every intermediate.
func BenchmarkTrainStep(b *testing.B) {
	for _, bc := range []struct {
		name   string
		preset string
		B, T   int
	}{
		{"small/B32xT64", "small", 32, 64},
		{"medium/B16xT128", "medium", 16, 128},
	} {
		b.Run(bc.name, func(b *testing.B) { benchTrainStep(b, bc.preset, bc.B, bc.T, false) })
	}
}

// BenchmarkTrainStepTape is BenchmarkTrainStep on gorgonia's tape machine
// (the executor's reference), small preset only.
func BenchmarkTrainStepTape(b *testing.B) {
	b.Run("small/B32xT64", func(b *testing.B) { benchTrainStep(b, "small", 32, 64, true) })
}

// benchGraph builds a preset's model (vocabulary 103, seed 1), a graph of
// B x T on random tokens and targets under the mean cross-entropy (closed
// when the benchmark ends) and an AdamW for it.
func benchGraph(b *testing.B, preset string, B, T int, opts GraphOptions) (*Params, *Graph, *AdamW) {
	cfg, err := Preset(preset, 103)
	if err != nil {
		b.Fatal(err)
	}
	p := NewParams(cfg)
	p.Init(1)
	g, err := NewGraph(p, B, T, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { g.Close() })
	o, err := NewAdamW(p, DefaultAdamWConfig())
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range g.Tokens {
		g.Tokens[i] = 1 + rng.IntN(cfg.Vocab-1)
	}
	for i := range g.Targets {
		g.Targets[i] = 1 + rng.IntN(cfg.Vocab-1)
		g.Weights[i] = -1 / float32(len(g.Targets))
	}
	return p, g, o
}

func benchTrainStep(b *testing.B, preset string, B, T int, tape bool) {
	p, g, o := benchGraph(b, preset, B, T, GraphOptions{tape: tape})
	// One step first: the executor's scratch (attention, column sums,
	// Sgemm's packing) grows on it, so allocs/op is the steady state.
	if err := g.Step(); err != nil {
		b.Fatal(err)
	}
	o.Update(p.Data, g.Grads(), 1e-4)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if err := g.Step(); err != nil {
			b.Fatal(err)
		}
		o.Update(p.Data, g.Grads(), 1e-4)
	}
	sec := time.Since(start).Seconds() / float64(b.N)
	tokens := float64(B * T)
	b.ReportMetric(sec*1e3, "ms/step")
	b.ReportMetric(tokens/sec, "tokens/s")
	b.ReportMetric(6*float64(p.NumParams())*tokens/sec/1e9, "GFLOP/s")
}

// BenchmarkAdamWUpdate times the optimizer alone on the small preset.
func BenchmarkAdamWUpdate(b *testing.B) {
	p, o, grads := benchOptimizer(b, "small")
	b.ReportAllocs()
	b.SetBytes(int64(16 * len(p.Data))) // read p, g, m, v; write p, g, m, v
	b.ResetTimer()
	for range b.N {
		grads[0] = 1
		o.Update(p.Data, grads, 1e-4)
	}
}

// benchOptimizer is a preset's model (vocabulary 103, seed 1), an AdamW
// for it and a zero gradient.
func benchOptimizer(b *testing.B, preset string) (*Params, *AdamW, []float32) {
	cfg, err := Preset(preset, 103)
	if err != nil {
		b.Fatal(err)
	}
	p := NewParams(cfg)
	p.Init(1)
	o, err := NewAdamW(p, DefaultAdamWConfig())
	if err != nil {
		b.Fatal(err)
	}
	return p, o, make([]float32, len(p.Data))
}

// BenchmarkAdamWAsm times Update on each preset's arena with its step 8
// elements at a time (adamwArr) and one at a time (adamwGo), alternately
// call by call, and reports the median ms of each and their ratio.
func BenchmarkAdamWAsm(b *testing.B) {
	defer func(v bool) { adamwAsm = v }(adamwAsm)
	for _, preset := range []string{"small", "medium"} {
		p, o, grads := benchOptimizer(b, preset)
		b.Run(preset, func(b *testing.B) {
			var t [2][]float64
			for b.Loop() {
				for i, on := range []bool{false, true} {
					adamwAsm = on
					grads[0] = 1
					w0 := time.Now()
					o.Update(p.Data, grads, 1e-4)
					t[i] = append(t[i], time.Since(w0).Seconds())
				}
			}
			b.ReportMetric(sgemmMedian(t[0])*1e3, "go-ms")
			b.ReportMetric(sgemmMedian(t[1])*1e3, "asm-ms")
			b.ReportMetric(sgemmMedian(t[1])/sgemmMedian(t[0]), "x-go")
		})
	}
}

// BenchmarkTrainStepByOp runs the executor's ops of a training step one by
// one and reports the mean ms a step of each kind of op (MatMul,
// CausalAttention, FusedLayerNorm, ...), summed over its instances: where
// a step's time goes. AdamW and the gradients' accumulation into Grads are
// not ops of the graph and are not in it.
func BenchmarkTrainStepByOp(b *testing.B) {
	for _, bc := range []struct {
		preset string
		B, T   int
	}{{"small", 32, 64}, {"medium", 16, 128}} {
		b.Run(bc.preset, func(b *testing.B) {
			_, g, _ := benchGraph(b, bc.preset, bc.B, bc.T, GraphOptions{})
			if err := g.Step(); err != nil {
				b.Fatal(err)
			}
			x := g.train.exec
			names := make([]string, len(x.steps))
			for i, s := range x.steps {
				names[i] = fmt.Sprint(s.node.Op())
				if j := strings.IndexAny(names[i], "{("); j > 0 {
					names[i] = names[i][:j]
				}
			}
			sec := map[string]float64{}
			for b.Loop() {
				for i := range x.steps {
					s := &x.steps[i]
					t0 := time.Now()
					if err := s.op.into(x.pool, s.out, s.in); err != nil {
						b.Fatal(err)
					}
					sec[names[i]] += time.Since(t0).Seconds()
				}
			}
			total := 0.0
			for name, v := range sec {
				b.ReportMetric(v/float64(b.N)*1e3, "ms-"+strings.ReplaceAll(name, " ", ""))
				total += v
			}
			b.ReportMetric(total/float64(b.N)*1e3, "ms-ops")
		})
	}
}

// BenchmarkTrainStepKnobs times a training step (with AdamW) with each
// vector kernel that has a knob on and off, alternately step by step, and
// reports the median ms of each and their ratio (below 1: the kernel is
// faster): AdamW's update (adamwAsm), the attention softmax
// (softmaxAsm), LayerNorm's element-wise passes, forward and backward
// (layerNormAsm), and the loss's float64 exps 4 lanes at a time
// (exp64Asm). Each gives the same bits either way.
func BenchmarkTrainStepKnobs(b *testing.B) {
	for _, knob := range []struct {
		name string
		v    *bool
	}{{"adamw", &adamwAsm}, {"softmax", &softmaxAsm}, {"layernorm", &layerNormAsm}, {"exp64", &exp64Asm}} {
		for _, bc := range []struct {
			preset string
			B, T   int
		}{{"small", 32, 64}, {"medium", 16, 128}} {
			b.Run(knob.name+"/"+bc.preset, func(b *testing.B) {
				defer func(v bool) { *knob.v = v }(*knob.v)
				benchStepAlternate(b, bc.preset, bc.B, bc.T, func(on bool) { *knob.v = on })
			})
		}
	}
}

// benchStepAlternate runs training steps of a preset alternately with
// set(false) and set(true) and reports the median ms of each and their
// ratio.
func benchStepAlternate(b *testing.B, preset string, B, T int, set func(on bool)) {
	p, g, o := benchGraph(b, preset, B, T, GraphOptions{})
	if err := g.Step(); err != nil { // the executor's scratch grows on the first step
		b.Fatal(err)
	}
	var t [2][]float64
	for b.Loop() {
		for i, on := range []bool{false, true} {
			set(on)
			w0 := time.Now()
			if err := g.Step(); err != nil {
				b.Fatal(err)
			}
			o.Update(p.Data, g.Grads(), 1e-4)
			t[i] = append(t[i], time.Since(w0).Seconds())
		}
	}
	b.ReportMetric(sgemmMedian(t[0])*1e3, "off-ms")
	b.ReportMetric(sgemmMedian(t[1])*1e3, "on-ms")
	b.ReportMetric(sgemmMedian(t[1])/sgemmMedian(t[0]), "x-on")
}
