package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Stat is one figure: the median of its samples. torch_bench.py writes the
// same format.
type Stat struct {
	Median  float64   `json:"median"`
	Samples []float64 `json:"samples"`
	Unit    string    `json:"unit"` // "tok/s", "GFLOP/s" (higher is better), "ms", "s", "MiB", "MB", "allocs" (lower is better), "tokens"
}

// Result is what one part (one process) measured.
type Result struct {
	Impl    string          `json:"impl"`              // "tinyr1" or "pytorch"
	Version string          `json:"version,omitempty"` // tinyr1: the graph's BLAS; PyTorch: torch.__version__
	Preset  string          `json:"preset"`
	Threads int             `json:"threads"`
	Runs    int             `json:"runs"`
	Params  int             `json:"params"`
	Load1   float64         `json:"load1"` // 1-minute load average when the part ended
	Metrics map[string]Stat `json:"metrics"`

	// Set by the harness: the core budget the part ran pinned to (taskset
	// -c 0-(cores-1)) and its configuration, "2 workers" or
	// "torch 1 x OpenBLAS 2".
	Cores  int    `json:"cores,omitempty"`
	Config string `json:"config,omitempty"`
	// Set by the harness: the round of a kernels part, 0-based (--rounds;
	// rounds.go). The GRPO parts and files written before rounds have 0.
	Round int `json:"round,omitempty"`
	// PyTorch only: the BLAS its process loaded and its thread counts.
	BLAS *blasReport `json:"blas,omitempty"`
	// tinyr1 kernels only: the FMA loop behind fma_peak, "AVX2 ymm" or
	// "AVX-512 zmm" (ceiling.go); "" where none runs.
	FMA string `json:"fma,omitempty"`
}

func newResult(impl, preset string, threads, runs int) *Result {
	return &Result{Impl: impl, Preset: preset, Threads: threads, Runs: runs, Metrics: map[string]Stat{}}
}

func (r *Result) add(name, unit string, samples []float64) {
	s := slices.Clone(samples)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	r.Metrics[name] = Stat{Median: med, Samples: samples, Unit: unit}
	r.Load1 = loadAvg()[0]
}

// Report is the whole harness run, written as bench.json.
type Report struct {
	Date       string     `json:"date"`
	CPU        string     `json:"cpu"`
	Cores      int        `json:"cores"`
	GoVersion  string     `json:"go_version"`
	Budgets    []int      `json:"budgets"`     // the core budgets, one table each
	LoadBefore [3]float64 `json:"load_before"` // 1, 5, 15 minute load averages
	LoadAfter  [3]float64 `json:"load_after"`
	TorchNote  string     `json:"torch_note,omitempty"` // why the PyTorch column is empty
	Seconds    float64    `json:"seconds"`              // wall time of the harness
	Results    []*Result  `json:"results"`
}

