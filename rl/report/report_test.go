package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"tinyr1/rl/eval"
)

// The fixture under testdata/report: grpo-s1 and grpo-s2 differ only by
// seed (one group, "grpo"); sft has another config. Each logs 20 steps,
// val_pass1 every 5.
var reportRuns = []string{"testdata/report/grpo-s1", "testdata/report/grpo-s2", "testdata/report/sft"}

func TestLoadRunMetrics(t *testing.T) {
	r, err := LoadRunMetrics(reportRuns[0])
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "grpo-s1" || r.Seed != "1" || r.Steps != 20 {
		t.Errorf("name %q seed %q steps %d: want grpo-s1, 1, 20", r.Name, r.Seed, r.Steps)
	}
	if got := len(r.Series["reward_mean"]); got != 20 {
		t.Errorf("%d reward_mean points: want 20", got)
	}
	if got := len(r.Series["val_pass1"]); got != 4 {
		t.Errorf("%d val_pass1 points: want 4", got)
	}
	for _, k := range []string{"accuracy_by_task", "skipped_no_signal", "step"} {
		if _, ok := r.Series[k]; ok {
			t.Errorf("series %q: want only numeric metrics other than step", k)
		}
	}
}

func TestGroupRuns(t *testing.T) {
	var runs []*RunMetrics
	for _, d := range reportRuns {
		r, err := LoadRunMetrics(d)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	gs := GroupRuns(runs)
	if len(gs) != 2 || gs[0].Name != "grpo" || len(gs[0].Runs) != 2 || gs[1].Name != "sft" {
		t.Fatalf("groups %v: want grpo (2 runs) and sft", gs)
	}
	s := gs[0].Series("reward_mean")
	// Step 1: seeds give 0.32 and 0.37.
	if s.Runs != 2 || len(s.Steps) != 20 || s.Steps[0] != 1 || s.Min[0] != 0.32 || s.Max[0] != 0.37 || abs(s.Mean[0]-0.345) > 1e-12 {
		t.Errorf("grpo reward_mean: runs %d steps %d first (%g: %g..%g mean %g): want 2, 20, (1: 0.32..0.37 mean 0.345)",
			s.Runs, len(s.Steps), s.Steps[0], s.Min[0], s.Max[0], s.Mean[0])
	}
	if s := gs[1].Series("reward_mean"); s.Runs != 0 {
		t.Errorf("sft reward_mean has %d runs: want 0 (not logged)", s.Runs)
	}
}

func abs(x float64) float64 { return max(x, -x) }

func TestReportWritesPlots(t *testing.T) {
	out := t.TempDir()
	evalPath := filepath.Join(out, "eval-input.json")
	writeEvalFixture(t, evalPath)
	cfg := DefaultReportConfig()
	cfg.Runs, cfg.Out, cfg.Evals = reportRuns, out, []string{evalPath}
	res, err := Report(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"grpo", "sft"}; !reflect.DeepEqual(res.Groups, want) {
		t.Errorf("groups %v: want %v", res.Groups, want)
	}
	// metric -> expected series: label prefix, runs, points, band.
	type series struct {
		group  string
		runs   int
		points int
		band   bool
	}
	grpo20 := series{"grpo", 2, 20, true}
	want := map[string][]series{
		"reward_mean":             {grpo20},
		"accuracy":                {grpo20},
		"val_pass1_by_task/add:1": {{"grpo", 2, 4, true}, {"sft", 1, 4, false}},
		"kl":                      {grpo20},
		"entropy":                 {grpo20},
		"completion_len_mean":     {grpo20},
		"clip_low":                {grpo20},
		"clip_high":               {grpo20},
		"zero_variance_frac":      {grpo20},
		"tokens_per_s":            {grpo20, {"sft", 1, 20, false}},
		"sft_loss":                {{"sft", 1, 20, false}},
		"loss":                    {grpo20},
	}
	if len(res.Plots) != len(want) {
		t.Errorf("%d plots: want %d", len(res.Plots), len(want))
	}
	for _, p := range res.Plots {
		t.Run(p.Metric, func(t *testing.T) {
			ws, ok := want[p.Metric]
			if !ok {
				t.Fatalf("unexpected plot %s", p.Metric)
			}
			if len(p.Series) != len(ws) {
				t.Fatalf("%d series: want %d", len(p.Series), len(ws))
			}
			for i, w := range ws {
				s := p.Series[i]
				if !strings.HasPrefix(s.Label, w.group) || s.Runs != w.runs || s.Points != w.points || s.Band != w.band {
					t.Errorf("series %d = %+v: want %+v", i, s, w)
				}
			}
			if len(p.Files) != 2 || filepath.Ext(p.Files[0]) != ".png" || filepath.Ext(p.Files[1]) != ".svg" {
				t.Fatalf("files %v: want one .png and one .svg", p.Files)
			}
			img := decodePNG(t, p.Files[0])
			if b := img.Bounds(); b.Dx() < 300 || b.Dy() < 200 {
				t.Errorf("png is %dx%d: want a 6x4 inch plot", b.Dx(), b.Dy())
			}
			// Every series' line colour is drawn; a band shows as its tint on white.
			for _, s := range p.Series {
				if !hasColor(img, s.Color, 24) {
					t.Errorf("series %q: no pixel of its colour %v in %s", s.Label, s.Color, p.Files[0])
				}
				if s.Band {
					tint := blendOnWhite(s.Color, 0x40)
					if !hasColor(img, tint, 10) {
						t.Errorf("series %q: no band pixel %v in %s", s.Label, tint, p.Files[0])
					}
				}
			}
			svg, err := os.ReadFile(p.Files[1])
			if err != nil || !strings.Contains(string(svg), "<svg") {
				t.Errorf("svg %s: %v: want an SVG document", p.Files[1], err)
			}
		})
	}
	md, err := os.ReadFile(res.Summary)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"| grpo | grpo-s1, grpo-s2 | 1, 2 | GRPO | 20 ± 0 (n=2) | – prompts × 8 |", "| sft | sft | 1 | SFT | 20 | – examples |", "(n=2)", "**greedy pass@1**",
		"| add:1 | 0.500 ± 0.100 (n=2) | 0.100 |", "grpo (step 20)", "![training reward (mean)](reward_mean.png)"} {
		if !strings.Contains(string(md), s) {
			t.Errorf("summary.md lacks %q:\n%s", s, md)
		}
	}
}

