package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"tinyr1/checkpoints"
	"tinyr1/model"
	"tinyr1/rl/train"
)

// The GRPO step timed: P prompts x G completions of up to grpoMaxNew new
// tokens, one update pass (mu = 1), default tasks and loss.
const (
	grpoPrompts = 16
	grpoGroup   = 8
	grpoMaxNew  = 48
)

// benchGRPO times full GRPO steps of the preset through train.Trainer, from a
// checkpoint written by one supervised step (a nearly random model, which
// rarely emits EOS: completions mostly run to grpoMaxNew, the worst case).
// The first step is a warm-up (it builds the engines and the graph); the
// breakdown is the trainer's own per-step metrics.
func benchGRPO(preset string, threads, runs int) (*Result, error) {
	dir, err := os.MkdirTemp("", "tinybench-grpo-")
	if err != nil {
		return nil, fmt.Errorf("tinybench: %w", err)
	}
	defer os.RemoveAll(dir)

	sft := train.DefaultSFTConfig()
	sft.Preset, sft.Steps, sft.BatchSize, sft.MicroBatch = preset, 1, 8, 8
	sft.EvalEvery, sft.SaveEvery, sft.Workers = 0, 1, threads
	if _, err := runTrainer(filepath.Join(dir, "sft"), func() (*train.Trainer, error) { return train.NewSFT(sft, "bench-init") }); err != nil {
		return nil, err
	}
	init, err := checkpoints.OpenRun(filepath.Join(dir, "sft")).Latest()
	if err != nil {
		return nil, err
	}

	cfg := train.DefaultTrainConfig()
	cfg.Prompts, cfg.Group, cfg.MaxNew, cfg.Mu = grpoPrompts, grpoGroup, grpoMaxNew, 1
	cfg.Steps = 1 + runs
	cfg.EvalEvery, cfg.SaveEvery, cfg.Workers = 0, cfg.Steps, threads
	var params int
	steps, err := runTrainer(filepath.Join(dir, "grpo"), func() (*train.Trainer, error) {
		t, err := train.NewGRPO(cfg, init, "bench")
		if err == nil {
			params = t.Params.NumParams()
		}
		return t, err
	})
	if err != nil {
		return nil, err
	}
	if len(steps) != cfg.Steps {
		return nil, fmt.Errorf("tinybench: grpo wrote %d metric lines: want %d", len(steps), cfg.Steps)
	}
	steps = steps[1:] // warm-up

	r := newResult("tinyr1", preset, threads, runs)
	r.Version, r.Params = model.GraphBLAS, params
	for _, m := range []struct{ key, name, unit string }{
		{"time_step", "grpo_step", "s"},
		{"time_rollout", "grpo_rollout", "s"},
		{"time_reference", "grpo_reference", "s"},
		{"time_update", "grpo_update", "s"},
		{"tokens_per_s", "grpo_tok_s", "tok/s"},
		{"tokens_rollout", "grpo_rollout_tokens", "tokens"},
	} {
		xs := make([]float64, len(steps))
		for i, s := range steps {
			v, ok := s[m.key].(float64)
			if !ok {
				return nil, fmt.Errorf("tinybench: grpo step metrics have no number %q: got %v", m.key, s[m.key])
			}
			xs[i] = v
		}
		r.add(m.name, m.unit, xs)
	}
	r.add("grpo_peak_rss", "MiB", []float64{peakRSS()})
	return r, nil
}

// runTrainer runs a trainer made by mk in a new run folder and returns its
// per-step metrics.
func runTrainer(dir string, mk func() (*train.Trainer, error)) ([]map[string]any, error) {
	t, err := mk()
	if err != nil {
		return nil, err
	}
	defer t.Close()
	run, err := checkpoints.CreateRun(dir, false)
	if err != nil {
		return nil, err
	}
	t.Run = run
	err = t.Train()
	if cerr := run.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("tinybench: %w", err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return nil, fmt.Errorf("tinybench: %s: %w", f.Name(), err)
		}
		out = append(out, m)
	}
	return out, sc.Err()
}
