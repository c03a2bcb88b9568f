package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"tinyr1/checkpoints"
	"tinyr1/rl/eval"
)

// A report turns run folders into plots and a markdown summary, so that a
// researcher looks at curves rather than metrics.jsonl. Runs whose
// config.json differ only by "seed" form one group, drawn as the mean over
// seeds with a min-max band (report_plot.go); the summary gives final values
// as mean +- standard error over seeds, and the final evaluation from eval
// JSON files.

// RunMetrics is one run folder's metrics.
type RunMetrics struct {
	Dir    string             // the run folder
	Name   string             // its base name
	Config map[string]any     // config.json; nil when missing
	Seed   string             // config.json's "seed", as written; "" when missing
	Series map[string][]XY    // numeric metric -> (step, value), in file order
	Steps  int                // last step logged
	Last   map[string]float64 // last value of each numeric metric
	Evals  []EvalFile         // eval/*.json of the run folder
	Latest string             // the checkpoint the run's latest pointer names, relative to Dir; "" when missing
	Kind   string             // "sft" or "train": manifest.json's kind, else "train" when reward_mean is logged
	Offset int                // the initial checkpoint's step (a GRPO run started from an SFT run); 0 for none
	RunID  string             // manifest.json's run_id; "" when missing
}

// WallClock is the run's compute time in seconds: the sum of time_step
// (GRPO; time_update for SFT) and time_eval over its logged steps.
func (r *RunMetrics) WallClock() float64 {
	key := "time_step"
	if len(r.Series[key]) == 0 {
		key = "time_update"
	}
	t := 0.0
	for _, k := range []string{key, "time_eval"} {
		for _, p := range r.Series[k] {
			t += p.Y
		}
	}
	return t
}

// XY is one point of a metric curve.
type XY struct{ X, Y float64 }

// ReportMetrics lists the metrics plotted, in order, with their titles. A
// metric no run logged is skipped. A key ending in "/*" is one plot per
// task ("val_pass1_by_task/add:1"), so that runs validated on different
// task sets are compared task by task; the overall val_pass1, a mean over
// each run's own tasks, is drawn only when no run logged per-task values.
var ReportMetrics = []struct{ Key, Title string }{
	{"reward_mean", "training reward (mean)"},
	{"accuracy", "training accuracy"},
	{"val_pass1_by_task/*", "validation greedy pass@1"},
	{"val_pass1", "validation greedy pass@1 (mean over the run's own tasks)"},
	{"kl", "KL to the reference"},
	{"entropy", "entropy of the sampling distribution (nats)"},
	{"completion_len_mean", "completion length (tokens)"},
	{"completion_len_correct", "completion length of correct answers (tokens)"},
	{"completion_len_wrong", "completion length of incorrect answers (tokens)"},
	{"completion_len_by_task/*", "completion length (tokens)"},
	{"think_len_by_task/*", "think block length (tokens)"},
	{"clip_low", "clip fraction, low (A < 0)"},
	{"clip_high", "clip fraction, high (A > 0)"},
	{"zero_variance_frac", "zero-variance group fraction"},
	{"tokens_per_s", "throughput (tokens/s)"},
	{"sft_loss", "SFT loss (cross-entropy, nats/token)"},
	{"loss", "GRPO objective (clipped surrogate loss)"},
}