// writeEvalFixture writes an eval file with the grpo seeds' step-20
// checkpoints (greedy pass@1 0.4 and 0.6 on add:1) and a checkpoint of no
// run (0.1).
func writeEvalFixture(t *testing.T, path string) {
	t.Helper()
	cfg := eval.DefaultEvalConfig()
	cfg.Tasks, cfg.N, cfg.Ks = "add:1", 0, nil
	row := func(v float64) eval.EvalRow {
		return eval.EvalRow{Family: "add", Level: 1, Problems: 10, Greedy: &eval.DecodeStats{Completions: 10, Correct: int(v * 10), Pass1: eval.Interval{Value: v}, FormatRate: 1}}
	}
	all := func(v float64) eval.EvalRow { r := row(v); r.Family, r.Level = "all", 0; return r }
	ef := EvalFile{Config: cfg, Checkpoints: []EvalCheck{
		{Label: "a", File: "testdata/report/grpo-s1/checkpoints/step-0000020.ckpt", Step: 20, Rows: []eval.EvalRow{row(0.4)}, Overall: all(0.4)},
		{Label: "b", File: "testdata/report/grpo-s2/checkpoints/step-0000020.ckpt", Step: 20, Rows: []eval.EvalRow{row(0.6)}, Overall: all(0.6)},
		{Label: "other", File: "/elsewhere/x.ckpt", Step: 5, Rows: []eval.EvalRow{row(0.1)}, Overall: all(0.1)},
	}}
	b, err := json.Marshal(&ef)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v: want a PNG that decodes", path, err)
	}
	return img
}

// hasColor reports whether some pixel is within tol of c in every channel.
func hasColor(img image.Image, c color.RGBA, tol int) bool {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if near(int(r>>8), int(c.R), tol) && near(int(g>>8), int(c.G), tol) && near(int(bl>>8), int(c.B), tol) {
				return true
			}
		}
	}
	return false
}

