package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestWriteWorkRates: the work-rates table from known GFLOP/s. The figures
// are set so that each side runs at a round rate: on one core tinyr1 at
// 60 (train), 90 (rollout) and 45 (scoring) GFLOP/s, PyTorch (the
// torch_openblas.json fixture) at 50, 40 and 30; the FMA peak's best
// sample is 100 a core. So on one core the training step needs 1.3 x 50
// = 65 GFLOP/s, 65% of the peak, and rollout 3 x 40 = 120, above it. The
// 2-core configuration's best sample, 110, counts on two cores only (peak
// 220): there rollout needs 120/220 = 55% and every need fits.
func TestWriteWorkRates(t *testing.T) {
	cfg, err := modelConfig("small")
	if err != nil {
		t.Fatal(err)
	}
	B, T := trainShape("small")
	train := trainFLOPs(cfg, B, T)
	roll := rolloutFLOPs(cfg, 64, promptLen, maxNew)
	score := scoreFLOPs(cfg, scoreB, scoreT)
	// metrics gives the figures that run at these GFLOP/s.
	metrics := func(trainG, rollG, scoreG float64) map[string]Stat {
		return map[string]Stat{
			"train_ms":    {Median: train / 1e9 / trainG * 1000, Unit: "ms"},
			"rollout_b64": {Median: rollG * 1e9 * 64 * maxNew / roll, Unit: "tok/s"},
			"score":       {Median: scoreG * 1e9 * scoreB * (scoreT - 1) / score, Unit: "tok/s"},
		}
	}
	one := &Result{Impl: "tinyr1", Preset: "small", Cores: 1, Config: "1 worker", FMA: "AVX2 ymm", Metrics: metrics(60, 90, 45)}
	one.Metrics["fma_peak"] = Stat{Median: 95, Samples: []float64{90, 100, 95}, Unit: "GFLOP/s"}
	one.Metrics["sgemm_l1"] = Stat{Median: 82, Samples: []float64{80, 84, 82}, Unit: "GFLOP/s"}
	two := &Result{Impl: "tinyr1", Preset: "small", Cores: 2, Config: "2 workers", FMA: "AVX2 ymm", Metrics: metrics(70, 150, 80)}
	two.Metrics["fma_peak"] = Stat{Median: 98, Samples: []float64{98, 110}, Unit: "GFLOP/s"}
	torch := readTorch(t, "torch_openblas.json")
	torch.Preset, torch.Cores, torch.Config, torch.Metrics = "small", 1, torch.BLAS.label(), metrics(50, 40, 30)
	rep := &Report{Budgets: []int{1, 2}, Results: []*Result{one, two, torch}}

	gflop := func(f float64) string { return fmtNum(f / 1e9) }
	var b1, b2 bytes.Buffer
	writeWorkRates(&b1, rep, 1)
	writeWorkRates(&b2, rep, 2)
	for _, w := range []struct {
		buf  *bytes.Buffer
		want string
	}{
		{&b1, "| train step, 2048 tok | small | " + gflop(train) + " | 60.0 | 60% | 50.0 | 1.3x | 65.0 | 65% |"},
		{&b1, "| rollout, batch 64 | small | " + gflop(roll) + " | 90.0 | 90% | 40.0 | 3x | 120 | 120% |"},
		{&b1, "| scoring, 64 x 128 | small | " + gflop(score) + " | 45.0 | 45% | 30.0 | 2x | 60.0 | 60% |"},
		{&b1, "FMA peak 100 GFLOP/s (register-only AVX2 ymm loop), model.Sgemm 84.0 GFLOP/s (48 x 64 x 128, cache-resident); peak of the budget 1 x 100 = 100 GFLOP/s."},
		{&b1, " Cannot be met on this machine: rollout, batch 64, small preset (3x PyTorch): it would need 120 GFLOP/s, above the 100 GFLOP/s the cores can issue.\n"},
		{&b2, "| rollout, batch 64 | small | " + gflop(roll) + " | 150 | 68% | 40.0 | 3x | 120 | 55% |"},
		{&b2, "| train step, 2048 tok | small | " + gflop(train) + " | 70.0 | 32% | 50.0 | 1.3x | 65.0 | 30% |"},
		{&b2, "FMA peak 110 GFLOP/s (register-only AVX2 ymm loop), model.Sgemm 84.0 GFLOP/s (48 x 64 x 128, cache-resident); peak of the budget 2 x 110 = 220 GFLOP/s. Every target's need is within the FMA peak.\n"},
	} {
		if !strings.Contains(w.buf.String(), w.want) {
			t.Errorf("work rates lack %q:\n%s", w.want, w.buf.String())
		}
	}

	// best, like the table, takes the highest GFLOP/s median.
	if s, _, _ := best(rep, "tinyr1", "small", "fma_peak", 2, 0); s.Median != 98 {
		t.Errorf("best fma_peak median on 2 cores = %g, want 98", s.Median)
	}

	// Without PyTorch: tinyr1's rates and the ceiling, no targets.
	rep.Results = rep.Results[:2]
	var alone bytes.Buffer
	writeWorkRates(&alone, rep, 1)
	for _, want := range []string{
		"| work | preset | GFLOP a run | tinyr1 GFLOP/s | tinyr1 % of peak |\n",
		"| train step, 2048 tok | small | " + gflop(train) + " | 60.0 | 60% |\n",
		"FMA peak 100 GFLOP/s",
	} {
		if !strings.Contains(alone.String(), want) {
			t.Errorf("work rates without PyTorch lack %q:\n%s", want, alone.String())
		}
	}
	for _, not := range []string{"PyTorch GFLOP/s", "target", "Cannot be met", "Every target"} {
		if strings.Contains(alone.String(), not) {
			t.Errorf("work rates without PyTorch say %q:\n%s", not, alone.String())
		}
	}

	// Without an FMA peak (another platform, purego): no shares of it.
	delete(one.Metrics, "fma_peak")
	delete(two.Metrics, "fma_peak")
	var none bytes.Buffer
	writeWorkRates(&none, rep, 1)
	for _, want := range []string{"| train step, 2048 tok | small | " + gflop(train) + " | 60.0 | - |\n", "No FMA peak measured in this run"} {
		if !strings.Contains(none.String(), want) {
			t.Errorf("work rates without a peak lack %q:\n%s", want, none.String())
		}
	}
}