// runHarness measures every part, one process each, pinned to its core
// budget, and writes one table per budget.
//
// Per preset and budget it runs the configurations new to that budget:
// tinyr1 with as many workers as cores (fewer were measured on a smaller
// budget, which they fit), and PyTorch with torch.set_num_threads t and
// OPENBLAS_NUM_THREADS o for every t, o up to the budget, at least one of
// them equal to it. A budget's table compares the best of each side over
// every configuration measured within it. With --rounds the kernels parts
// repeat, round by round (kernelPlan), the sides alternating.
func runHarness(c config) error {
	start := time.Now()
	budgets, err := c.budgets()
	if err != nil {
		return err
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return fmt.Errorf("tinybench: taskset (util-linux) pins each part to its cores: %w", err)
	}
	rep := &Report{Date: start.Format(time.RFC3339), CPU: cpuModel(), Cores: runtime.NumCPU(), Budgets: budgets,
		GoVersion: runtime.Version(), LoadBefore: loadAvg()}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("tinybench: %w", err)
	}
	var torch []*Result
	switch {
	case c.TorchJSON != "":
		b, err := os.ReadFile(c.TorchJSON)
		if err != nil {
			return fmt.Errorf("tinybench: --torch-json: %w", err)
		}
		if torch, err = decodeResults(b); err != nil {
			return fmt.Errorf("tinybench: --torch-json %s: %w", c.TorchJSON, err)
		}
		for _, t := range torch {
			if err := checkTorch(t, 0, 0); err != nil {
				rep.TorchNote, torch = err.Error(), nil
				break
			}
			t.Cores, t.Config = len(t.BLAS.Affinity), t.BLAS.label()
		}
	case !c.Torch:
		rep.TorchNote = "not asked for (--torch)"
	default:
		// One short probe first: a PyTorch on the reference BLAS is
		// refused before any measurement.
		progress("pytorch: which BLAS (bench/torch_bench.py --probe)")
		if _, err := runTorch(c, "", 1, 1, 1, 1); err != nil {
			rep.TorchNote = err.Error()
		}
	}
	if rep.TorchNote != "" && c.Torch {
		fmt.Fprintf(os.Stderr, "%s\ntinybench: so no PyTorch column\n", rep.TorchNote)
	}
	torchOn := c.Torch && c.TorchJSON == "" && rep.TorchNote == ""
	for _, st := range kernelPlan(splitList(c.Presets), budgets, c.Rounds, torchOn) {
		runs, round := c.runsFor(st.Preset), ""
		if c.Rounds > 1 {
			round = fmt.Sprintf("round %d of %d, ", st.Round+1, c.Rounds)
		}
		if st.Impl == "tinyr1" {
			w := st.Threads[0]
			progress("%stinyr1 %s, %d worker(s) on %d core(s): rollouts, scoring, training step (%d runs)", round, st.Preset, w, st.Cores, runs)
			r, err := child(self, st.Cores, "--part", "kernels", "--preset", st.Preset, "--threads", fmt.Sprint(w),
				"--runs", fmt.Sprint(c.Runs), "--runs-medium", fmt.Sprint(c.RunsMedium))
			if err != nil {
				return err
			}
			r.Cores, r.Config, r.Round = st.Cores, workersLabel(w), st.Round
			rep.Results = append(rep.Results, r)
			continue
		}
		if rep.TorchNote != "" { // an earlier PyTorch part failed
			continue
		}
		progress("%spytorch %s, torch %d x OpenBLAS %d threads on %d core(s): rollouts, scoring, training step (%d runs)",
			round, st.Preset, st.Threads[0], st.Threads[1], st.Cores, runs)
		t, err := runTorch(c, st.Preset, runs, st.Cores, st.Threads[0], st.Threads[1])
		if err != nil {
			rep.TorchNote = err.Error()
			fmt.Fprintf(os.Stderr, "%v\ntinybench: so no PyTorch column\n", err)
			torch = nil
			continue
		}
		t.Round = st.Round
		torch = append(torch, t)
	}
	for _, preset := range splitList(c.GRPOPresets) {
		for _, cores := range budgets {
			progress("tinyr1 %s, %d worker(s) on %d core(s): GRPO step P=%d x G=%d, %d new tokens (%d runs)",
				preset, cores, cores, grpoPrompts, grpoGroup, grpoMaxNew, c.grpoRunsFor(preset))
			r, err := child(self, cores, "--part", "grpo", "--preset", preset, "--threads", fmt.Sprint(cores),
				"--grpo-runs", fmt.Sprint(c.GRPORuns), "--grpo-runs-medium", fmt.Sprint(c.GRPORunsMed))
			if err != nil {
				return err
			}
			r.Cores, r.Config = cores, workersLabel(cores)
			rep.Results = append(rep.Results, r)
		}
	}
	rep.Results = append(rep.Results, torch...)
	rep.LoadAfter = loadAvg()
	rep.Seconds = time.Since(start).Seconds()

	var md bytes.Buffer
	for _, cores := range budgets {
		writeTable(&md, rep, cores)
		writeWorkRates(&md, rep, cores)
	}
	writeConfigs(&md, rep)
	os.Stdout.Write(md.Bytes())
	if c.Out == "" {
		return nil
	}
	if err := os.MkdirAll(c.Out, 0o755); err != nil {
		return fmt.Errorf("tinybench: %w", err)
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.Out, "bench.json"), append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("tinybench: %w", err)
	}
	if err := os.WriteFile(filepath.Join(c.Out, "bench.md"), md.Bytes(), 0o644); err != nil {
		return fmt.Errorf("tinybench: %w", err)
	}
	progress("wrote %s and %s", filepath.Join(c.Out, "bench.json"), filepath.Join(c.Out, "bench.md"))
	return nil
}

