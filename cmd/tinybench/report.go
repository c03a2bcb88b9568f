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
	Unit    string    `json:"unit"` // "tok/s" (higher is better), "ms", "s", "MiB", "MB", "allocs" (lower is better), "tokens"
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
	Threads    int        `json:"threads"`
	LoadBefore [3]float64 `json:"load_before"` // 1, 5, 15 minute load averages
	LoadAfter  [3]float64 `json:"load_after"`
	TorchNote  string     `json:"torch_note,omitempty"` // why the PyTorch column is empty
	Seconds    float64    `json:"seconds"`              // wall time of the harness
	Results    []*Result  `json:"results"`
}

// runHarness measures every part, one process each, and writes the table.
func runHarness(c config) error {
	start := time.Now()
	rep := &Report{Date: start.Format(time.RFC3339), CPU: cpuModel(), Cores: runtime.NumCPU(),
		GoVersion: runtime.Version(), Threads: c.Threads, LoadBefore: loadAvg()}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("tinybench: %w", err)
	}
	var torch []*Result
	if c.TorchJSON != "" {
		b, err := os.ReadFile(c.TorchJSON)
		if err != nil {
			return fmt.Errorf("tinybench: --torch-json: %w", err)
		}
		if torch, err = decodeResults(b); err != nil {
			return fmt.Errorf("tinybench: --torch-json %s: %w", c.TorchJSON, err)
		}
	} else if !c.Torch {
		rep.TorchNote = "not asked for (--torch)"
	}
	// Per preset: tinyr1, then PyTorch right after, so both see about the
	// same machine load.
	for _, preset := range splitList(c.Presets) {
		runs := c.runsFor(preset)
		progress("tinyr1 %s: rollouts, scoring, training step (%d runs)", preset, runs)
		r, err := child(self, "--part", "kernels", "--preset", preset, "--threads", fmt.Sprint(c.Threads),
			"--runs", fmt.Sprint(c.Runs), "--runs-medium", fmt.Sprint(c.RunsMedium))
		if err != nil {
			return err
		}
		rep.Results = append(rep.Results, r)
		if c.Torch && c.TorchJSON == "" && rep.TorchNote == "" {
			progress("pytorch %s: rollouts, scoring, training step (%d runs)", preset, runs)
			t, err := runTorch(c, preset, runs)
			if err != nil {
				rep.TorchNote = err.Error()
				fmt.Fprintf(os.Stderr, "PyTorch unavailable: the torch column is skipped (%v)\n", err)
			} else {
				torch = append(torch, t)
			}
		}
	}
	for _, preset := range splitList(c.GRPOPresets) {
		progress("tinyr1 %s: GRPO step P=%d x G=%d, %d new tokens (%d runs)", preset, grpoPrompts, grpoGroup, grpoMaxNew, c.grpoRunsFor(preset))
		r, err := child(self, "--part", "grpo", "--preset", preset, "--threads", fmt.Sprint(c.Threads),
			"--grpo-runs", fmt.Sprint(c.GRPORuns), "--grpo-runs-medium", fmt.Sprint(c.GRPORunsMed))
		if err != nil {
			return err
		}
		rep.Results = append(rep.Results, r)
	}
	rep.Results = append(rep.Results, torch...)
	rep.LoadAfter = loadAvg()
	rep.Seconds = time.Since(start).Seconds()

	var md bytes.Buffer
	writeTable(&md, rep)
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

// child runs this binary on one part and decodes its Result.
func child(self string, args ...string) (*Result, error) {
	cmd := exec.Command(self, args...)
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

// runTorch runs the PyTorch twin for a preset with every BLAS and OpenMP
// pool held to the thread count.
func runTorch(c config, preset string, runs int) (*Result, error) {
	if _, err := os.Stat(c.Script); err != nil {
		return nil, fmt.Errorf("tinybench: %w", err)
	}
	cmd := exec.Command(c.Python, c.Script, "--preset", preset, "--vocab", fmt.Sprint(vocab()),
		"--threads", fmt.Sprint(c.Threads), "--runs", fmt.Sprint(runs), "--seed", fmt.Sprint(seed))
	n := fmt.Sprint(c.Threads)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS="+n, "OPENBLAS_NUM_THREADS="+n, "MKL_NUM_THREADS="+n)
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
	return rs[0], nil
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
	{"grpo_reference", "  of which reference scoring s"},
	{"grpo_update", "  of which update s (score + graph + AdamW)"},
	{"grpo_rollout_tokens", "  GRPO rollout tokens"},
	{"grpo_tok_s", "  GRPO tok/s (rollout + scored)"},
	{"grpo_peak_rss", "  GRPO peak RSS MiB"},
}

// writeTable writes the markdown table: one row per metric and preset,
// tinyr1 against PyTorch, ratio > 1 when tinyr1 is better.
func writeTable(w io.Writer, rep *Report) {
	find := func(impl, preset, key string) (Stat, bool) {
		for _, r := range rep.Results {
			if r.Impl == impl && r.Preset == preset {
				if s, ok := r.Metrics[key]; ok {
					return s, true
				}
			}
		}
		return Stat{}, false
	}
	var presets []string
	for _, r := range rep.Results {
		if !slices.Contains(presets, r.Preset) {
			presets = append(presets, r.Preset)
		}
	}
	fmt.Fprintf(w, "tinyr1 vs PyTorch on CPU, %d thread(s), %s (%d cores), %s; medians of %s timed runs after a warm-up.\n",
		rep.Threads, rep.CPU, rep.Cores, rep.Date, runsNote(rep))
	fmt.Fprintf(w, "Load average (1/5/15 min) before %s, after %s; harness wall time %.0f s.\n",
		fmtLoad(rep.LoadBefore), fmtLoad(rep.LoadAfter), rep.Seconds)
	if rep.TorchNote != "" {
		fmt.Fprintf(w, "PyTorch column skipped: %s.\n", rep.TorchNote)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| metric | preset | tinyr1 | PyTorch | ratio (>1: tinyr1 faster/smaller) |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|")
	for _, row := range rows {
		for _, p := range presets {
			a, okA := find("tinyr1", p, row.key)
			b, okB := find("pytorch", p, row.key)
			if !okA && !okB {
				continue
			}
			cell := func(s Stat, ok bool) string {
				if !ok {
					return "-"
				}
				return fmtNum(s.Median)
			}
			ratio := "-"
			if okA && okB && a.Median > 0 && b.Median > 0 {
				switch a.Unit {
				case "tok/s":
					ratio = fmt.Sprintf("%.2f", a.Median/b.Median)
				case "tokens":
				default: // times and memory: lower is better
					ratio = fmt.Sprintf("%.2f", b.Median/a.Median)
				}
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", row.label, p, cell(a, okA), cell(b, okB), ratio)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "ratio = tinyr1/PyTorch for tok/s, PyTorch/tinyr1 for times and RSS. Each part runs in its own process;")
	fmt.Fprintln(w, "peak RSS is that process's VmHWM (PyTorch: ru_maxrss, including the Python interpreter and libtorch).")
	fmt.Fprintln(w, "Command: make bench  (go run ./cmd/tinybench --torch --out runs/bench)")
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
			odd = append(odd, fmt.Sprintf("%s %s: %d", part, r.Preset, r.Runs))
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