// LoadRunMetrics reads dir/metrics.jsonl, dir/config.json, dir/latest and
// dir/eval/*.json (all but the first optional). Non-numeric values (maps,
// flags) are skipped; a line that is not JSON is an error naming it.
func LoadRunMetrics(dir string) (*RunMetrics, error) {
	r := &RunMetrics{Dir: dir, Name: filepath.Base(filepath.Clean(dir)), Series: map[string][]XY{}, Last: map[string]float64{}}
	f, err := os.Open(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("rl: report: %w: want a run folder with metrics.jsonl", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("rl: report: %s line %d: %v: want one JSON object per line", f.Name(), line, err)
		}
		step, ok := m["step"].(float64)
		if !ok {
			return nil, fmt.Errorf("rl: report: %s line %d: no numeric \"step\": want one per line", f.Name(), line)
		}
		r.Steps = max(r.Steps, int(step))
		for k, v := range m {
			if x, ok := v.(float64); ok && k != "step" {
				r.add(k, step, x)
			}
			// Per-task maps (val_pass1_by_task, ...) become one series per
			// task, "val_pass1_by_task/add:1".
			if sub, ok := v.(map[string]any); ok {
				for task, tv := range sub {
					if x, ok := tv.(float64); ok {
						r.add(k+"/"+task, step, x)
					}
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("rl: report: %s: %w", f.Name(), err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "config.json")); err == nil {
		if err := json.Unmarshal(b, &r.Config); err != nil {
			return nil, fmt.Errorf("rl: report: %s/config.json: %v", dir, err)
		}
		if s, ok := r.Config["seed"]; ok {
			r.Seed = fmt.Sprint(s)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "latest")); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			r.Latest = f[0]
		}
	}
	if err := r.loadManifest(); err != nil {
		return nil, err
	}
	evals, _ := filepath.Glob(filepath.Join(dir, "eval", "*.json"))
	sort.Strings(evals)
	for _, path := range evals {
		ef, err := LoadEvalFile(path)
		if err != nil {
			return nil, err
		}
		r.Evals = append(r.Evals, *ef)
	}
	return r, nil
}

func (r *RunMetrics) add(key string, step, x float64) {
	r.Series[key] = append(r.Series[key], XY{step, x})
	r.Last[key] = x
}

// loadManifest sets Kind and Offset from manifest.json, and renames an SFT
// run's "loss" (cross-entropy, nats per token) to "sft_loss", so that it
// never shares an axis with the GRPO objective, whose scale and sign mean
// something else.
func (r *RunMetrics) loadManifest() error {
	var man struct {
		Kind     string `json:"kind"`
		RunID    string `json:"run_id"`
		Init     string `json:"init"`
		InitCopy string `json:"init_copy"`
	}
	if b, err := os.ReadFile(filepath.Join(r.Dir, "manifest.json")); err == nil {
		if err := json.Unmarshal(b, &man); err != nil {
			return fmt.Errorf("rl: report: %s/manifest.json: %v", r.Dir, err)
		}
	}
	r.Kind, r.RunID = man.Kind, man.RunID
	if r.Kind == "" {
		// An older run or a copied metrics file: only GRPO logs rewards.
		r.Kind = "sft"
		if len(r.Series["reward_mean"]) > 0 {
			r.Kind = "train"
		}
	}
	if man.Init != "" {
		r.Offset = initStep(man.Init)
		if r.Offset == 0 && man.InitCopy != "" { // the original was pruned: the run's own copy has the header
			r.Offset = initStep(filepath.Join(r.Dir, man.InitCopy))
		}
	}
	if r.Kind == "sft" {
		if s, ok := r.Series["loss"]; ok {
			r.Series["sft_loss"], r.Last["sft_loss"] = s, r.Last["loss"]
			delete(r.Series, "loss")
			delete(r.Last, "loss")
		}
	}
	return nil
}

// initStep is the step of an initial checkpoint: from its file name
// (step-0001000.ckpt), else from its header; 0 when neither can be read
// (the file may have been pruned since).
func initStep(path string) int {
	name := filepath.Base(path)
	if d, ok := strings.CutSuffix(strings.TrimPrefix(name, "step-"), ".ckpt"); ok {
		if step, err := strconv.Atoi(d); err == nil && checkpoints.StepFileName(step) == name {
			return step
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	c, err := checkpoints.Decode(f, path)
	if err != nil {
		return 0
	}
	return c.Header.Step
}

// LoadEvalFile reads the JSON that `tinyr1 eval --json` writes.
func LoadEvalFile(path string) (*EvalFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rl: report: %w", err)
	}
	var ef EvalFile
	if err := json.Unmarshal(b, &ef); err != nil {
		return nil, fmt.Errorf("rl: report: %s: %v: want the output of tinyr1 eval --json", path, err)
	}
	ef.Path = path
	return &ef, nil
}

// RunGroup is a set of runs that differ only by seed.
type RunGroup struct {
	Name string        // the common prefix of the run names, or the first name
	Runs []*RunMetrics // in the order given
}

// GroupRuns groups runs whose config.json are equal once "seed" is removed.
// Runs without a config.json are groups of their own. Groups keep the order
// of their first run.
func GroupRuns(runs []*RunMetrics) []*RunGroup {
	var groups []*RunGroup
	keys := map[string]*RunGroup{}
	for i, r := range runs {
		key := fmt.Sprintf("#%d", i)
		if r.Config != nil {
			c := make(map[string]any, len(r.Config))
			for k, v := range r.Config {
				if k != "seed" {
					c[k] = v
				}
			}
			b, _ := json.Marshal(c) // map keys are sorted: a canonical form
			key = string(b)
		}
		g, ok := keys[key]
		if !ok {
			g = &RunGroup{}
			keys[key] = g
			groups = append(groups, g)
		}
		g.Runs = append(g.Runs, r)
	}
	for _, g := range groups {
		g.Name = groupName(g.Runs)
	}
	return groups
}

// groupName is the runs' common name prefix up to its last separator
// ("grpo-s1", "grpo-s2" -> "grpo"; "run1", "run2" -> "run"), or the first
// name when that leaves fewer than 2 characters.
func groupName(runs []*RunMetrics) string {
	name := runs[0].Name
	if len(runs) == 1 {
		return name
	}
	p := name
	for _, r := range runs[1:] {
		for !strings.HasPrefix(r.Name, p) {
			p = p[:len(p)-1]
		}
	}
	// Cut a partial token ("grpo-s" of grpo-s1, grpo-s2) back to the last separator.
	if i := strings.LastIndexAny(p, "-_. "); i >= 0 {
		p = p[:i]
	}
	p = strings.TrimRight(p, "-_. ")
	if len(p) < 2 {
		return name
	}
	return p
}

// GroupSeries is the curve of a group for one metric: the mean over its runs
// at each step all of them logged, with the min and max (equal to the mean
// for one run).
type GroupSeries struct {
	Steps, Mean, Min, Max []float64
	Runs                  int // runs that logged the metric
}

// Series returns the group's curve for a metric; Runs is 0 when no run
// logged it. Steps count from each run's Offset: a GRPO run started from
// step 1000 of an SFT run draws its step 1 at 1001, after its parent's
// curve rather than over it.
func (g *RunGroup) Series(key string) GroupSeries {
	var gs GroupSeries
	count := map[float64]int{}
	vals := map[float64][]float64{}
	for _, r := range g.Runs {
		s := r.Series[key]
		if len(s) == 0 {
			continue
		}
		gs.Runs++
		seen := map[float64]bool{}
		for _, p := range s {
			if seen[p.X] || math.IsNaN(p.Y) || math.IsInf(p.Y, 0) {
				continue // a resumed run may repeat a step; keep the first
			}
			seen[p.X] = true
			x := p.X + float64(r.Offset) // continue the parent's step axis
			count[x]++
			vals[x] = append(vals[x], p.Y)
		}
	}
	for x, n := range count {
		if n == gs.Runs {
			gs.Steps = append(gs.Steps, x)
		}
	}
	sort.Float64s(gs.Steps)
	for _, x := range gs.Steps {
		v := vals[x]
		lo, hi, sum := v[0], v[0], 0.0
		for _, y := range v {
			lo, hi, sum = min(lo, y), max(hi, y), sum+y
		}
		gs.Mean = append(gs.Mean, sum/float64(len(v)))
		gs.Min = append(gs.Min, lo)
		gs.Max = append(gs.Max, hi)
	}
	return gs
}

// EvalFile is what `tinyr1 eval --json` writes: the config and one
// evaluation per checkpoint.
type EvalFile struct {
	Config      eval.EvalConfig `json:"config"`
	Checkpoints []EvalCheck     `json:"checkpoints"`
	Path        string          `json:"-"` // where it was read from
}

// EvalCheck is the evaluation of one checkpoint.
type EvalCheck struct {
	Label   string         `json:"label"` // as given on the command line
	File    string         `json:"file"`  // the checkpoint file it resolved to
	Hash    string         `json:"hash"`  // its content hash
	RunID   string         `json:"run_id"`
	Step    int            `json:"step"`
	Rows    []eval.EvalRow `json:"rows"`
	Overall eval.EvalRow   `json:"overall"`
}

// ErrNoRuns is returned by Report without run folders.
var ErrNoRuns = errors.New("rl: report: no runs: want one or more run folders")
