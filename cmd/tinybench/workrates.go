package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"tinyr1/model"
)

// workRows are the rows of a budget's work-rates table: the parts with a
// target ratio against PyTorch in issue #13, the FLOPs of one timed run of
// each (flops.go), and the tokens that one run's tok/s counts (0 where the
// metric is the run's time in ms).
var workRows = []struct {
	key, label string
	target     float64 // tinyr1 must be this many times faster than PyTorch (#13)
	flops      func(cfg model.Config, preset string) float64
	tokens     float64
}{
	{"rollout_b64", "rollout, batch 64", 3, func(cfg model.Config, _ string) float64 {
		return rolloutFLOPs(cfg, 64, promptLen, maxNew)
	}, 64 * maxNew},
	{"score", "scoring, 64 x 128", 2, func(cfg model.Config, _ string) float64 {
		return scoreFLOPs(cfg, scoreB, scoreT)
	}, scoreB * (scoreT - 1)},
	{"train_ms", "train step, 2048 tok", 1.3, func(cfg model.Config, preset string) float64 {
		B, T := trainShape(preset)
		return trainFLOPs(cfg, B, T)
	}, 0},
}

// workRate is the model GFLOP/s of a figure: the FLOPs of one timed run
// over the run's time (from tok/s, the tokens of a run over the rate).
func workRate(s Stat, flops, tokens float64) float64 {
	if s.Unit == "tok/s" {
		return flops / 1e9 * s.Median / tokens
	}
	return flops / 1e9 / (s.Median / 1000) // ms
}

// ceiling is the best per-core sample of a ceiling metric ("fma_peak" or
// "sgemm_l1", which tinyr1's kernels parts measure: ceiling.go) over the
// parts within a budget of cores, and the FMA loop it came from; 0 where
// none was measured.
func ceiling(rep *Report, key string, cores int) (float64, string) {
	best, loop := 0.0, ""
	for _, r := range rep.Results {
		s, ok := r.Metrics[key]
		if r.Cores > cores || !ok || len(s.Samples) == 0 {
			continue
		}
		if v := slices.Max(s.Samples); v > best {
			best, loop = v, r.FMA
		}
	}
	return best, loop
}

// writeWorkRates writes a budget's work-rates table: for rollout at batch
// 64, scoring and the training step of each preset, the model GFLOP/s of
// each side's best configuration (with rounds, the median over rounds
// of each round's best: pickBest), the rate tinyr1 would need to meet #13's
// target ratio against PyTorch, and both as a share of the budget's FMA
// peak (its cores times the per-core peak measured in this run). Then the
// ceiling figures and every target whose need is above the peak. Without
// PyTorch results only tinyr1's rates and the ceiling.
func writeWorkRates(w io.Writer, rep *Report, cores int) {
	torch := slices.ContainsFunc(rep.Results, func(r *Result) bool { return r.Impl == "pytorch" })
	perCore, loop := ceiling(rep, "fma_peak", cores)
	sgemm, _ := ceiling(rep, "sgemm_l1", cores)
	peak := float64(cores) * perCore
	pct := func(v float64) string {
		if peak <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f%%", 100*v/peak)
	}
	each := "the best configuration of each side"
	if rounds := reportRounds(rep); rounds > 1 {
		each = fmt.Sprintf("each side's figure in the budget's table, the median over %d rounds of each round's best configuration", rounds)
	}
	fmt.Fprintf(w, "Work rates, %d-core budget: model GFLOP/s of %s (matrix products only, counted from the shapes: bench/README.md).\n\n", cores, each)
	if torch {
		fmt.Fprintln(w, "| work | preset | GFLOP a run | tinyr1 GFLOP/s | tinyr1 % of peak | PyTorch GFLOP/s | target (#13) | tinyr1 would need GFLOP/s | need % of peak |")
		fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|")
	} else {
		fmt.Fprintln(w, "| work | preset | GFLOP a run | tinyr1 GFLOP/s | tinyr1 % of peak |")
		fmt.Fprintln(w, "|---|---|---:|---:|---:|")
	}
	var beyond []string
	for _, row := range workRows {
		for _, p := range reportPresets(rep) {
			cfg, err := modelConfig(p)
			if err != nil {
				continue
			}
			a, okA := pickBest(rep, "tinyr1", p, row.key, cores)
			b, okB := pickBest(rep, "pytorch", p, row.key, cores)
			if !okA && !okB {
				continue
			}
			flops := row.flops(cfg, p)
			va, pa := "-", "-"
			if okA {
				rate := workRate(a.Stat, flops, row.tokens)
				va, pa = fmtNum(rate), pct(rate)
			}
			if !torch {
				fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", row.label, p, fmtNum(flops/1e9), va, pa)
				continue
			}
			vb, need, pn := "-", "-", "-"
			if okB {
				rate := workRate(b.Stat, flops, row.tokens)
				vb, need, pn = fmtNum(rate), fmtNum(row.target*rate), pct(row.target*rate)
				if peak > 0 && row.target*rate > peak {
					beyond = append(beyond, fmt.Sprintf("%s, %s preset (%gx PyTorch): it would need %s GFLOP/s, above the %s GFLOP/s the cores can issue",
						row.label, p, row.target, fmtNum(row.target*rate), fmtNum(peak)))
				}
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %gx | %s | %s |\n", row.label, p, fmtNum(flops/1e9), va, pa, vb, row.target, need, pn)
		}
	}
	fmt.Fprintln(w)
	if peak > 0 {
		fmt.Fprintf(w, "Ceiling measured in this run (best sample of the kernels parts within the budget), a core: FMA peak %s GFLOP/s (register-only %s loop), model.Sgemm %s GFLOP/s (%d x %d x %d, cache-resident); peak of the budget %d x %s = %s GFLOP/s.",
			fmtNum(perCore), loop, fmtNum(sgemm), sgemmM, sgemmN, sgemmK, cores, fmtNum(perCore), fmtNum(peak))
	} else {
		fmt.Fprintf(w, "No FMA peak measured in this run (no assembly loop on this platform, or -tags purego); model.Sgemm %s GFLOP/s a core (%d x %d x %d, cache-resident).",
			fmtNum(sgemm), sgemmM, sgemmN, sgemmK)
	}
	switch {
	case !torch || peak <= 0:
	case len(beyond) == 0:
		fmt.Fprint(w, " Every target's need is within the FMA peak.")
	default:
		fmt.Fprintf(w, " Cannot be met on this machine: %s.", strings.Join(beyond, "; "))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
}
