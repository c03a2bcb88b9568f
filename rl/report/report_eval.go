package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"tinyr1/rl/eval"
)

// The final evaluation of a report compares arms (docs/method.md, "Evaluation
// protocol"): for each eval file name found in the runs' eval/ folders
// (test.json, ood.json) and each figure, one table with a row per task
// (family:level, then "all") and a column per run group, each cell the mean
// +- standard error over the group's seeds. A run contributes the entry of
// its file that evaluates its own final checkpoint, or the file's only
// entry. Eval files given with --eval keep one table per file, with a column
// per group and checkpoint step and one per checkpoint of no run.

// evalTable is the evaluation of one eval file name (or one --eval file)
// over every column.
type evalTable struct {
	Name    string          // the file's base name, or the --eval path
	Config  eval.EvalConfig // the config of the first file read
	Columns []*evalColumn   // in the order the runs were given
	Tasks   []string        // row order: tasks in the eval's order, "all" last
	Notes   []string        // runs left out and configs that differ, for the reader
}

// evalColumn is one arm: the chosen evaluations of its seeds.
type evalColumn struct {
	Name   string       // the group's name, or a checkpoint's label
	Steps  string       // checkpoint step ("300"; "250-300" when seeds differ); "" when unknown
	Checks []*EvalCheck // one per seed that has the file
}

// Header is the column's table header: its name and step count.
func (c *evalColumn) Header() string {
	switch {
	case c.Steps == "":
		return c.Name
	case strings.Contains(c.Steps, "-"):
		return fmt.Sprintf("%s (steps %s)", c.Name, c.Steps)
	}
	return fmt.Sprintf("%s (step %s)", c.Name, c.Steps)
}

// values returns the figure on task over the column's seeds that have it.
func (c *evalColumn) values(task string, m evalMetric) []float64 {
	var xs []float64
	for _, ck := range c.Checks {
		if r := ck.row(task); r != nil {
			if v, ok := m.Get(r); ok {
				xs = append(xs, v)
			}
		}
	}
	return xs
}

// row returns the check's row of a task ("all" for the overall row), or nil.
func (ck *EvalCheck) row(task string) *eval.EvalRow {
	if task == "all" {
		return &ck.Overall
	}
	for i := range ck.Rows {
		if ck.Rows[i].Task() == task {
			return &ck.Rows[i]
		}
	}
	return nil
}

// evalMetric is one figure of an eval row.
type evalMetric struct {
	Key    string                                // CSV name: greedy_pass1, pass@16, format_rate, ...
	Title  string                                // table title
	Format string                                // printf verb of a value
	Get    func(r *eval.EvalRow) (float64, bool) // false when the row lacks the figure
}

// evalMetrics lists the figures some row of the table has, in protocol
// order: greedy pass@1, sampled pass@1, pass@k and maj@k for every k, then
// format-valid rate, truncation rate and think length of greedy decoding
// (of sampling when greedy decoding is off).
func (t *evalTable) evalMetrics() []evalMetric {
	var ks []int
	greedy := false
	for _, c := range t.Columns {
		for _, ck := range c.Checks {
			for _, r := range append(slices.Clone(ck.Rows), ck.Overall) {
				greedy = greedy || r.Greedy != nil
				for _, k := range r.K {
					if !slices.Contains(ks, k.K) {
						ks = append(ks, k.K)
					}
				}
			}
		}
	}
	slices.Sort(ks)
	ms := []evalMetric{
		{"greedy_pass1", "greedy pass@1", "%.3f", func(r *eval.EvalRow) (float64, bool) { return statValue(r.Greedy, nil) }},
		{"sampled_pass1", "sampled pass@1", "%.3f", func(r *eval.EvalRow) (float64, bool) { return statValue(r.Sampled, nil) }},
	}
	for _, k := range ks {
		if k == 1 {
			// pass@1 of n samples is c/n, the sampled pass@1 above: one
			// table, not two.
			continue
		}
		ms = append(ms, kMetric("pass", k, func(s *eval.KStats) float64 { return s.PassAtK.Value }))
	}
	for _, k := range ks {
		ms = append(ms, kMetric("maj", k, func(s *eval.KStats) float64 { return s.MajAtK.Value }))
	}
	// Rates of one decoding mode for the whole table, so that a column of
	// greedy rates never sits beside one of sampled rates.
	mode, stats := "sampled", func(r *eval.EvalRow) *eval.DecodeStats { return r.Sampled }
	if greedy {
		mode, stats = "greedy", func(r *eval.EvalRow) *eval.DecodeStats { return r.Greedy }
	}
	ms = append(ms,
		evalMetric{"format_rate", "format-valid rate (" + mode + ")", "%.3f", func(r *eval.EvalRow) (float64, bool) {
			return statValue(stats(r), func(s *eval.DecodeStats) float64 { return s.FormatRate })
		}},
		evalMetric{"trunc_rate", "truncation rate (" + mode + ")", "%.3f", func(r *eval.EvalRow) (float64, bool) {
			return statValue(stats(r), func(s *eval.DecodeStats) float64 { return s.TruncRate })
		}},
		evalMetric{"think_len", "mean think length, tokens (" + mode + ")", "%.1f", func(r *eval.EvalRow) (float64, bool) {
			return statValue(stats(r), func(s *eval.DecodeStats) float64 { return s.ThinkLen })
		}})
	var present []evalMetric
	for _, m := range ms {
	found:
		for _, c := range t.Columns {
			for _, task := range t.Tasks {
				if len(c.values(task, m)) > 0 {
					present = append(present, m)
					break found
				}
			}
		}
	}
	return present
}