// torchConfigs is PyTorch's thread configurations new to a budget of cores
// after one of prev: (torch threads, OpenBLAS threads) pairs up to cores,
// at least one above prev. Torch's OpenMP pool and OpenBLAS's pthreads
// take turns (torch calls sgemm_ from its main thread, between parallel
// regions), so 2 x 2 on two cores oversubscribes only at the hand-offs:
// it is measured, not assumed worse.
func torchConfigs(prev, cores int) [][2]int {
	var out [][2]int
	for t := 1; t <= cores; t++ {
		for o := 1; o <= cores; o++ {
			if t > prev || o > prev {
				out = append(out, [2]int{t, o})
			}
		}
	}
	return out
}

func workersLabel(w int) string {
	if w == 1 {
		return "1 worker"
	}
	return fmt.Sprintf("%d workers", w)
}

// pinned is the command line that runs name with args on cores 0 to
// cores-1.
func pinned(cores int, name string, args ...string) *exec.Cmd {
	return exec.Command("taskset", append([]string{"-c", fmt.Sprintf("0-%d", cores-1), name}, args...)...)
}

// child runs this binary on one part, pinned to cores, and decodes its
// Result.
func child(self string, cores int, args ...string) (*Result, error) {
	cmd := pinned(cores, self, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("tinybench: %s: %w", strings.Join(args, " "), err)
	}
	rs, err := decodeResults(out)
	if err != nil || len(rs) != 1 {
		return nil, fmt.Errorf("tinybench: %s: want one JSON result: %v", strings.Join(args, " "), err)
	}
	return rs[0], nil
}

// runTorch runs the PyTorch twin for a preset ("" for --probe only),
// pinned to cores, with torchThreads intra-op threads and blasThreads
// OpenBLAS (and MKL) threads, and refuses the result unless it ran on an
// optimized BLAS with those counts (checkTorch).
func runTorch(c config, preset string, runs, cores, torchThreads, blasThreads int) (*Result, error) {
	if _, err := os.Stat(c.Script); err != nil {
		return nil, fmt.Errorf("tinybench: %w", err)
	}
	args := []string{c.Script, "--threads", fmt.Sprint(torchThreads), "--vocab", fmt.Sprint(vocab())}
	if preset == "" {
		args = append(args, "--probe")
	} else {
		args = append(args, "--preset", preset, "--runs", fmt.Sprint(runs), "--seed", fmt.Sprint(seed))
	}
	cmd := pinned(cores, c.Python, args...)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS="+fmt.Sprint(torchThreads),
		"OPENBLAS_NUM_THREADS="+fmt.Sprint(blasThreads), "MKL_NUM_THREADS="+fmt.Sprint(blasThreads))
	if os.Getenv("OMP_WAIT_POLICY") == "" {
		// OpenMP workers spin between parallel regions by default; on a busy
		// 2-core machine that made PyTorch 2-thread decode ~20x slower than
		// with PASSIVE (idle workers sleep). Give PyTorch its best case.
		cmd.Env = append(cmd.Env, "OMP_WAIT_POLICY=PASSIVE")
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := lastLine(stderr.String()); msg != "" {
			err = fmt.Errorf("%v: %s", err, msg)
		}
		return nil, fmt.Errorf("%s %s: %w", c.Python, c.Script, err)
	}
	rs, err := decodeResults(out)
	if err != nil || len(rs) != 1 {
		return nil, fmt.Errorf("%s: want one JSON result: %v", c.Script, err)
	}
	r := rs[0]
	if err := checkTorch(r, torchThreads, blasThreads); err != nil {
		return nil, err
	}
	r.Cores, r.Config = cores, r.BLAS.label()
	return r, nil
}

