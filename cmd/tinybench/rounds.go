package main

import "slices"

// Rounds (--rounds). On a shared machine the load drifts between the
// minutes in which one side's part of a row runs and those of the other's,
// and two runs of the harness disagreed by up to 25% (1 core) and 40%
// (2 cores) on single ratios. So the kernels parts of both sides can run
// in rounds, their order alternating, and the tables give each ratio as
// the median of the per-round ratios with its range: one run of the
// harness shows how stable each ratio is.

// kernelStep is one kernels part of the harness: one side in one thread
// configuration, pinned to a budget of cores, in one round.
type kernelStep struct {
	Round   int    // 0-based
	Preset  string // model preset
	Cores   int    // the budget it runs pinned to
	Impl    string // "tinyr1" or "pytorch"
	Threads [2]int // tinyr1: workers, 0; PyTorch: torch threads, OpenBLAS threads
}

// sidesOrder is the order of the sides in a round (0-based): tinyr1 first
// in odd rounds (the 1st, 3rd, ...), PyTorch first in even ones, so that
// a drift of the machine's load favours neither side.
func sidesOrder(round int) [2]string {
	if round%2 == 1 {
		return [2]string{"pytorch", "tinyr1"}
	}
	return [2]string{"tinyr1", "pytorch"}
}

// kernelPlan is the kernels parts in the order they run. Each round runs
// every preset and budget; within a budget each side runs the
// configurations new to it (tinyr1: as many workers as cores, fewer having
// run on a smaller budget; PyTorch: torchConfigs), the sides in the
// round's order. Without torch, tinyr1's parts only.
func kernelPlan(presets []string, budgets []int, rounds int, torch bool) []kernelStep {
	var out []kernelStep
	for round := range rounds {
		for _, preset := range presets {
			prev := 0
			for _, cores := range budgets {
				for _, impl := range sidesOrder(round) {
					switch {
					case impl == "tinyr1":
						for w := prev + 1; w <= cores; w++ {
							out = append(out, kernelStep{round, preset, cores, impl, [2]int{w, 0}})
						}
					case torch:
						for _, tc := range torchConfigs(prev, cores) {
							out = append(out, kernelStep{round, preset, cores, impl, tc})
						}
					}
				}
				prev = cores
			}
		}
	}
	return out
}

// reportRounds is the number of rounds of a report: 1 for files written
// before rounds, whose results carry none.
func reportRounds(rep *Report) int {
	n := 1
	for _, r := range rep.Results {
		n = max(n, r.Round+1)
	}
	return n
}

// pick is one side's figure for a row of a budget's tables.
type pick struct {
	// Median is the median over rounds of each round's best figure (the
	// worst over rounds for allocation rows, so that a zero holds in every
	// round); Samples are those per-round figures, in the order of rounds.
	Stat
	Config string // the configuration best in most rounds, the earliest on a tie
	rounds []int  // the round of each sample
}

// pickBest is one side's figure for a metric and preset within a budget of
// cores: in each round its best configuration (best), then the median over
// rounds. A tinyr1 breakdown row (followKey) takes, in each round, the
// figure of the configuration best at its total. Rounds without a result
// (the GRPO parts run in the first only) are left out.
func pickBest(rep *Report, impl, preset, key string, cores int) (pick, bool) {
	var out pick
	count := map[string]int{}
	var configs []string // in the order first seen
	for round := range reportRounds(rep) {
		s, r, ok := best(rep, impl, preset, key, cores, round)
		if !ok {
			continue
		}
		if follow := followKey(key); follow != "" && impl == "tinyr1" {
			if _, rt, ok := best(rep, impl, preset, follow, cores, round); ok {
				s, r = rt.Metrics[key], rt
			}
		}
		out.Unit = s.Unit
		out.Samples = append(out.Samples, s.Median)
		out.rounds = append(out.rounds, round)
		if count[r.Config] == 0 {
			configs = append(configs, r.Config)
		}
		count[r.Config]++
	}
	if len(out.Samples) == 0 {
		return out, false
	}
	out.Median = median(out.Samples)
	if out.Unit == "allocs" || out.Unit == "MB" {
		out.Median = slices.Max(out.Samples)
	}
	for _, c := range configs {
		if count[c] > count[out.Config] {
			out.Config = c
		}
	}
	return out, true
}

// roundRatios is the ratio of tinyr1's figure a to PyTorch's b in each
// round where both have one, above 1 when tinyr1 is better: a/b for rates
// (tok/s, GFLOP/s, as in best), b/a for times and memory; none for token
// counts or a figure of 0.
func roundRatios(a, b pick) []float64 {
	var out []float64
	for i, round := range a.rounds {
		j := slices.Index(b.rounds, round)
		if j < 0 {
			continue
		}
		x, y := a.Samples[i], b.Samples[j]
		if x <= 0 || y <= 0 {
			continue
		}
		switch a.Unit {
		case "tok/s", "GFLOP/s":
			out = append(out, x/y)
		case "tokens":
		default: // times and memory: lower is better
			out = append(out, y/x)
		}
	}
	return out
}

// median of v, the mean of the middle two for an even count; v is not
// changed.
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}