// runEvalTables builds one table per eval file name in the runs' eval/
// folders, in order of first appearance, with a column per group.
func runEvalTables(groups []*RunGroup) []*evalTable {
	var tables []*evalTable
	byName := map[string]*evalTable{}
	var first []string // path of the file whose config the table shows
	for _, g := range groups {
		for _, r := range g.Runs {
			for i := range r.Evals {
				name := filepath.Base(r.Evals[i].Path)
				if _, ok := byName[name]; !ok {
					t := &evalTable{Name: name, Config: r.Evals[i].Config}
					byName[name] = t
					tables = append(tables, t)
					first = append(first, r.Evals[i].Path)
				}
			}
		}
	}
	for ti, t := range tables {
		var differ []string
		for _, g := range groups {
			col := &evalColumn{Name: g.Name}
			var steps []int
			for _, r := range g.Runs {
				ef := r.evalFile(t.Name)
				if ef == nil {
					t.Notes = append(t.Notes, fmt.Sprintf("%s has no eval/%s.", r.Name, t.Name))
					continue
				}
				if !sameEvalConfig(ef.Config, t.Config) {
					differ = append(differ, ef.Path)
				}
				ck := finalCheck(r, ef)
				if ck == nil {
					t.Notes = append(t.Notes, fmt.Sprintf("%s holds %d checkpoints, none the run's final one (step %d): left out.",
						ef.Path, len(ef.Checkpoints), r.Steps))
					continue
				}
				col.Checks = append(col.Checks, ck)
				steps = append(steps, ck.Step)
			}
			if len(steps) == 0 {
				for _, r := range g.Runs {
					steps = append(steps, r.Steps)
				}
			}
			col.Steps = stepRange(steps)
			t.Columns = append(t.Columns, col)
		}
		if len(differ) > 0 {
			t.Notes = append(t.Notes, fmt.Sprintf("The eval config of %s differs from that of %s shown above: their cells mix settings.",
				strings.Join(differ, ", "), first[ti]))
		}
		t.Tasks = tableTasks(t.Columns)
	}
	return tables
}

// fileEvalTable builds the table of one --eval file: checkpoints of one
// group at one step are seeds of one column; a checkpoint of no run is a
// column of its own.
func fileEvalTable(groups []*RunGroup, ef *EvalFile) *evalTable {
	t := &evalTable{Name: ef.Path, Config: ef.Config}
	type colKey struct {
		g    *RunGroup
		step int
	}
	byKey := map[colKey]*evalColumn{}
	for i := range ef.Checkpoints {
		ck := &ef.Checkpoints[i]
		g := groupOf(groups, ck)
		if g == nil {
			t.Columns = append(t.Columns, &evalColumn{Name: ck.Label, Steps: strconv.Itoa(ck.Step), Checks: []*EvalCheck{ck}})
			continue
		}
		key := colKey{g, ck.Step}
		col, ok := byKey[key]
		if !ok {
			col = &evalColumn{Name: g.Name, Steps: strconv.Itoa(ck.Step)}
			byKey[key] = col
			t.Columns = append(t.Columns, col)
		}
		col.Checks = append(col.Checks, ck)
	}
	t.Tasks = tableTasks(t.Columns)
	return t
}

// evalFile returns the run's eval file of that base name, or nil.
func (r *RunMetrics) evalFile(name string) *EvalFile {
	for i := range r.Evals {
		if filepath.Base(r.Evals[i].Path) == name {
			return &r.Evals[i]
		}
	}
	return nil
}

// finalCheck returns the entry of the run's eval file that evaluates the
// run's final checkpoint (the one its latest pointer names, else the one at
// its last logged step), or the file's only entry; nil when neither exists.
func finalCheck(r *RunMetrics, ef *EvalFile) *EvalCheck {
	if len(ef.Checkpoints) == 1 && !r.replaced(&ef.Checkpoints[0]) {
		return &ef.Checkpoints[0]
	}
	var atLast *EvalCheck
	for i := range ef.Checkpoints {
		ck := &ef.Checkpoints[i]
		if !r.owns(ck) || r.replaced(ck) {
			continue
		}
		if r.Latest != "" && filepath.Base(ck.File) == filepath.Base(r.Latest) {
			return ck
		}
		if ck.Step == r.Steps && atLast == nil {
			atLast = ck
		}
	}
	return atLast
}