func near(a, b, tol int) bool { return a-b <= tol && b-a <= tol }

// blendOnWhite is c at alpha a over white.
func blendOnWhite(c color.RGBA, a uint8) color.RGBA {
	mix := func(v uint8) uint8 { return uint8((int(v)*int(a) + 255*(255-int(a)) + 127) / 255) }
	return color.RGBA{mix(c.R), mix(c.G), mix(c.B), 0xff}
}

// evalRunRow is an eval row whose figures derive from v: greedy pass@1 v,
// sampled pass@1 v/2, pass@4 v+0.1, maj@4 v+0.05, format rate 1, truncation
// rate 0.
func evalRunRow(family string, level int, v float64) eval.EvalRow {
	st := func(p float64) *eval.DecodeStats {
		return &eval.DecodeStats{Completions: 10, Pass1: eval.Interval{Value: p}, FormatRate: 1}
	}
	return eval.EvalRow{Family: family, Level: level, Problems: 10, Greedy: st(v), Sampled: st(v / 2),
		K: []eval.KStats{{K: 4, PassAtK: eval.Interval{Value: v + 0.1}, MajAtK: eval.Interval{Value: v + 0.05}}}}
}

// evalRunCheck evaluates add:1 at v and sort:1 at 1-v; overall is their mean.
func evalRunCheck(file, runID string, step int, v float64) EvalCheck {
	return EvalCheck{Label: runID, File: file, RunID: runID, Step: step,
		Rows: []eval.EvalRow{evalRunRow("add", 1, v), evalRunRow("sort", 1, 1-v)}, Overall: evalRunRow("all", 0, 0.5)}
}

