package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"tinyr1/model"
)

// The shapes timed, shared with bench/torch_bench.py.
const (
	promptLen = 16  // rollout prompt tokens
	maxNew    = 64  // rollout new tokens (no EOS: all sequences run to the limit)
	scoreB    = 64  // scoring: sequences
	scoreT    = 128 // scoring: tokens per sequence (127 log-probs each)
	seed      = 1   // weights, data and sampling
)

var rolloutBatches = []int{1, 16, 64}

// minSample is the shortest timed sample of a rollout row.
const minSample = 50 * time.Millisecond

// trainShape is the training micro-batch (B, T) of a preset: B*T = 2048.
func trainShape(preset string) (B, T int) {
	if preset == "medium" {
		return 16, 128
	}
	return 32, 64
}

func modelConfig(preset string) (model.Config, error) { return model.Preset(preset, vocab()) }

// runPart runs one child part and writes its Result as one JSON line.
func runPart(w io.Writer, c config) error {
	var r *Result
	var err error
	if c.CPUProfile != "" {
		f, err := os.Create(c.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	switch c.part {
	case "kernels":
		r, err = benchKernels(c.preset, c.Threads, c.runsFor(c.preset))
		if err == nil {
			// Last, once the engines and the graph (whose helpers spin
			// between ops) are closed.
			measureCeiling(r, c.runsFor(c.preset))
		}
	case "grpo":
		r, err = benchGRPO(c.preset, c.Threads, c.grpoRunsFor(c.preset))
	}
	if err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(r)
}

// benchKernels times rollouts, scoring and a training step of a random
// model of the preset.
func benchKernels(preset string, threads, runs int) (*Result, error) {
	cfg, err := modelConfig(preset)
	if err != nil {
		return nil, err
	}
	p := model.NewParams(cfg)
	p.Init(seed)
	r := newResult("tinyr1", preset, threads, runs)
	r.Version = model.GraphBLAS
	r.Params = p.NumParams()
	rng := rand.New(rand.NewPCG(seed, 2))

	for _, B := range rolloutBatches {
		e := model.NewEngine(p, B, cfg.Context, threads)
		prompts := randSeqs(rng, B, promptLen, cfg.Vocab)
		seeds := make([]uint64, B)
		for b := range seeds {
			seeds[b] = model.SeedFor(seed, 0, b, 0)
		}
		sc := model.SampleConfig{Temperature: 1, TopP: 1, MaxNew: maxNew, EOS: -1}
		ro := model.NewRollout(B, maxNew)
		// A sample is reps Generates, enough for minSample: one batch-1
		// Generate takes about 5 ms, short enough for a single scheduler
		// hiccup to decide the sample.
		t0 := time.Now()
		if err := e.Generate(ro, prompts, seeds, sc); err != nil {
			return nil, fmt.Errorf("tinybench: rollout batch %d: %w", B, err)
		}
		reps := max(1, int(math.Ceil(minSample.Seconds()/time.Since(t0).Seconds())))
		toks := 0
		var allocs float64
		ts, err := timeRunsAllocs(runs, &allocs, nil, func() error {
			toks = 0
			for range reps {
				if err := e.Generate(ro, prompts, seeds, sc); err != nil {
					return err
				}
				for _, t := range ro.Tokens[:B] {
					toks += len(t)
				}
			}
			return nil
		})
		e.Close()
		if err != nil {
			return nil, fmt.Errorf("tinybench: rollout batch %d: %w", B, err)
		}
		r.add(fmt.Sprintf("rollout_b%d", B), "tok/s", rates(float64(toks), ts))
		if B == rolloutBatches[len(rolloutBatches)-1] {
			r.add("rollout_allocs", "allocs", []float64{allocs / float64(toks)})
		}
	}

	e := model.NewEngine(p, scoreB, cfg.Context, threads)
	seqs := randSeqs(rng, scoreB, scoreT, cfg.Vocab)
	dst := make([][]float32, scoreB)
	for b := range dst {
		dst[b] = make([]float32, scoreT-1)
	}
	ts, err := timeRuns(runs, func() error { return e.Score(dst, seqs, 1) })
	e.Close()
	if err != nil {
		return nil, fmt.Errorf("tinybench: score: %w", err)
	}
	r.add("score", "tok/s", rates(float64(scoreB*(scoreT-1)), ts))

	B, T := trainShape(preset)
	g, err := model.NewGraph(p, B, T, model.GraphOptions{})
	if err != nil {
		return nil, err
	}
	defer g.Close()
	opt, err := model.NewAdamW(p, model.DefaultAdamWConfig())
	if err != nil {
		return nil, err
	}
	for i := range g.Tokens {
		g.Tokens[i] = rng.IntN(cfg.Vocab)
		g.Targets[i] = rng.IntN(cfg.Vocab)
		g.Weights[i] = -1 / float32(len(g.Tokens)) // mean cross-entropy
	}
	var allocs, bytes float64
	ts, err = timeRunsAllocs(runs, &allocs, &bytes, func() error {
		if err := g.Step(); err != nil {
			return err
		}
		opt.Update(p.Data, g.Grads(), 1e-3)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tinybench: train step: %w", err)
	}
	r.add("train_ms", "ms", scale(1000, ts))
	r.add("train_tok_s", "tok/s", rates(float64(B*T), ts))
	r.add("train_allocs", "allocs", []float64{allocs})
	r.add("train_alloc_mb", "MB", []float64{bytes / 1e6})
	r.add("peak_rss", "MiB", []float64{peakRSS()})
	return r, nil
}

// timeRuns runs fn once to warm up, then runs times, and returns the
// seconds of each timed run.
func timeRuns(runs int, fn func() error) ([]float64, error) {
	if err := fn(); err != nil {
		return nil, err
	}
	ts := make([]float64, runs)
	return ts, timeInto(ts, fn)
}

// timeInto runs fn len(ts) times, with no warm-up, and sets ts to the
// seconds of each run.
func timeInto(ts []float64, fn func() error) error {
	for i := range ts {
		t0 := time.Now()
		if err := fn(); err != nil {
			return err
		}
		ts[i] = time.Since(t0).Seconds()
	}
	return nil
}

// timeRunsAllocs is timeRuns that also sets *allocs and *bytes (either may
// be nil) to the heap allocations per timed run (runtime.MemStats Mallocs
// and TotalAlloc, over the timed runs only).
func timeRunsAllocs(runs int, allocs, bytes *float64, fn func() error) ([]float64, error) {
	if err := fn(); err != nil {
		return nil, err
	}
	ts := make([]float64, runs)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := timeInto(ts, fn)
	runtime.ReadMemStats(&after)
	if allocs != nil {
		*allocs = float64(after.Mallocs-before.Mallocs) / float64(runs)
	}
	if bytes != nil {
		*bytes = float64(after.TotalAlloc-before.TotalAlloc) / float64(runs)
	}
	return ts, err
}

// rates returns n/t for each t.
func rates(n float64, ts []float64) []float64 {
	out := make([]float64, len(ts))
	for i, t := range ts {
		out[i] = n / t
	}
	return out
}

// scale returns k*t for each t.
func scale(k float64, ts []float64) []float64 {
	out := make([]float64, len(ts))
	for i, t := range ts {
		out[i] = k * t
	}
	return out
}

func randSeqs(rng *rand.Rand, n, length, vocab int) [][]int {
	seqs := make([][]int, n)
	for i := range seqs {
		seqs[i] = make([]int, length)
		for t := range seqs[i] {
			seqs[i][t] = rng.IntN(vocab)
		}
	}
	return seqs
}

// peakRSS is this process's peak resident set in MiB (VmHWM), or 0 where
// /proc is missing.
func peakRSS() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}

// loadAvg is the 1, 5 and 15 minute load averages, or zeros.
func loadAvg() [3]float64 {
	var l [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return l
	}
	f := strings.Fields(string(b))
	for i := 0; i < 3 && i < len(f); i++ {
		l[i], _ = strconv.ParseFloat(f[i], 64)
	}
	return l
}