// owns reports whether the checkpoint is one of the run's: its file lies in
// the run folder, or its run id is the run's name.
func (r *RunMetrics) owns(ck *EvalCheck) bool {
	file, _ := filepath.Abs(ck.File)
	dir, _ := filepath.Abs(r.Dir)
	return strings.HasPrefix(file, dir+string(filepath.Separator)) || (ck.RunID != "" && ck.RunID == r.Name)
}

// replaced reports whether the checkpoint belongs to another run of the
// same folder: one that `--force` replaced, whose eval/ it keeps. Both run
// ids must be known to tell.
func (r *RunMetrics) replaced(ck *EvalCheck) bool {
	return r.RunID != "" && ck.RunID != "" && ck.RunID != r.RunID
}

// sameEvalConfig compares everything but the worker count, which does not
// change results.
func sameEvalConfig(a, b eval.EvalConfig) bool {
	a.Workers, b.Workers = 0, 0
	return reflect.DeepEqual(a, b)
}

// stepRange is "300" for seeds at one step, "250-300" otherwise, "" for none.
func stepRange(steps []int) string {
	if len(steps) == 0 {
		return ""
	}
	lo, hi := slices.Min(steps), slices.Max(steps)
	if lo == hi {
		return strconv.Itoa(lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}

// tableTasks is every task of the columns' evaluations in first-seen order,
// then "all".
func tableTasks(cols []*evalColumn) []string {
	var tasks []string
	for _, c := range cols {
		for _, ck := range c.Checks {
			for i := range ck.Rows {
				if task := ck.Rows[i].Task(); task != "all" && !slices.Contains(tasks, task) {
					tasks = append(tasks, task)
				}
			}
		}
	}
	return append(tasks, "all")
}

// writeMarkdown writes the table's settings, notes, and one markdown table
// per figure; a column without the figure shows "–".
func (t *evalTable) writeMarkdown(b *strings.Builder) {
	c := t.Config
	fmt.Fprintf(b, "### %s\n\nsplit %s, tasks %s, %d problems per task, greedy %v, n = %d samples at temperature %g, top-p %g, seed %d, max_new %d\n\n",
		t.Name, c.Split, c.Tasks, c.Problems, c.Greedy, c.N, c.Temperature, c.TopP, c.Seed, c.MaxNew)
	for _, n := range t.Notes {
		fmt.Fprintf(b, "- %s\n", n)
	}
	if len(t.Notes) > 0 {
		b.WriteString("\n")
	}
	for _, m := range t.evalMetrics() {
		fmt.Fprintf(b, "**%s**\n\n| task |", m.Title)
		for _, col := range t.Columns {
			fmt.Fprintf(b, " %s |", col.Header())
		}
		b.WriteString("\n|---" + strings.Repeat("|---", len(t.Columns)) + "|\n")
		for _, task := range t.Tasks {
			fmt.Fprintf(b, "| %s |", task)
			for _, col := range t.Columns {
				fmt.Fprintf(b, " %s |", meanSE(col.values(task, m), m.Format))
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
}

// evalCSVHeader is the first line of eval_summary.csv.
var evalCSVHeader = []string{"file", "metric", "task", "group", "mean", "se", "n", "steps"}

// writeEvalCSV writes every cell of the tables, one line each: mean and
// standard error at full precision, empty when n is 0 (no value) and se
// empty when n is 1 (undefined).
func writeEvalCSV(w io.Writer, tables []*evalTable) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(evalCSVHeader); err != nil {
		return err
	}
	for _, t := range tables {
		for _, m := range t.evalMetrics() {
			for _, task := range t.Tasks {
				for _, col := range t.Columns {
					xs := col.values(task, m)
					mean, se := "", ""
					if len(xs) > 0 {
						mu, s := eval.MeanStdErr(xs)
						mean = strconv.FormatFloat(mu, 'g', -1, 64)
						if len(xs) > 1 {
							se = strconv.FormatFloat(s, 'g', -1, 64)
						}
					}
					rec := []string{t.Name, m.Key, task, col.Name, mean, se, strconv.Itoa(len(xs)), col.Steps}
					if err := cw.Write(rec); err != nil {
						return err
					}
				}
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// kMetric is the metric name@k (pass@k, maj@k), read by pick from a row's
// statistics for that k.
func kMetric(name string, k int, pick func(s *eval.KStats) float64) evalMetric {
	key := fmt.Sprintf("%s@%d", name, k)
	return evalMetric{key, key, "%.3f", func(r *eval.EvalRow) (float64, bool) {
		for i := range r.K {
			if r.K[i].K == k {
				return pick(&r.K[i]), true
			}
		}
		return 0, false
	}}
}
