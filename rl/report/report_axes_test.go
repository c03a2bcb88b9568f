package report

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"tinyr1/rl/eval"
)

func TestSmoothEMA(t *testing.T) {
	for _, tc := range []struct {
		name string
		ys   []float64
		w    float64
		want []float64
	}{
		// Debiased: a constant stays constant from the first point on.
		{"constant", []float64{2, 2, 2}, 0.9, []float64{2, 2, 2}},
		// m = 0.5*0 + 0.5*1 = 0.5, over 1 - 0.5^2 = 0.75: 2/3.
		{"step", []float64{0, 1}, 0.5, []float64{0, 2.0 / 3}},
		// m = 0.5, 0.25+0 = 0.25 over 0.75: 1/3; then 0.125+0.5 over 0.875.
		{"zigzag", []float64{1, 0, 1}, 0.5, []float64{1, 1.0 / 3, 0.625 / 0.875}},
		{"no smoothing", []float64{3, 1, 4}, 0, []float64{3, 1, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := smoothEMA(nil, tc.ys, tc.w)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d points %v: want %d", len(got), got, len(tc.want))
			}
			for i := range got {
				if math.Abs(got[i]-tc.want[i]) > 1e-12 {
					t.Fatalf("got %v: want %v", got, tc.want)
				}
			}
		})
	}
	if w := smoothWeight(20); w != 0.6 {
		t.Errorf("smoothWeight(20) = %g: want TensorBoard's 0.6", w)
	}
	if w := smoothWeight(3000); w != 0.95 {
		t.Errorf("smoothWeight(3000) = %g: want 0.95", w)
	}
}

func TestDenseTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		labels string
		ticks  int // labelled and minor
	}{
		{0, 60, "0 10 20 30 40 50 60", 31},
		{1, 1000, "100 200 300 400 500 600 700 800 900 1000", 50},
		{0, 1, "0 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1.0", 51},
		{-0.01, 0.2, "0 0.025 0.050 0.075 0.100 0.125 0.150 0.175 0.200", 43},
		{0, 90000, "0 10k 20k 30k 40k 50k 60k 70k 80k 90k", 46},
		{1e-10, 1.4e-10, "1e-10 1.05e-10 1.1e-10 1.15e-10 1.2e-10 1.25e-10 1.3e-10 1.35e-10 1.4e-10", 41},
	} {
		t.Run(fmt.Sprint(tc.lo, tc.hi), func(t *testing.T) {
			ticks := denseTicks{N: 10}.Ticks(tc.lo, tc.hi)
			var labels []string
			for _, tk := range ticks {
				if tk.Label != "" {
					labels = append(labels, tk.Label)
				}
			}
			if got := strings.Join(labels, " "); got != tc.labels || len(ticks) != tc.ticks {
				t.Errorf("labels %q, %d ticks: want %q, %d", got, len(ticks), tc.labels, tc.ticks)
			}
		})
	}
	// A flat curve: no round step to count in, and no endless loop.
	if ticks := (denseTicks{N: 10}).Ticks(1, math.Nextafter(1, 2)); len(ticks) == 0 || len(ticks) > 20 {
		t.Errorf("flat range: %d ticks: want a few", len(ticks))
	}
}