// decodeResults reads JSON results, one per line.
func decodeResults(b []byte) ([]*Result, error) {
	var rs []*Result
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		var r Result
		if err := dec.Decode(&r); err == io.EOF {
			return rs, nil
		} else if err != nil {
			return nil, err
		}
		rs = append(rs, &r)
	}
}

// rows are the table's metrics in order, with their labels.
var rows = []struct{ key, label string }{
	{"rollout_b1", "rollout tok/s, batch 1"},
	{"rollout_b16", "rollout tok/s, batch 16"},
	{"rollout_b64", "rollout tok/s, batch 64"},
	{"score", "scoring tok/s, 64 x 128"},
	{"train_ms", "train step ms, 2048 tok"},
	{"train_tok_s", "train step tok/s, 2048 tok"},
	{"peak_rss", "peak RSS MiB (rollout+score+train)"},
	{"rollout_allocs", "heap allocations per token, rollout batch 64"},
	{"train_allocs", "heap allocations per train step"},
	{"train_alloc_mb", "MB allocated per train step"},
	{"grpo_step", fmt.Sprintf("GRPO step s, P=%d G=%d new<=%d", grpoPrompts, grpoGroup, grpoMaxNew)},
	{"grpo_rollout", "  of which rollout s"},
	{"grpo_reference", "  of which reference scoring s (0 at beta 0)"},
	{"grpo_update", "  of which update s (graph + AdamW)"},
	{"grpo_rollout_tokens", "  GRPO rollout tokens"},
	{"grpo_tok_s", "  GRPO tok/s (rollout + scored)"},
	{"grpo_peak_rss", "  GRPO peak RSS MiB"},
}

// best is the best figure of one implementation for a metric and preset
// over the configurations measured within a budget of cores in one round
// (0-based): the highest tok/s, the lowest time or memory; for allocation
// counts the worst, so that a zero holds for every configuration.
func best(rep *Report, impl, preset, key string, cores, round int) (Stat, *Result, bool) {
	var out Stat
	var from *Result
	for _, r := range rep.Results {
		s, ok := r.Metrics[key]
		if r.Impl != impl || r.Preset != preset || r.Cores > cores || r.Round != round || !ok {
			continue
		}
		better := from == nil
		switch s.Unit {
		case "tok/s", "GFLOP/s":
			better = better || s.Median > out.Median
		case "allocs", "MB":
			better = better || s.Median > out.Median
		case "tokens":
		default:
			better = better || s.Median < out.Median
		}
		if better {
			out, from = s, r
		}
	}
	return out, from, from != nil
}

// followKey is the row whose best configuration a row shows, "" for its
// own: the GRPO breakdown follows the GRPO step, and train tok/s the train
// step's time.
func followKey(key string) string {
	switch {
	case key == "train_tok_s":
		return "train_ms"
	case strings.HasPrefix(key, "grpo_") && key != "grpo_step":
		return "grpo_step"
	}
	return ""
}