// writeEvalRun makes a run folder dir/name with config.json (kind and seed),
// a metrics.jsonl ending at step, a latest pointer to that step's
// checkpoint, and eval/NAME for each eval file given.
func writeEvalRun(t *testing.T, dir, name, kind string, seed, step int, evals map[string][]EvalCheck) string {
	t.Helper()
	run := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Join(run, "eval"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := eval.DefaultEvalConfig()
	cfg.Tasks, cfg.Ks = "add:1,sort:1", []int{4}
	files := map[string]string{
		"config.json":   fmt.Sprintf(`{"kind": %q, "seed": %d, "steps": %d}`, kind, seed, step),
		"metrics.jsonl": fmt.Sprintf("{\"step\": 1, \"loss\": 1}\n{\"step\": %d, \"loss\": 0.5}\n", step),
		"latest":        fmt.Sprintf("checkpoints/step-%07d.ckpt\n", step),
	}
	for f, checks := range evals {
		b, err := json.Marshal(&EvalFile{Config: cfg, Checkpoints: checks})
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Join("eval", f)] = string(b)
	}
	for f, s := range files {
		if err := os.WriteFile(filepath.Join(run, f), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return run
}

// TestReportEvalTables: two arms of three seeds each. The final evaluation
// has one column per arm, in command-line order, with mean +- SE over seeds;
// a run whose eval file holds several checkpoints contributes its final
// one; an arm without ood.json shows "–" there.
func TestReportEvalTables(t *testing.T) {
	dir := t.TempDir()
	// Greedy pass@1 on add:1 per seed: sft 0.2, 0.4, 0.6 (mean 0.4, SE
	// 0.2/sqrt(3) = 0.1155); grpo 0.5, 0.6, 0.7 (mean 0.6, SE 0.0577).
	var runs []string
	for i, v := range []float64{0.2, 0.4, 0.6} {
		name := fmt.Sprintf("sft-s%d", i+1)
		file := filepath.Join(dir, name, "checkpoints", "step-0000300.ckpt")
		checks := []EvalCheck{evalRunCheck(file, name, 300, v)}
		if i == 1 {
			// Also an earlier checkpoint, named by run id only (a path
			// relative to another folder): the final one must win.
			checks = []EvalCheck{evalRunCheck("sft-s2/checkpoints/step-0000250.ckpt", name, 250, 0.9),
				evalRunCheck("sft-s2/checkpoints/step-0000300.ckpt", name, 300, v)}
		}
		evals := map[string][]EvalCheck{"test.json": checks}
		if i == 0 {
			evals["ood.json"] = []EvalCheck{evalRunCheck(file, name, 300, 0.1)}
		}
		runs = append(runs, writeEvalRun(t, dir, name, "sft", i+1, 300, evals))
	}
	// grpo runs first on the command line after sft-s1: column order is
	// first appearance.
	for i, v := range []float64{0.5, 0.6, 0.7} {
		name := fmt.Sprintf("grpo-s%d", i+1)
		file := filepath.Join(dir, name, "checkpoints", "step-0000060.ckpt")
		run := writeEvalRun(t, dir, name, "grpo", i+1, 60, map[string][]EvalCheck{"test.json": {evalRunCheck(file, name, 60, v)}})
		runs = append(runs, run)
	}
	out := t.TempDir()
	cfg := DefaultReportConfig()
	cfg.Runs, cfg.Out, cfg.Formats = runs, out, []string{"svg"}
	res, err := Report(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"sft", "grpo"}; !reflect.DeepEqual(res.Groups, want) {
		t.Fatalf("groups %v: want %v", res.Groups, want)
	}
	b, err := os.ReadFile(res.Summary)
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	// One table per figure and file: the lines that follow its title.
	table := func(file, title string) string {
		i := strings.Index(md, "### "+file+"\n")
		if i < 0 {
			t.Fatalf("summary.md has no section %s:\n%s", file, md)
		}
		sec := md[i+1:]
		if j := strings.Index(sec, "\n### "); j >= 0 {
			sec = sec[:j]
		}
		j := strings.Index(sec, "**"+title+"**\n\n")
		if j < 0 {
			t.Fatalf("section %s has no table %q:\n%s", file, title, sec)
		}
		tab := sec[j+len(title)+6:]
		return tab[:strings.Index(tab, "\n\n")]
	}
	const header = "| task | sft (step 300) | grpo (step 60) |\n|---|---|---|\n"
	for _, tc := range []struct{ file, title, want string }{
		{"test.json", "greedy pass@1", header +
			"| add:1 | 0.400 ± 0.115 (n=3) | 0.600 ± 0.058 (n=3) |\n" +
			"| sort:1 | 0.600 ± 0.115 (n=3) | 0.400 ± 0.058 (n=3) |\n" +
			"| all | 0.500 ± 0.000 (n=3) | 0.500 ± 0.000 (n=3) |"},
		{"test.json", "sampled pass@1", header +
			"| add:1 | 0.200 ± 0.058 (n=3) | 0.300 ± 0.029 (n=3) |\n" +
			"| sort:1 | 0.300 ± 0.058 (n=3) | 0.200 ± 0.029 (n=3) |\n" +
			"| all | 0.250 ± 0.000 (n=3) | 0.250 ± 0.000 (n=3) |"},
		{"test.json", "pass@4", header +
			"| add:1 | 0.500 ± 0.115 (n=3) | 0.700 ± 0.058 (n=3) |\n" +
			"| sort:1 | 0.700 ± 0.115 (n=3) | 0.500 ± 0.058 (n=3) |\n" +
			"| all | 0.600 ± 0.000 (n=3) | 0.600 ± 0.000 (n=3) |"},
		{"test.json", "maj@4", header +
			"| add:1 | 0.450 ± 0.115 (n=3) | 0.650 ± 0.058 (n=3) |\n" +
			"| sort:1 | 0.650 ± 0.115 (n=3) | 0.450 ± 0.058 (n=3) |\n" +
			"| all | 0.550 ± 0.000 (n=3) | 0.550 ± 0.000 (n=3) |"},
		{"test.json", "format-valid rate (greedy)", header +
			"| add:1 | 1.000 ± 0.000 (n=3) | 1.000 ± 0.000 (n=3) |\n" +
			"| sort:1 | 1.000 ± 0.000 (n=3) | 1.000 ± 0.000 (n=3) |\n" +
			"| all | 1.000 ± 0.000 (n=3) | 1.000 ± 0.000 (n=3) |"},
		{"test.json", "truncation rate (greedy)", header +
			"| add:1 | 0.000 ± 0.000 (n=3) | 0.000 ± 0.000 (n=3) |\n" +
			"| sort:1 | 0.000 ± 0.000 (n=3) | 0.000 ± 0.000 (n=3) |\n" +
			"| all | 0.000 ± 0.000 (n=3) | 0.000 ± 0.000 (n=3) |"},
		// Only sft-s1 has ood.json: its value alone; grpo has none.
		{"ood.json", "greedy pass@1", header +
			"| add:1 | 0.100 | – |\n" +
			"| sort:1 | 0.900 | – |\n" +
			"| all | 0.500 | – |"},
	} {
		t.Run(tc.file+"/"+tc.title, func(t *testing.T) {
			if got := table(tc.file, tc.title); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
	for _, s := range []string{"- sft-s2 has no eval/ood.json.", "- grpo-s1 has no eval/ood.json."} {
		if !strings.Contains(md, s) {
			t.Errorf("summary.md lacks note %q", s)
		}
	}

	// The CSV holds the same cells at full precision.
	f, err := os.Open(filepath.Join(out, "eval_summary.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(recs[0], []string{"file", "metric", "task", "group", "mean", "se", "n", "steps"}) {
		t.Errorf("csv header %v", recs[0])
	}
	cells := map[string][]string{} // file/metric/task/group -> mean, se, n, steps
	for _, r := range recs[1:] {
		cells[strings.Join(r[:4], "/")] = r[4:]
	}
	// test.json: 7 figures (greedy, sampled, pass@4, maj@4, format, trunc,
	// think) x 3 tasks x 2 groups; ood.json likewise.
	if want := 2 * 7 * 3 * 2; len(recs)-1 != want {
		t.Errorf("%d csv records: want %d", len(recs)-1, want)
	}
	num := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("csv value %q: %v", s, err)
		}
		return v
	}
	for _, tc := range []struct {
		key       string
		mean, se  float64
		n, steps  string
		emptyMean bool
	}{
		{key: "test.json/greedy_pass1/add:1/sft", mean: 0.4, se: 0.2 / math.Sqrt(3), n: "3", steps: "300"},
		{key: "test.json/greedy_pass1/add:1/grpo", mean: 0.6, se: 0.1 / math.Sqrt(3), n: "3", steps: "60"},
		{key: "test.json/maj@4/sort:1/grpo", mean: 0.45, se: 0.1 / math.Sqrt(3), n: "3", steps: "60"},
		{key: "ood.json/greedy_pass1/add:1/sft", mean: 0.1, se: -1, n: "1", steps: "300"},
		{key: "ood.json/greedy_pass1/add:1/grpo", emptyMean: true, se: -1, n: "0", steps: "60"},
	} {
		t.Run("csv/"+tc.key, func(t *testing.T) {
			c, ok := cells[tc.key]
			if !ok {
				t.Fatalf("no csv record")
			}
			if c[2] != tc.n || c[3] != tc.steps {
				t.Errorf("n, steps = %s, %s: want %s, %s", c[2], c[3], tc.n, tc.steps)
			}
			if tc.emptyMean != (c[0] == "") {
				t.Errorf("mean %q: want empty %v", c[0], tc.emptyMean)
			} else if !tc.emptyMean && abs(num(c[0])-tc.mean) > 1e-12 {
				t.Errorf("mean %s: want %g", c[0], tc.mean)
			}
			if tc.se < 0 && c[1] != "" {
				t.Errorf("se %q: want empty (n < 2)", c[1])
			} else if tc.se >= 0 && abs(num(c[1])-tc.se) > 1e-12 {
				t.Errorf("se %s: want %g", c[1], tc.se)
			}
		})
	}
}

// TestFinalCheck: which entry of a run's eval file stands for the run.
func TestFinalCheck(t *testing.T) {
	r := &RunMetrics{Dir: "runs/x/a-s1", Name: "a-s1", Steps: 300, Latest: "checkpoints/step-0000290.ckpt"}
	ck := func(file, id string, step int) EvalCheck { return EvalCheck{File: file, RunID: id, Step: step} }
	for _, tc := range []struct {
		name   string
		checks []EvalCheck
		want   int // index, -1 for none
	}{
		{"only entry", []EvalCheck{ck("elsewhere/b.ckpt", "b", 10)}, 0},
		{"latest pointer", []EvalCheck{ck("runs/x/a-s1/checkpoints/step-0000300.ckpt", "", 300), ck("runs/x/a-s1/checkpoints/step-0000290.ckpt", "", 290)}, 1},
		{"by run id", []EvalCheck{ck("a-s1/checkpoints/step-0000100.ckpt", "a-s1", 100), ck("a-s1/checkpoints/step-0000290.ckpt", "a-s1", 290)}, 1},
		{"last step without pointer match", []EvalCheck{ck("runs/x/a-s1/best.ckpt", "", 200), ck("runs/x/a-s1/last.ckpt", "", 300)}, 1},
		{"another run's final", []EvalCheck{ck("runs/x/b/checkpoints/step-0000290.ckpt", "b", 300), ck("runs/x/a-s1/c.ckpt", "", 100)}, -1},
		{"none final", []EvalCheck{ck("runs/x/a-s1/c1.ckpt", "", 100), ck("runs/x/a-s1/c2.ckpt", "", 200)}, -1},
		// A run folder rewritten with --force keeps eval/: the replaced
		// run's entries (another run id) never stand for the new run.
		{"replaced run's only entry", []EvalCheck{ck("runs/x/a-s1/checkpoints/step-0000290.ckpt", "old", 290)}, -1},
		{"replaced run's latest", []EvalCheck{ck("runs/x/a-s1/checkpoints/step-0000290.ckpt", "old", 290), ck("runs/x/a-s1/checkpoints/step-0000290.ckpt", "new", 290)}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ef := &EvalFile{Checkpoints: tc.checks}
			r.RunID = ""
			if strings.HasPrefix(tc.name, "replaced") {
				r.RunID = "new"
			}
			got := finalCheck(r, ef)
			var want *EvalCheck
			if tc.want >= 0 {
				want = &ef.Checkpoints[tc.want]
			}
			if got != want {
				t.Errorf("got %+v: want %+v", got, want)
			}
		})
	}
}

// TestTrendTables: each trend metric's table gives the mean of each run's
// first and last TrendWindow logged points and their difference, mean ± SE
// over the group's seeds; per-task keys get a table per task; a group that
// never logged the key has no row, and a key nobody logged no table.
func TestTrendTables(t *testing.T) {
	series := func(f func(i int) float64, n int) []XY {
		var s []XY
		for i := range n {
			s = append(s, XY{float64(i + 1), f(i)})
		}
		return s
	}
	r1 := &RunMetrics{Name: "grpo-s1", Series: map[string][]XY{
		"entropy":                series(func(i int) float64 { return map[bool]float64{true: 1, false: 3}[i < 10] }, 20),
		"think_len_by_task/kk:1": series(func(i int) float64 { return float64(i) }, 4), // shorter than the window
	}}
	r2 := &RunMetrics{Name: "grpo-s2", Series: map[string][]XY{"entropy": series(func(int) float64 { return 2 }, 25)}}
	sft := &RunMetrics{Name: "sft-s1", Series: map[string][]XY{"sft_loss": series(func(int) float64 { return 1 }, 30)}}
	var b strings.Builder
	trendMarkdown(&b, []*RunGroup{{Name: "sft", Runs: []*RunMetrics{sft}}, {Name: "grpo", Runs: []*RunMetrics{r1, r2}}})
	got := b.String()
	for _, want := range []string{
		"## Trends over training",
		"**entropy**\n\n| group | first 10 steps | last 10 steps | change |\n|---|---|---|---|\n| grpo | 1.5 ± 0.5 (n=2) | 2.5 ± 0.5 (n=2) | +1 ± 1 (n=2) |\n",
		"**think_len_by_task/kk:1**\n\n| group | first 10 steps | last 10 steps | change |\n|---|---|---|---|\n| grpo | 1.5 | 1.5 | +0 |\n",
		"\nA run logged only 4 points of think_len_by_task/kk:1: its windows are min(10, points) long, and overlap below 20 points.\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("trend tables:\n%s\nwant %q", got, want)
		}
	}
	if strings.Contains(got, "logged only 20") || strings.Contains(got, "logged only 25") {
		t.Errorf("trend tables:\n%s\nwant no overlap note for entropy, whose runs logged 20 and 25 points", got)
	}
	if strings.Contains(got, "| sft |") || strings.Contains(got, "completion_len_wrong") {
		t.Errorf("trend tables:\n%s\nwant no sft row and no table of a key nobody logged", got)
	}
	b.Reset()
	trendMarkdown(&b, []*RunGroup{{Name: "sft", Runs: []*RunMetrics{sft}}})
	if b.Len() != 0 {
		t.Errorf("no trend metric logged: wrote %q, want nothing", b.String())
	}
}

// TestLineDashes: groups that share a palette colour (i and i+len(Palette))
// get different dash patterns; the palette's first pass is solid.
func TestLineDashes(t *testing.T) {
	n := len(Palette)
	for i := range n {
		if d := lineDashes(i); d != nil {
			t.Errorf("group %d: dashes %v, want a solid line", i, d)
		}
	}
	a, b := lineDashes(n), lineDashes(2*n)
	if len(a) == 0 || len(b) == 0 || slices.Equal(a, b) {
		t.Errorf("groups %d and %d: dashes %v and %v: want two different non-solid patterns", n, 2*n, a, b)
	}
}

// TestReportRunWithoutKL: a GRPO run at beta 0 logs no kl (its reference
// scores nothing). Its row of the final-values table shows "–" under kl,
// beside a run that logged kl, and the kl plot draws only that run; a
// report of runs without kl has no kl plot at all.
func TestReportRunWithoutKL(t *testing.T) {
	dir := t.TempDir()
	line := func(kl bool) func(int) map[string]any {
		return func(s int) map[string]any {
			m := map[string]any{"reward_mean": 0.5, "loss": 0.1}
			if kl {
				m["kl"] = 0.001 * float64(s)
			}
			return m
		}
	}
	beta0 := writeRun(t, dir, "beta0", `{"kind": "train"}`, 5, line(false))
	beta04 := writeRun(t, dir, "beta04", `{"kind": "train"}`, 5, line(true))
	report := func(runs ...string) (*ReportResult, string) { return reportSummary(t, runs...) }
	klPlot := func(res *ReportResult) *PlotInfo {
		for i := range res.Plots {
			if res.Plots[i].Metric == "kl" {
				return &res.Plots[i]
			}
		}
		return nil
	}
	res, md := report(beta0, beta04)
	_, final, _ := strings.Cut(md, "## Final training values\n")
	for name, want := range map[string]string{"beta0": "–", "beta04": "0.005"} {
		i := strings.Index(final, "\n| "+name+" | ")
		if i < 0 {
			t.Fatalf("final training values have no row %s:\n%s", name, md)
		}
		row, _, _ := strings.Cut(final[i+1:], "\n")
		// | group | reward_mean | accuracy | val_pass1 | best val_pass1 | kl | ...
		if cells := strings.Split(row, " | "); len(cells) < 6 || cells[5] != want {
			t.Errorf("row %q: kl cell %q, want %q", row, cells[5], want)
		}
	}
	if p := klPlot(res); p == nil || len(p.Series) != 1 || p.Series[0].Label != "beta04" {
		t.Errorf("kl plot %+v: want one series, beta04's", p)
	}
	if res, _ := report(beta0); klPlot(res) != nil {
		t.Error("a report of a run without kl has a kl plot: want none")
	}
}

// reportSummary reports runs as SVG into a temporary folder and returns
// the result and its summary.md.
func reportSummary(t *testing.T, runs ...string) (*ReportResult, string) {
	t.Helper()
	cfg := DefaultReportConfig()
	cfg.Runs, cfg.Out, cfg.Formats = runs, t.TempDir(), []string{"svg"}
	res, err := Report(cfg)
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(res.Summary)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(md)
}
