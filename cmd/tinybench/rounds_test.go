package main

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestKernelPlan: round by round, every preset and budget; within a
// budget the configurations new to it, tinyr1's first in odd rounds
// (1st, 3rd) and PyTorch's first in even ones (2nd).
func TestKernelPlan(t *testing.T) {
	str := func(plan []kernelStep) []string {
		var out []string
		for _, s := range plan {
			out = append(out, fmt.Sprintf("r%d %s %dc %s %d,%d", s.Round, s.Preset, s.Cores, s.Impl, s.Threads[0], s.Threads[1]))
		}
		return out
	}
	round := func(r int, tinyFirst bool) []string {
		p := fmt.Sprintf("r%d small ", r)
		one := []string{p + "1c tinyr1 1,0", p + "1c pytorch 1,1"}
		two := []string{p + "2c tinyr1 2,0", p + "2c pytorch 1,2", p + "2c pytorch 2,1", p + "2c pytorch 2,2"}
		if !tinyFirst {
			one = []string{one[1], one[0]}
			two = append(two[1:], two[0])
		}
		return append(one, two...)
	}
	want := slices.Concat(round(0, true), round(1, false), round(2, true))
	if got := str(kernelPlan([]string{"small"}, []int{1, 2}, 3, true)); !slices.Equal(got, want) {
		t.Errorf("kernelPlan, 3 rounds =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Presets within a round, and without PyTorch tinyr1's parts only.
	want = []string{"r0 small 1c tinyr1 1,0", "r0 medium 1c tinyr1 1,0", "r1 small 1c tinyr1 1,0", "r1 medium 1c tinyr1 1,0"}
	if got := str(kernelPlan([]string{"small", "medium"}, []int{1}, 2, false)); !slices.Equal(got, want) {
		t.Errorf("kernelPlan without PyTorch = %q, want %q", got, want)
	}
	// One round is the harness before rounds.
	want = round(0, true)
	if got := str(kernelPlan([]string{"small"}, []int{1, 2}, 1, true)); !slices.Equal(got, want) {
		t.Errorf("kernelPlan, 1 round = %q, want %q", got, want)
	}
}

// roundsReport is a report of 3 rounds on a 2-core budget whose best
// configurations differ between rounds. Rollout at batch 64 (tok/s):
// tinyr1's bests 1200 (2 workers), 1500 (1 worker), 1560 (2 workers),
// PyTorch's 1000, 1000, 1200: per-round ratios 1.2, 1.5, 1.3, so the
// median ratio is 1.30, not the 1.50 of the medians (1500/1000). Training
// step (ms): tinyr1's bests 100, 110, 90 (2 workers twice), PyTorch's 130
// (torch 1 x OpenBLAS 1), 121 (2 x 2), 108 (1 x 2): a three-way tie, so
// the first; ratios 1.30, 1.10, 1.20, median 1.20 (of the medians:
// 121/100 = 1.21). Allocations per train step 0, 2, 0. The GRPO step
// runs in the first round only.
func roundsReport() *Report {
	res := func(round int, impl, config string, cores int, tok, ms float64) *Result {
		r := &Result{Impl: impl, Preset: "small", Cores: cores, Config: config, Runs: 3, Round: round, Metrics: map[string]Stat{
			"rollout_b64": {Median: tok, Unit: "tok/s"}, "train_ms": {Median: ms, Unit: "ms"}}}
		if impl == "tinyr1" {
			r.Metrics["train_allocs"] = Stat{Median: float64(2 * (round % 2)), Unit: "allocs"}
		}
		return r
	}
	return &Report{Budgets: []int{1, 2}, Results: []*Result{
		res(0, "tinyr1", "1 worker", 1, 1000, 200),
		res(0, "tinyr1", "2 workers", 2, 1200, 100),
		res(0, "pytorch", "torch 1 x OpenBLAS 1", 1, 1000, 130),
		res(0, "pytorch", "torch 2 x OpenBLAS 2", 2, 900, 150),
		res(0, "pytorch", "torch 1 x OpenBLAS 2", 2, 950, 160),
		res(1, "pytorch", "torch 1 x OpenBLAS 1", 1, 800, 200),
		res(1, "pytorch", "torch 2 x OpenBLAS 2", 2, 1000, 121),
		res(1, "pytorch", "torch 1 x OpenBLAS 2", 2, 990, 130),
		res(1, "tinyr1", "1 worker", 1, 1500, 120),
		res(1, "tinyr1", "2 workers", 2, 1400, 110),
		res(2, "tinyr1", "1 worker", 1, 1100, 150),
		res(2, "tinyr1", "2 workers", 2, 1560, 90),
		res(2, "pytorch", "torch 1 x OpenBLAS 1", 1, 900, 140),
		res(2, "pytorch", "torch 2 x OpenBLAS 2", 2, 1200, 150),
		res(2, "pytorch", "torch 1 x OpenBLAS 2", 2, 1000, 108),
		{Impl: "tinyr1", Preset: "small", Cores: 2, Config: "2 workers", Runs: 3, Metrics: map[string]Stat{
			"grpo_step": {Median: 1.5, Unit: "s"}}},
	}}
}

// TestWriteTableRounds: with rounds, each side's figure is the median of
// each round's best, its configuration the one best in most rounds, the
// ratio the median of the per-round ratios with their range; the work
// rates and the configurations table use the medians over rounds.
func TestWriteTableRounds(t *testing.T) {
	rep := roundsReport()
	var tab, work, all bytes.Buffer
	writeTable(&tab, rep, 2)
	writeWorkRates(&work, rep, 2)
	writeConfigs(&all, rep)
	for _, w := range []struct {
		buf  *bytes.Buffer
		want string
	}{
		{&tab, "best configuration of each side in each of 3 rounds of the kernels parts, the sides' order alternating (tinyr1 first in odd rounds, PyTorch in even ones)"},
		{&tab, "| ratio (>1: tinyr1 faster/smaller) | ratio min-max over rounds |\n|---|---|---:|---|---:|---|---:|---:|\n"},
		{&tab, "| rollout tok/s, batch 64 | small | 1500 | 2 workers | 1000 | torch 2 x OpenBLAS 2 | 1.30 | 1.20-1.50 |\n"},
		{&tab, "| train step ms, 2048 tok | small | 100 | 2 workers | 121 | torch 1 x OpenBLAS 1 | 1.20 | 1.10-1.30 |\n"},
		{&tab, "| heap allocations per train step | small | 2.00 | 1 worker | - | - | - | - |\n"},
		{&tab, "| GRPO step s, P=16 G=8 new<=48 | small | 1.50 | 2 workers | - | - | - | - |\n"},
		{&tab, "Command: make bench  (go run ./cmd/tinybench --torch --out runs/bench --rounds 3)\n"},
		{&work, "the median over 3 rounds of each round's best configuration"},
		{&work, fmt.Sprintf("| rollout, batch 64 | small | %s | %s | - | %s |", fmtNum(rollFLOPs()/1e9), fmtNum(rollFLOPs()/1e9*1500/(64*maxNew)), fmtNum(rollFLOPs()/1e9*1000/(64*maxNew)))},
		{&all, "the median over 3 rounds of each figure"},
		// 1 worker: 1000, 1500, 1100; 2 workers: 1200, 1400, 1560; ...
		{&all, "| rollout tok/s, batch 64 | small | 1100 | 1400 | 900 | 1000 | 990 |\n"},
	} {
		if !strings.Contains(w.buf.String(), w.want) {
			t.Errorf("output lacks %q:\n%s", w.want, w.buf.String())
		}
	}

	// One round: the table of the harness before rounds, no range column.
	rep.Results = slices.DeleteFunc(rep.Results, func(r *Result) bool { return r.Round > 0 })
	var one bytes.Buffer
	writeTable(&one, rep, 2)
	if want := "| ratio (>1: tinyr1 faster/smaller) |\n|---|---|---:|---|---:|---|---:|\n"; !strings.Contains(one.String(), want) {
		t.Errorf("1-round table lacks %q:\n%s", want, one.String())
	}
	if want := "| rollout tok/s, batch 64 | small | 1200 | 2 workers | 1000 | torch 1 x OpenBLAS 1 | 1.20 |\n"; !strings.Contains(one.String(), want) {
		t.Errorf("1-round table lacks %q:\n%s", want, one.String())
	}
	if strings.Contains(one.String(), "round") {
		t.Errorf("1-round table mentions rounds:\n%s", one.String())
	}
}

func rollFLOPs() float64 {
	cfg, err := modelConfig("small")
	if err != nil {
		panic(err)
	}
	return rolloutFLOPs(cfg, 64, promptLen, maxNew)
}

// TestMedian: odd and even counts; the argument is left as it was.
func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		v    []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{1.5, 1.2, 1.3}, 1.3},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		v := slices.Clone(tc.v)
		if got := median(v); got != tc.want || !slices.Equal(v, tc.v) {
			t.Errorf("median(%v) = %g (argument now %v), want %g", tc.v, got, v, tc.want)
		}
	}
}

// TestRoundRatios: rounds pair by number, a round one side lacks is left
// out, and the ratio is above 1 when tinyr1 is better, for a time and for
// a rate (tok/s, GFLOP/s).
func TestRoundRatios(t *testing.T) {
	a := pick{Stat: Stat{Unit: "ms", Samples: []float64{100, 200, 50}}, rounds: []int{0, 1, 2}}
	b := pick{Stat: Stat{Unit: "ms", Samples: []float64{150, 100}}, rounds: []int{0, 2}}
	if got, want := roundRatios(a, b), []float64{1.5, 2}; !slices.Equal(got, want) {
		t.Errorf("roundRatios, ms = %v, want %v", got, want)
	}
	for _, unit := range []string{"tok/s", "GFLOP/s"} {
		a.Unit, b.Unit = unit, unit
		if got, want := roundRatios(a, b), []float64{100.0 / 150, 0.5}; !slices.Equal(got, want) {
			t.Errorf("roundRatios, %s = %v, want %v", unit, got, want)
		}
	}
}
