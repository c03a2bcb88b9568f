package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"tinyr1/data"
	"tinyr1/rl"
	"tinyr1/rl/eval"
	"tinyr1/rl/report"
	"tinyr1/rl/train"
)

// evalFields are eval's settings, the fields of eval.EvalConfig; eval's
// flags are derived from them as sft's and train's are from train.Config
// (configflags.go).
var evalFields = structFields(reflect.TypeOf(eval.EvalConfig{}))

// Flags of eval that are not settings.
var (
	evalOutFlag = &cli.StringFlag{Name: "out", Category: catOutput,
		Usage: "also write the JSON result to this file (report reads RUN/eval/*.json)"}
	csvFlag = &cli.BoolFlag{Name: "csv", Category: catOutput,
		Usage: "write CSV, one line per checkpoint and task", Value: false}
)

var evalCommand = &cli.Command{
	Name:  "eval",
	Usage: "greedy and sampled pass@1, pass@k and maj@k per task",
	UsageText: "tinyr1 eval CKPT [CKPT...] [--tasks MIX] [--split test] [--problems 100] [--n 16] [--k 1,4,16] [--json|--csv]\n" +
		"   CKPT is a checkpoint file, a run folder (its latest), RUN/latest, RUN/best or RUN@STEP",
	Flags: append(structFlags(evalFields, eval.DefaultEvalConfig()),
		jsonFlag, csvFlag, evalOutFlag, logSamplesFlag, quietFlag),
	Action: evalAction,
}