// writeTable writes the markdown table of a core budget: one row per
// metric and preset, the best configuration of tinyr1 against the best of
// PyTorch, each named, ratio > 1 when tinyr1 is better. With rounds, each
// figure is the median over rounds of each round's best, the ratio the
// median of the per-round ratios, and a last column their range
// (pickBest, roundRatios).
func writeTable(w io.Writer, rep *Report, cores int) {
	presets, rounds := reportPresets(rep), reportRounds(rep)
	each := "best configuration of each side"
	if rounds > 1 {
		each = fmt.Sprintf("best configuration of each side in each of %d rounds of the kernels parts, the sides' order alternating (tinyr1 first in odd rounds, PyTorch in even ones), and the median over rounds (GRPO: one round)", rounds)
	}
	fmt.Fprintf(w, "tinyr1 vs PyTorch on CPU, %d-core budget (each part pinned with taskset -c 0-%d), %s, %s; %s; medians of %s timed runs after a warm-up.\n",
		cores, cores-1, rep.CPU, rep.Date, each, runsNote(rep))
	fmt.Fprintf(w, "Load average (1/5/15 min) before %s, after %s; harness wall time %.0f s (all budgets).\n",
		fmtLoad(rep.LoadBefore), fmtLoad(rep.LoadAfter), rep.Seconds)
	if rep.TorchNote != "" {
		fmt.Fprintf(w, "No PyTorch column: %s.\n", strings.TrimPrefix(rep.TorchNote, "tinybench: "))
	}
	fmt.Fprintln(w)
	head, rule := "| metric | preset | tinyr1 | tinyr1 config | PyTorch | PyTorch config | ratio (>1: tinyr1 faster/smaller) |", "|---|---|---:|---|---:|---|---:|"
	if rounds > 1 {
		head, rule = head+" ratio min-max over rounds |", rule+"---:|"
	}
	fmt.Fprintln(w, head)
	fmt.Fprintln(w, rule)
	for _, row := range rows {
		for _, p := range presets {
			a, okA := pickBest(rep, "tinyr1", p, row.key, cores)
			b, okB := pickBest(rep, "pytorch", p, row.key, cores)
			if !okA && !okB {
				continue
			}
			cell := func(f pick, ok bool) (string, string) {
				if !ok {
					return "-", "-"
				}
				return fmtNum(f.Median), f.Config
			}
			va, ca := cell(a, okA)
			vb, cb := cell(b, okB)
			ratio, span := "-", "-"
			if rs := roundRatios(a, b); okA && okB && len(rs) > 0 {
				ratio = fmt.Sprintf("%.2f", median(rs))
				span = fmt.Sprintf("%.2f-%.2f", slices.Min(rs), slices.Max(rs))
			}
			line := fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %s |", row.label, p, va, ca, vb, cb, ratio)
			if rounds > 1 {
				line += " " + span + " |"
			}
			fmt.Fprintln(w, line)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "ratio = tinyr1/PyTorch for tok/s, PyTorch/tinyr1 for times and RSS; allocation rows show the worst tinyr1 configuration.")
	command := "go run ./cmd/tinybench --torch --out runs/bench"
	if rounds > 1 {
		fmt.Fprintln(w, "Rounds: each side's figure is the median over rounds of its best configuration in each round (allocation rows: the worst over rounds), its config the one best in most rounds; the ratio is the median of the per-round ratios (each from the two sides' bests of one round), min-max their range.")
		command += fmt.Sprintf(" --rounds %d", rounds)
	}
	fmt.Fprintln(w, "Each part runs in its own process; peak RSS is that process's VmHWM (PyTorch: ru_maxrss, including the Python interpreter and libtorch).")
	fmt.Fprintf(w, "Command: make bench  (%s)\n", command)
	fmt.Fprintln(w)
}

// writeConfigs writes every configuration's median of every metric, one
// column per configuration, so that the choice of the best can be checked;
// with rounds, the median over rounds of the configuration's medians.
func writeConfigs(w io.Writer, rep *Report) {
	// One column per configuration (implementation, configuration, cores),
	// in the order measured; the GRPO parts are in the budget tables.
	type column struct {
		impl, config string
		cores        int
	}
	var cols []column
	for _, r := range rep.Results {
		c := column{r.Impl, r.Config, r.Cores}
		if _, grpo := r.Metrics["grpo_step"]; !grpo && !slices.Contains(cols, c) {
			cols = append(cols, c)
		}
	}
	if len(cols) == 0 {
		return
	}
	find := func(c column, preset, key string) (float64, bool) {
		var rounds []float64
		for _, r := range rep.Results {
			if r.Impl == c.impl && r.Config == c.config && r.Cores == c.cores && r.Preset == preset {
				if s, ok := r.Metrics[key]; ok {
					rounds = append(rounds, s.Median)
				}
			}
		}
		if len(rounds) == 0 {
			return 0, false
		}
		return median(rounds), true
	}
	over := ""
	if rounds := reportRounds(rep); rounds > 1 {
		over = fmt.Sprintf(", the median over %d rounds of each figure (GRPO: one round)", rounds)
	}
	fmt.Fprintln(w, "Every configuration measured"+over+" (PyTorch BLAS: "+torchBLASNote(rep)+"):")
	fmt.Fprintln(w)
	head, rule := "| metric | preset |", "|---|---|"
	for _, c := range cols {
		head += fmt.Sprintf(" %s %s, %d core(s) |", c.impl, c.config, c.cores)
		rule += "---:|"
	}
	fmt.Fprintln(w, head)
	fmt.Fprintln(w, rule)
	for _, row := range rows {
		for _, p := range reportPresets(rep) {
			line, any := fmt.Sprintf("| %s | %s |", row.label, p), false
			for _, c := range cols {
				v, ok := find(c, p, row.key)
				if !ok {
					line += " - |"
					continue
				}
				line += " " + fmtNum(v) + " |"
				any = true
			}
			if any {
				fmt.Fprintln(w, line)
			}
		}
	}
	fmt.Fprintln(w)
}

// torchBLASNote names the BLAS of the PyTorch results: "OpenBLAS 0.3.21 ...
// (sgemm_ from /usr/lib/...)", or "-".
func torchBLASNote(rep *Report) string {
	for _, r := range rep.Results {
		if r.Impl == "pytorch" && r.BLAS != nil {
			name := r.BLAS.kind()
			if r.BLAS.OpenBLASConfig != "" {
				name = r.BLAS.OpenBLASConfig
			}
			return fmt.Sprintf("%s, sgemm_ from %s", name, r.BLAS.Sgemm)
		}
	}
	return "-"
}

func reportPresets(rep *Report) []string {
	var presets []string
	for _, r := range rep.Results {
		if !slices.Contains(presets, r.Preset) {
			presets = append(presets, r.Preset)
		}
	}
	return presets
}

// runsNote says how many timed runs each median is of: "3", or
// "3 (GRPO medium: 2)" where parts differ from the most common count.
func runsNote(rep *Report) string {
	count := map[int]int{}
	for _, r := range rep.Results {
		count[r.Runs]++
	}
	common := 0
	for n, k := range count {
		if k > count[common] || (k == count[common] && n > common) {
			common = n
		}
	}
	var odd []string
	for _, r := range rep.Results {
		if r.Runs != common {
			part := r.Impl
			if _, ok := r.Metrics["grpo_step"]; ok {
				part = "GRPO"
			}
			// The GRPO step runs once per budget: name each part once.
			if note := fmt.Sprintf("%s %s: %d", part, r.Preset, r.Runs); !slices.Contains(odd, note) {
				odd = append(odd, note)
			}
		}
	}
	if len(odd) == 0 {
		return fmt.Sprint(common)
	}
	return fmt.Sprintf("%d (%s)", common, strings.Join(odd, ", "))
}

func fmtNum(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func fmtLoad(l [3]float64) string { return fmt.Sprintf("%.2f/%.2f/%.2f", l[0], l[1], l[2]) }

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "tinybench: "+format+"\n", args...)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// cpuModel is the first "model name" of /proc/cpuinfo, or GOARCH.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
