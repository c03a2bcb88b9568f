package report

import (
	"fmt"
	"path/filepath"
	"strings"

	"tinyr1/rl/eval"
)

// summaryMarkdown writes the final values of every group and the final
// evaluations (report_eval.go).
func summaryMarkdown(groups []*RunGroup, evals []*evalTable, plots []PlotInfo) string {
	var b strings.Builder
	b.WriteString("# tinyr1 report\n\n")
	b.WriteString("Runs whose config.json differ only by seed are one group: curves show the mean over seeds with a min-max band; ")
	b.WriteString("tables give mean ± standard error over seeds (n = seeds).\n\n")
	b.WriteString("## Runs\n\n| group | runs | seeds | kind | steps | batch | wall-clock (s) |\n|---|---|---|---|---|---|---|\n")
	for _, g := range groups {
		var names, seeds []string
		steps, wall := make([]float64, len(g.Runs)), make([]float64, len(g.Runs))
		for i, r := range g.Runs {
			names, seeds, steps[i], wall[i] = append(names, r.Name), append(seeds, r.Seed), float64(r.Steps), r.WallClock()
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", g.Name, strings.Join(names, ", "), strings.Join(seeds, ", "),
			runKind(g.Runs[0]), meanSE(steps, "%.0f"), batchOf(g.Runs[0]), meanSE(wall, "%.0f"))
	}
	b.WriteString("\n## Final training values\n\n")
	cols := []string{"reward_mean", "accuracy", "val_pass1", "best val_pass1", "kl", "entropy", "completion_len_mean", "zero_variance_frac", "sft_loss", "loss"}
	b.WriteString("| group | " + strings.Join(cols, " | ") + " |\n|---" + strings.Repeat("|---", len(cols)) + "|\n")
	for _, g := range groups {
		cells := []string{g.Name}
		for _, c := range cols {
			var xs []float64
			for _, r := range g.Runs {
				if c == "best val_pass1" {
					if s := r.Series["val_pass1"]; len(s) > 0 {
						best := s[0].Y
						for _, p := range s {
							best = max(best, p.Y)
						}
						xs = append(xs, best)
					}
					continue
				}
				if v, ok := r.Last[c]; ok {
					xs = append(xs, v)
				}
			}
			cells = append(cells, meanSE(xs, "%.4g"))
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	trendMarkdown(&b, groups)
	b.WriteString("\n## Final evaluation\n\n")
	if len(evals) == 0 {
		b.WriteString("No evaluation found: run `tinyr1 eval RUN --json > RUN/eval/test.json` (or pass --eval FILE).\n")
	}
	for _, t := range evals {
		t.writeMarkdown(&b)
	}
	b.WriteString("\n## Plots\n\n")
	for _, p := range plots {
		for _, f := range p.Files {
			if strings.HasSuffix(f, ".png") {
				fmt.Fprintf(&b, "![%s](%s)\n", p.Title, filepath.Base(f))
			}
		}
	}
	return b.String()
}

// runKind names what a run trains, with where it started.
func runKind(r *RunMetrics) string {
	if r.Kind == "sft" {
		return "SFT"
	}
	if r.Offset > 0 {
		return fmt.Sprintf("GRPO from step %d", r.Offset)
	}
	return "GRPO"
}

// batchOf is a run's batch: examples per step for SFT, prompts x group for
// GRPO; "–" where config.json lacks it. SFT has no prompts or groups,
// though its config.json carries their defaults.
func batchOf(r *RunMetrics) string {
	cfg := func(key string) string {
		if v, ok := r.Config[key]; ok {
			return fmt.Sprint(v)
		}
		return "–"
	}
	if r.Kind == "sft" {
		return cfg("batch_size") + " examples"
	}
	return cfg("prompts") + " prompts × " + cfg("group")
}

// statValue returns s's pass@1, or get(s), and whether s exists.
func statValue(s *eval.DecodeStats, get func(*eval.DecodeStats) float64) (float64, bool) {
	if s == nil {
		return 0, false
	}
	if get != nil {
		return get(s), true
	}
	return s.Pass1.Value, true
}

// groupOf returns the group whose run folder holds the checkpoint's file,
// or whose run name is its run id.
func groupOf(groups []*RunGroup, ck *EvalCheck) *RunGroup {
	file, _ := filepath.Abs(ck.File)
	for _, g := range groups {
		for _, r := range g.Runs {
			dir, _ := filepath.Abs(r.Dir)
			if strings.HasPrefix(file, dir+string(filepath.Separator)) {
				return g
			}
		}
	}
	for _, g := range groups {
		for _, r := range g.Runs {
			if ck.RunID != "" && ck.RunID == r.Name {
				return g
			}
		}
	}
	return nil
}

// meanSE formats one value, or mean ± standard error (n) of several, or
// "–" for none.
func meanSE(xs []float64, format string) string {
	switch len(xs) {
	case 0:
		return "–"
	case 1:
		return fmt.Sprintf(format, xs[0])
	}
	m, se := eval.MeanStdErr(xs)
	return fmt.Sprintf(format+" ± "+format+" (n=%d)", m, se, len(xs))
}

// TrendWindow is how many logged steps the trend tables average at the
// start and at the end of a run.
const TrendWindow = 10

// TrendMetrics are the training figures whose change over a run the trend
// tables show ("/*": one table per task): the sampling entropy (DAPO's
// collapse), the completion length of correct and incorrect answers (Dr.
// GRPO's length bias), and the completion and think lengths per task
// (R1-Zero's growing reasoning).
var TrendMetrics = []string{"entropy", "completion_len_correct", "completion_len_wrong", "completion_len_by_task/*", "think_len_by_task/*"}

// trendMarkdown writes, for each trend metric some group logged, the mean
// of its first and of its last TrendWindow logged steps and their
// difference, each as mean ± SE over the group's seeds.
func trendMarkdown(b *strings.Builder, groups []*RunGroup) {
	var keys []string
	for _, k := range TrendMetrics {
		prefix, each := strings.CutSuffix(k, "*")
		if !each {
			keys = append(keys, k)
			continue
		}
		for _, t := range seriesTasks(groups, prefix) {
			keys = append(keys, prefix+t)
		}
	}
	header := false
	for _, k := range keys {
		var rows []string
		fewest := 0 // the fewest points of a run with the key
		for _, g := range groups {
			var first, last, diff []float64
			for _, r := range g.Runs {
				s := r.Series[k]
				if len(s) == 0 {
					continue
				}
				if fewest == 0 || len(s) < fewest {
					fewest = len(s)
				}
				w := min(TrendWindow, len(s))
				f, l := windowMean(s[:w]), windowMean(s[len(s)-w:])
				first, last, diff = append(first, f), append(last, l), append(diff, l-f)
			}
			if len(first) > 0 {
				rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s |", g.Name, meanSE(first, "%.4g"), meanSE(last, "%.4g"), signed(diff)))
			}
		}
		if len(rows) == 0 {
			continue
		}
		if !header {
			fmt.Fprintf(b, "\n## Trends over training\n\nThe mean of each run's first and last %d logged steps, and last − first; mean ± SE over seeds.\n", TrendWindow)
			header = true
		}
		fmt.Fprintf(b, "\n**%s**\n\n| group | first %d steps | last %d steps | change |\n|---|---|---|---|\n%s\n", k, TrendWindow, TrendWindow, strings.Join(rows, "\n"))
		if fewest < 2*TrendWindow {
			fmt.Fprintf(b, "\nA run logged only %d points of %s: its windows are min(%d, points) long, and overlap below %d points.\n", fewest, k, TrendWindow, 2*TrendWindow)
		}
	}
}

// signed is meanSE of differences, with a + before a mean that is not
// negative.
func signed(xs []float64) string {
	if m, _ := eval.MeanStdErr(xs); m >= 0 {
		return "+" + meanSE(xs, "%.4g")
	}
	return meanSE(xs, "%.4g")
}

// windowMean is the mean of the points' values.
func windowMean(ps []XY) float64 {
	t := 0.0
	for _, p := range ps {
		t += p.Y
	}
	return t / float64(len(ps))
}
