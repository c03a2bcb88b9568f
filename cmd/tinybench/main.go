// Command tinybench is tinyr1's benchmark harness (`make bench`). It is a
// separate program, not part of the tinyr1 CLI.
//
// For each preset it measures rollout tokens/s at batch 1, 16 and 64,
// scoring tokens/s, one training step on 2048 tokens, one full GRPO step
// with its breakdown, and peak RSS; with --torch it runs the same model in
// PyTorch on CPU (bench/torch_bench.py, same shapes). For each core budget
// (--cores, default 1 and 2) every part runs pinned to that many cores, in
// every thread configuration that fits (tinyr1: workers; PyTorch: torch
// threads x OpenBLAS threads), and one table compares the best of each
// side. After each table a work-rates table turns rollout, scoring and the
// training step into model GFLOP/s (flops.go) and sets each target ratio
// of issue #13 against the FMA peak measured in the same run (ceiling.go,
// workrates.go). A PyTorch on the reference BLAS is refused (blas.go).
// Every figure is the median of --runs timed runs after a warm-up (the
// ceiling: the best sample), all measured in one run of the harness. With
// --rounds n (make bench: 3) the kernels parts of both sides run n times,
// the sides' order alternating, and the tables give each side's median
// over rounds of its best in each round, and each ratio as the median of
// the per-round ratios with their range (rounds.go).
//
// Each part runs in its own process (this binary re-executed with --part,
// or the Python script) so that its peak RSS is its own.
//
//	go run ./cmd/tinybench --torch --out runs/bench
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"tinyr1/data"
)

// config holds the harness settings, one flag each.
type config struct {
	Cores       string // core budgets, comma-separated: one table each, every part pinned to its budget's cores
	Threads     int    // child mode: GOMAXPROCS and engine workers of tinyr1
	Runs        int    // timed runs per figure (after one warm-up)
	RunsMedium  int    // timed runs per figure for the medium preset; 0 means Runs
	GRPORuns    int    // timed GRPO steps per preset (after one warm-up step)
	GRPORunsMed int    // timed GRPO steps for the medium preset; 0 means GRPORuns
	Rounds      int    // rounds of the kernels parts, the sides' order alternating (GRPO runs once)
	Presets     string // model presets, comma-separated
	GRPOPresets string // presets whose GRPO step is timed, comma-separated; "" for none
	Torch       bool   // also run the PyTorch twin
	TorchJSON   string // read PyTorch results from this file (JSON lines) instead of running the script
	Python      string // interpreter with torch (Debian's python3-torch)
	Script      string // the PyTorch twin
	Out         string // folder for bench.json and bench.md; "" for stdout only

	CPUProfile string // child mode: write a CPU profile of the part here

	part   string // child mode: "kernels" or "grpo"
	preset string // child mode: the preset
}