// writeRun writes a run folder with a manifest, a config and metrics
// lines made by line(step).
func writeRun(t *testing.T, dir, name, manifest string, steps int, line func(step int) map[string]any) string {
	t.Helper()
	run := filepath.Join(dir, name)
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for s := 1; s <= steps; s++ {
		m := line(s)
		m["step"] = s
		j, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(append(j, '\n'))
	}
	for f, text := range map[string]string{"metrics.jsonl": b.String(), "manifest.json": manifest,
		"config.json": fmt.Sprintf(`{"seed": 1, "name": %q, "batch_size": 32, "prompts": 8, "group": 8}`, name)} {
		if err := os.WriteFile(filepath.Join(run, f), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return run
}

// TestReportParentAndTasks: a GRPO run started from step 30 of an SFT run
// is drawn from step 31; their losses get separate plots; validation is
// plotted per task (SFT validated on add:1 and sort:1, GRPO on add:1).
func TestReportParentAndTasks(t *testing.T) {
	dir := t.TempDir()
	sft := writeRun(t, dir, "sft", `{"kind": "sft"}`, 30, func(s int) map[string]any {
		m := map[string]any{"loss": 3 - 0.05*float64(s), "tokens_per_s": 1000}
		if s%10 == 0 {
			m["val_pass1"] = 0.5
			m["val_pass1_by_task"] = map[string]any{"add:1": 0.6, "sort:1": 0.4}
		}
		return m
	})
	grpo := writeRun(t, dir, "grpo", `{"kind": "train", "init": "`+sft+`/checkpoints/step-0000030.ckpt"}`, 20, func(s int) map[string]any {
		m := map[string]any{"loss": -0.01 * float64(s%3), "reward_mean": 0.5, "tokens_per_s": 2000}
		if s%10 == 0 {
			m["val_pass1"] = 0.8
			m["val_pass1_by_task"] = map[string]any{"add:1": 0.8}
		}
		return m
	})
	out := t.TempDir()
	cfg := DefaultReportConfig()
	cfg.Runs, cfg.Out, cfg.Formats = []string{sft, grpo}, out, []string{"png"}
	res, err := Report(cfg)
	if err != nil {
		t.Fatal(err)
	}
	type curve struct {
		Label  string
		Points int
	}
	plots := map[string][]curve{}
	var offsets map[string][]int = map[string][]int{}
	smoothing := map[string]float64{}
	zoom := map[string]bool{}
	width := map[string]int{}
	for _, p := range res.Plots {
		zoom[p.Metric], width[p.Metric] = p.Zoom, decodePNG(t, p.Files[0]).Bounds().Dx()
		for _, s := range p.Series {
			plots[p.Metric] = append(plots[p.Metric], curve{s.Label, s.Points})
		}
		offsets[p.Metric], smoothing[p.Metric] = p.Offsets, p.Smoothing
		if want := filepath.Join(out, plotFileName(p.Metric)+".png"); p.Files[0] != want {
			t.Errorf("%s: file %s: want %s", p.Metric, p.Files[0], want)
		}
	}
	want := map[string][]curve{
		"sft_loss":                 {{"sft", 30}},
		"loss":                     {{"grpo", 20}},
		"reward_mean":              {{"grpo", 20}},
		"tokens_per_s":             {{"sft", 30}, {"grpo", 20}},
		"val_pass1_by_task/add:1":  {{"sft", 3}, {"grpo", 2}},
		"val_pass1_by_task/sort:1": {{"sft", 3}},
	}
	if !reflect.DeepEqual(plots, want) {
		t.Errorf("plots %v: want %v (no overall val_pass1: it mixes task sets)", plots, want)
	}
	if got := offsets["tokens_per_s"]; !reflect.DeepEqual(got, []int{30}) {
		t.Errorf("tokens_per_s offsets %v: want a dashed line at [30]", got)
	}
	if got := offsets["sft_loss"]; got != nil {
		t.Errorf("sft_loss offsets %v: want none (the SFT run starts from scratch)", got)
	}
	// A second panel from step 30 on where a curve lies before it.
	for metric, want := range map[string]bool{"tokens_per_s": true, "val_pass1_by_task/add:1": true, "loss": false, "sft_loss": false, "reward_mean": false} {
		if zoom[metric] != want {
			t.Errorf("%s: zoom panel %v: want %v", metric, zoom[metric], want)
		}
	}
	if w, w1 := width["tokens_per_s"], width["loss"]; math.Abs(float64(w)-1.6*float64(w1)) > 1 {
		t.Errorf("png widths %d (two panels), %d (one): want 1.6 times as wide", w, w1)
	}
	if got := smoothing["tokens_per_s"]; got != smoothWeight(30) {
		t.Errorf("tokens_per_s smoothing %g: want %g", got, smoothWeight(30))
	}
	if got := smoothing["val_pass1_by_task/add:1"]; got != 0 {
		t.Errorf("validation smoothing %g: want 0 (3 points drawn raw)", got)
	}

	// The GRPO curve continues the SFT step axis.
	runs := []*RunMetrics{}
	for _, d := range cfg.Runs {
		r, err := LoadRunMetrics(d)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	if runs[0].Kind != "sft" || runs[0].Offset != 0 || runs[1].Kind != "train" || runs[1].Offset != 30 {
		t.Errorf("kind, offset: %s %d, %s %d: want sft 0, train 30", runs[0].Kind, runs[0].Offset, runs[1].Kind, runs[1].Offset)
	}
	gs := GroupRuns(runs)
	if s := gs[1].Series("reward_mean"); s.Steps[0] != 31 || s.Steps[len(s.Steps)-1] != 50 {
		t.Errorf("grpo steps %g..%g: want 31..50", s.Steps[0], s.Steps[len(s.Steps)-1])
	}
	md, err := os.ReadFile(res.Summary)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range []string{"| sft | sft | 1 | SFT | 30 | 32 examples |", "| grpo | grpo | 1 | GRPO from step 30 | 20 | 8 prompts × 8 |"} {
		if !strings.Contains(string(md), row) {
			t.Errorf("summary.md lacks %q:\n%s", row, md)
		}
	}
}

// TestSummarySampledPass1Once: with k = 1 among the eval's k, the sampled
// pass@1 table is written once, not again as pass@1.
func TestSummarySampledPass1Once(t *testing.T) {
	dir := t.TempDir()
	check := evalRunCheck(filepath.Join(dir, "a", "checkpoints", "step-0000010.ckpt"), "a", 10, 0.5)
	for i := range check.Rows {
		check.Rows[i].K = append([]eval.KStats{{K: 1, PassAtK: check.Rows[i].Sampled.Pass1}}, check.Rows[i].K...)
	}
	run := writeEvalRun(t, dir, "a", "grpo", 1, 10, map[string][]EvalCheck{"test.json": {check}})
	_, md := reportSummary(t, run)
	for title, want := range map[string]int{"**sampled pass@1**": 1, "**pass@1**": 0, "**pass@4**": 1, "**maj@1**": 1} {
		if got := strings.Count(string(md), title+"\n"); got != want {
			t.Errorf("%s appears %d times: want %d", title, got, want)
		}
	}
}