// evalConfigFlags reads the evaluation config: the defaults, then the
// flags. Without sampling (--n 0) the default --k does not apply.
func evalConfigFlags(c *cli.Context) (eval.EvalConfig, error) {
	cfg := eval.DefaultEvalConfig()
	set, err := applyFlags(c, evalFields, &cfg)
	if err != nil {
		return cfg, err
	}
	if cfg.N == 0 && !slices.Contains(set, "ks") {
		cfg.Ks = nil
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usageError("eval: %v", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if cfg.TaskFiles, err = train.TaskFiles(cfg.Tasks); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func evalAction(c *cli.Context) error {
	ckpts, err := positionalArgs(c)
	if err != nil {
		return err
	}
	if len(ckpts) == 0 {
		return usageError("eval: no checkpoint: want one or more checkpoint files or run folders")
	}
	if c.Bool(jsonFlag.Name) && c.Bool(csvFlag.Name) {
		return usageError("eval: --json and --csv: want at most one of them")
	}
	cfg, err := evalConfigFlags(c)
	if err != nil {
		return err
	}
	if err := checkEvalOut(c.String(evalOutFlag.Name)); err != nil {
		return err
	}
	tok := data.NewTokenizer()
	if !c.Bool(quietFlag.Name) {
		printFileSplits(c.App.ErrWriter, "eval", cfg.Tasks)
	}
	out := report.EvalFile{Config: cfg}
	samples, err := openSampleLog(c.String(logSamplesFlag.Name))
	if err != nil {
		return err
	}
	defer samples.abort()
	for _, arg := range ckpts {
		p, ck, err := rl.LoadPolicy(arg, tok)
		if err != nil {
			return err
		}
		var bar *progressBar
		if !c.Bool(quietFlag.Name) {
			bar = newProgressBar(c.App.ErrWriter, "eval "+arg)
		}
		t0 := time.Now()
		res, err := eval.EvaluateLogged(p, tok, cfg, bar.update, samples.forCheckpoint(ck.File))
		bar.finish()
		if err != nil {
			return fmt.Errorf("eval %s: %w", arg, err)
		}
		if !c.Bool(quietFlag.Name) {
			fmt.Fprintf(c.App.ErrWriter, "eval %s: %d problems in %.1fs\n", arg, res.Overall.Problems, time.Since(t0).Seconds())
		}
		for _, r := range res.Rows {
			if r.Problems < cfg.Problems {
				fmt.Fprintf(c.App.ErrWriter, "tinyr1: eval: warning: %s has only %d distinct %s problems (--problems %d): each is evaluated once\n",
					r.Task(), r.Problems, cfg.Split, cfg.Problems)
			}
		}
		out.Checkpoints = append(out.Checkpoints, report.EvalCheck{Label: arg, File: ck.File, Hash: ck.Hash,
			RunID: ck.Header.RunID, Step: ck.Header.Step, Rows: res.Rows, Overall: res.Overall})
	}
	// The table is printed even when the sample log or --out cannot be
	// written at the end.
	logErr := samples.commit()
	outErr := writeEvalOut(c.String(evalOutFlag.Name), &out)
	switch {
	case c.Bool(jsonFlag.Name):
		err = writeEvalJSON(c.App.Writer, &out)
	case c.Bool(csvFlag.Name):
		err = writeEvalCSV(c.App.Writer, &out)
	default:
		err = writeEvalTable(c.App.Writer, &out)
	}
	return errors.Join(logErr, outErr, err)
}

func writeEvalJSON(w io.Writer, out *report.EvalFile) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// mainStats returns the completions that format, truncation and think
// length describe: greedy ones when there are, else sampled ones.
func mainStats(r *eval.EvalRow) *eval.DecodeStats {
	if r.Greedy != nil {
		return r.Greedy
	}
	return r.Sampled
}

// writeEvalTable writes one aligned table: a block of rows per task, one
// row per checkpoint, so that checkpoints compare side by side.
func writeEvalTable(w io.Writer, out *report.EvalFile) error {
	cfg := out.Config
	fmt.Fprintf(w, "# eval split=%s tasks=%s problems=%d greedy=%v n=%d k=%s temperature=%g top_p=%g seed=%d max_new=%d\n",
		cfg.Split, cfg.Tasks, cfg.Problems, cfg.Greedy, cfg.N, joinInts(cfg.Ks), cfg.Temperature, cfg.TopP, cfg.Seed, cfg.MaxNew)
	which := "greedy"
	if !cfg.Greedy {
		which = "sampled"
	}
	fmt.Fprintf(w, "# PROBLEMS: distinct problems; intervals are 95%% (greedy: Wilson; sampled: Wilson at the clustered samples' effective size); FORMAT, TRUNC and THINK (mean tokens in <think>) are over %s completions\n", which)
	if cfg.N > 0 {
		est := make([]string, len(cfg.Ks))
		for i, k := range cfg.Ks {
			est[i] = fmt.Sprintf("k=%d %s", k, eval.MajMethod(cfg.N, k))
		}
		fmt.Fprintf(w, "# MAJ@k: majority vote of the verifier's canonical answers (unreadable ones do not vote, ties score the fraction correct), mean over the k-subsets of the n samples (%s)\n",
			strings.Join(est, ", "))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := []string{"TASK", "CHECKPOINT", "STEP", "PROBLEMS"}
	if cfg.Greedy {
		head = append(head, "GREEDY", "95% CI")
	}
	if cfg.N > 0 {
		head = append(head, "SAMPLED", "95% CI")
		for _, k := range cfg.Ks {
			if k > 1 {
				head = append(head, fmt.Sprintf("PASS@%d", k))
			}
		}
		for _, k := range cfg.Ks {
			head = append(head, fmt.Sprintf("MAJ@%d", k))
		}
	}
	head = append(head, "FORMAT", "TRUNC", "THINK")
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	nrows := 0
	if len(out.Checkpoints) > 0 {
		nrows = len(out.Checkpoints[0].Rows) + 1
	}
	for i := range nrows {
		for j, ck := range out.Checkpoints {
			r := &ck.Overall
			if i < len(ck.Rows) {
				r = &ck.Rows[i]
			}
			task := r.Task()
			if j > 0 {
				task = ""
			}
			cells := []string{task, ck.Label, strconv.Itoa(ck.Step), strconv.Itoa(r.Problems)}
			if r.Greedy != nil {
				cells = append(cells, f3(r.Greedy.Pass1.Value), ci(r.Greedy.Pass1))
			}
			if r.Sampled != nil {
				cells = append(cells, f3(r.Sampled.Pass1.Value), ci(r.Sampled.Pass1))
				for _, ks := range r.K {
					if ks.K > 1 {
						cells = append(cells, f3(ks.PassAtK.Value))
					}
				}
				for _, ks := range r.K {
					cells = append(cells, f3(ks.MajAtK.Value))
				}
			}
			m := mainStats(r)
			cells = append(cells, f3(m.FormatRate), f3(m.TruncRate), fmt.Sprintf("%.1f", m.ThinkLen))
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
	}
	return tw.Flush()
}

// writeEvalCSV writes one line per checkpoint and task, with the config in
// columns of its own so that files from different runs concatenate.
func writeEvalCSV(w io.Writer, out *report.EvalFile) error {
	cfg := out.Config
	cw := csv.NewWriter(w)
	head := []string{"checkpoint", "file", "step", "task", "family", "level", "problems"}
	for _, mode := range []string{"greedy", "sampled"} {
		head = append(head, mode+"_pass1", mode+"_lo", mode+"_hi", mode+"_format", mode+"_trunc", mode+"_think", mode+"_len")
	}
	for _, k := range cfg.Ks {
		head = append(head, fmt.Sprintf("pass@%d", k), fmt.Sprintf("pass@%d_lo", k), fmt.Sprintf("pass@%d_hi", k),
			fmt.Sprintf("maj@%d", k), fmt.Sprintf("maj@%d_lo", k), fmt.Sprintf("maj@%d_hi", k))
	}
	head = append(head, "split", "seed", "n", "temperature", "top_p", "max_new")
	if err := cw.Write(head); err != nil {
		return err
	}
	g := func(x float64) string { return strconv.FormatFloat(x, 'g', 6, 64) }
	for _, ck := range out.Checkpoints {
		rows := append(append([]eval.EvalRow(nil), ck.Rows...), ck.Overall)
		for _, r := range rows {
			rec := []string{ck.Label, ck.File, strconv.Itoa(ck.Step), r.Task(), r.Family, strconv.Itoa(r.Level), strconv.Itoa(r.Problems)}
			for _, st := range []*eval.DecodeStats{r.Greedy, r.Sampled} {
				if st == nil {
					rec = append(rec, "", "", "", "", "", "", "")
					continue
				}
				rec = append(rec, g(st.Pass1.Value), g(st.Pass1.Lo), g(st.Pass1.Hi), g(st.FormatRate), g(st.TruncRate), g(st.ThinkLen), g(st.CompletionLen))
			}
			for i := range cfg.Ks {
				if i >= len(r.K) {
					rec = append(rec, "", "", "", "", "", "")
					continue
				}
				ks := r.K[i]
				rec = append(rec, g(ks.PassAtK.Value), g(ks.PassAtK.Lo), g(ks.PassAtK.Hi), g(ks.MajAtK.Value), g(ks.MajAtK.Lo), g(ks.MajAtK.Hi))
			}
			rec = append(rec, cfg.Split, strconv.FormatUint(cfg.Seed, 10), strconv.Itoa(cfg.N), g(cfg.Temperature), g(cfg.TopP), strconv.Itoa(cfg.MaxNew))
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

func f3(x float64) string { return fmt.Sprintf("%.3f", x) }

func ci(iv eval.Interval) string { return fmt.Sprintf("[%.3f,%.3f]", iv.Lo, iv.Hi) }

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// parseInts reads "1,4,16".
func parseInts(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		v, err := strconv.Atoi(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer: want a comma-separated list like 1,4,16", part)
		}
		out = append(out, v)
	}
	return out, nil
}

// progressBar draws one line on a terminal, at most five times a second.
// A nil *progressBar draws nothing, and so does one whose writer is not a
// terminal (logs stay clean).
type progressBar struct {
	w     io.Writer
	label string
	start time.Time
	last  time.Time
	drawn bool
}

func newProgressBar(w io.Writer, label string) *progressBar {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return &progressBar{w: w, label: label, start: time.Now()}
}

func (b *progressBar) update(done, total int) {
	if b == nil || (done < total && time.Since(b.last) < 200*time.Millisecond) {
		return
	}
	b.last = time.Now()
	const width = 30
	fill := width * done / max(total, 1)
	el := time.Since(b.start).Seconds()
	eta := 0.0
	if done > 0 {
		eta = el / float64(done) * float64(total-done)
	}
	fmt.Fprintf(b.w, "\r%s [%s%s] %d/%d %.0fs eta %.0fs ", b.label, strings.Repeat("#", fill), strings.Repeat(".", width-fill), done, total, el, eta)
	b.drawn = true
}

func (b *progressBar) finish() {
	if b != nil && b.drawn {
		fmt.Fprintln(b.w)
	}
}
