package rl

import (
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
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
		"reward_mean":         {grpo20},
		"accuracy":            {grpo20},
		"val_pass1":           {{"grpo", 2, 4, true}, {"sft", 1, 4, false}},
		"kl":                  {grpo20},
		"entropy":             {grpo20},
		"completion_len_mean": {grpo20},
		"clip_low":            {grpo20},
		"clip_high":           {grpo20},
		"zero_variance_frac":  {grpo20},
		"tokens_per_s":        {grpo20, {"sft", 1, 20, false}},
		"loss":                {grpo20, {"sft", 1, 20, false}},
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
	for _, s := range []string{"| grpo | grpo-s1, grpo-s2 | 1, 2 | 20 ± 0 (n=2) | – | 8 |", "| sft |", "(n=2)", "**greedy pass@1**",
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
	cfg := DefaultEvalConfig()
	cfg.Tasks, cfg.N, cfg.Ks = "add:1", 0, nil
	row := func(v float64) EvalRow {
		return EvalRow{Family: "add", Level: 1, Problems: 10, Greedy: &DecodeStats{Completions: 10, Correct: int(v * 10), Pass1: Interval{Value: v}, FormatRate: 1}}
	}
	all := func(v float64) EvalRow { r := row(v); r.Family, r.Level = "all", 0; return r }
	ef := EvalFile{Config: cfg, Checkpoints: []EvalCheck{
		{Label: "a", File: "testdata/report/grpo-s1/checkpoints/step-0000020.ckpt", Step: 20, Rows: []EvalRow{row(0.4)}, Overall: all(0.4)},
		{Label: "b", File: "testdata/report/grpo-s2/checkpoints/step-0000020.ckpt", Step: 20, Rows: []EvalRow{row(0.6)}, Overall: all(0.6)},
		{Label: "other", File: "/elsewhere/x.ckpt", Step: 5, Rows: []EvalRow{row(0.1)}, Overall: all(0.1)},
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