func main() {
	var c config
	flag.StringVar(&c.Cores, "cores", "1,2", "core budgets, comma-separated: each gets a table of the best configuration of each side within it, every part pinned with taskset -c 0-(n-1)")
	flag.IntVar(&c.Threads, "threads", 1, "with --part: tinyr1's GOMAXPROCS and engine workers")
	flag.IntVar(&c.Runs, "runs", 3, "timed runs per figure, after one warm-up; the median is reported")
	flag.IntVar(&c.RunsMedium, "runs-medium", 0, "timed runs per figure for the medium preset; 0 means --runs")
	flag.IntVar(&c.GRPORuns, "grpo-runs", 3, "timed GRPO steps per preset, after one warm-up step")
	flag.IntVar(&c.Rounds, "rounds", 1, "rounds of the kernels parts of both sides, tinyr1 first in odd rounds and PyTorch first in even ones; each figure is the median over rounds of each round's best configuration (GRPO runs once)")
	flag.IntVar(&c.GRPORunsMed, "grpo-runs-medium", 2, "timed GRPO steps for the medium preset (about 40 s each on 1 thread); 0 means --grpo-runs")
	flag.StringVar(&c.Presets, "presets", "small,medium", "model presets, comma-separated")
	flag.StringVar(&c.GRPOPresets, "grpo-presets", "small,medium", "presets whose GRPO step is timed; empty for none")
	flag.BoolVar(&c.Torch, "torch", false, "also measure the PyTorch twin (bench/torch_bench.py); skipped with a message when torch is missing")
	flag.StringVar(&c.TorchJSON, "torch-json", "", "read PyTorch results (one JSON object a line, as torch_bench.py prints) instead of running it")
	flag.StringVar(&c.Python, "python", "/usr/bin/python3", "Python interpreter with torch")
	flag.StringVar(&c.Script, "script", "bench/torch_bench.py", "the PyTorch twin")
	flag.StringVar(&c.Out, "out", "", "folder for bench.json and bench.md")
	flag.StringVar(&c.part, "part", "", "internal: run one part (kernels or grpo) and print its JSON")
	flag.StringVar(&c.preset, "preset", "", "internal: the preset of --part")
	flag.StringVar(&c.CPUProfile, "cpuprofile", "", "with --part: write a CPU profile of that part to this file (go tool pprof)")
	flag.Parse()
	if flag.NArg() > 0 {
		fail(fmt.Errorf("tinybench: unexpected arguments %q: want flags only", flag.Args()))
	}
	if err := c.validate(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2) // a bad flag
	}
	runtime.GOMAXPROCS(c.Threads)
	var err error
	if c.part != "" {
		err = runPart(os.Stdout, c)
	} else {
		err = runHarness(c)
	}
	if err != nil {
		fail(err)
	}
}

// validate explains every bad value.
func (c config) validate() error {
	if c.Threads < 1 || c.Threads > 256 {
		return fmt.Errorf("tinybench: --threads %d: want 1 to 256", c.Threads)
	}
	if c.Runs < 1 || c.GRPORuns < 1 || c.RunsMedium < 0 || c.GRPORunsMed < 0 {
		return fmt.Errorf("tinybench: --runs %d, --grpo-runs %d, --runs-medium %d, --grpo-runs-medium %d: want >= 1 (the medium ones >= 0)",
			c.Runs, c.GRPORuns, c.RunsMedium, c.GRPORunsMed)
	}
	if c.Rounds < 1 || c.Rounds > 20 {
		return fmt.Errorf("tinybench: --rounds %d: want 1 to 20", c.Rounds)
	}
	for _, p := range append(splitList(c.Presets), splitList(c.GRPOPresets)...) {
		if _, err := modelConfig(p); err != nil {
			return fmt.Errorf("tinybench: %w", err)
		}
	}
	if _, err := c.budgets(); err != nil && c.part == "" { // a part runs pinned to its budget's cores
		return err
	}
	switch c.part {
	case "", "kernels", "grpo":
	default:
		return fmt.Errorf("tinybench: --part %q: want kernels or grpo", c.part)
	}
	return nil
}

// budgets parses --cores: distinct budgets from 1 to the CPUs this process
// may use, in increasing order.
func (c config) budgets() ([]int, error) {
	var out []int
	for _, f := range splitList(c.Cores) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > runtime.NumCPU() {
			return nil, fmt.Errorf("tinybench: --cores %q: %q is not a core count from 1 to %d (the CPUs this process may use)", c.Cores, f, runtime.NumCPU())
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("tinybench: --cores %q: want at least one core count", c.Cores)
	}
	slices.Sort(out)
	return out, nil
}

// runsFor is the number of timed runs for a preset.
func (c config) runsFor(preset string) int {
	if preset == "medium" && c.RunsMedium > 0 {
		return c.RunsMedium
	}
	return c.Runs
}

// grpoRunsFor is the number of timed GRPO steps for a preset.
func (c config) grpoRunsFor(preset string) int {
	if preset == "medium" && c.GRPORunsMed > 0 {
		return c.GRPORunsMed
	}
	return c.GRPORuns
}

// vocab is the tokenizer's vocabulary size, used for every model here.
func vocab() int { return data.NewTokenizer().VocabSize() }

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
