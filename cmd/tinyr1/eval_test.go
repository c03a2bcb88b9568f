package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"tinyr1/checkpoints"
	"tinyr1/data"
	"tinyr1/rl/report"
	"tinyr1/rl/train"
)

// evalFixture is a tiny-preset model warm-started on add:1 (about 2/3 of
// test problems right greedily), model tensors only. It was made by
//
//	tinyr1 sft --out RUN --preset tiny --steps 600 --tasks add:1 --batch-size 32 \
//	    --micro-batch 32 --lr 3e-3 --workers 1
//	TINYR1_TEST_EVAL_FIXTURE_SRC=RUN go test ./cmd/tinyr1/ -run TestMakeEvalFixture
const evalFixture = "testdata/tiny-add1.ckpt"

// TestMakeEvalFixture rewrites evalFixture from the latest checkpoint of the
// run in $TINYR1_TEST_EVAL_FIXTURE_SRC, keeping the model tensors only.
func TestMakeEvalFixture(t *testing.T) {
	src := os.Getenv("TINYR1_TEST_EVAL_FIXTURE_SRC")
	if src == "" {
		t.Skip("set TINYR1_TEST_EVAL_FIXTURE_SRC=RUN to rewrite " + evalFixture)
	}
	path, err := checkpoints.ResolvePath(src)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoints.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	out := &checkpoints.Checkpoint{Header: checkpoints.Header{Format: ck.Header.Format, RunID: "tiny-add1", Step: ck.Header.Step,
		ModelConfig: ck.Header.ModelConfig, TrainConfig: ck.Header.TrainConfig, Vocab: ck.Header.Vocab, Build: checkpoints.Build{Backend: train.Backend}}}
	for _, tn := range ck.Tensors {
		if strings.HasPrefix(tn.Name, "model.") {
			out.Tensors = append(out.Tensors, tn)
		}
	}
	if err := os.MkdirAll(filepath.Dir(evalFixture), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := checkpoints.Save(evalFixture, out); err != nil {
		t.Fatal(err)
	}
}

// runCLI runs the app in-process with files for its output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	dir := t.TempDir()
	o, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	code = run(append([]string{"tinyr1"}, args...), o, e)
	o.Close()
	e.Close()
	ob, _ := os.ReadFile(o.Name())
	eb, _ := os.ReadFile(e.Name())
	return code, string(ob), string(eb)
}

// evalArgs evaluate add:1 and add:2 (the fixture gets about 2/3 and 0).
var evalArgs = []string{"--tasks", "add:1-2", "--problems", "24", "--n", "4", "--k", "1,4", "--max-new", "40", "--workers", "1", "--quiet"}

func evalJSON(t *testing.T, args ...string) *report.EvalFile {
	t.Helper()
	code, out, errOut := runCLI(t, append(append([]string{"eval", evalFixture}, args...), "--json")...)
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, errOut)
	}
	var ef report.EvalFile
	if err := json.Unmarshal([]byte(out), &ef); err != nil {
		t.Fatalf("eval --json: %v\n%s", err, out)
	}
	return &ef
}

func TestEvalDeterministicAndMatchesSample(t *testing.T) {
	a := evalJSON(t, evalArgs...)
	b := evalJSON(t, append(evalArgs, "--workers", "2")...)
	b.Config.Workers = a.Config.Workers
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Fatalf("two evaluations differ:\n%s\n%s", ja, jb)
	}
	if len(a.Checkpoints) != 1 || len(a.Checkpoints[0].Rows) != 2 || a.Config.Problems != 24 || a.Config.Split != "test" {
		t.Fatalf("eval output %s: want one checkpoint, rows add:1 and add:2, 24 test problems, the config", ja)
	}
	ck := a.Checkpoints[0]
	if ck.Hash == "" || ck.File != evalFixture {
		t.Errorf("checkpoint %q hash %q: want the fixture and its hash", ck.File, ck.Hash)
	}

	// Greedy pass@1 of each task is the fraction of `sample --greedy`
	// completions the verifier accepts, on the same problems.
	for _, row := range ck.Rows {
		code, out, errOut := runCLI(t, "sample", evalFixture, "--family", row.Family, "--level", strconv.Itoa(row.Level),
			"--split", "test", "--n", "48", "--greedy", "--max-new", "40", "--json")
		if code != 0 {
			t.Fatalf("sample exit %d: %s", code, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		correct, distinct := 0, map[string]bool{}
		for _, l := range lines {
			var s struct {
				data.Problem
				Completion string `json:"completion"`
				Correct    bool   `json:"correct"`
				FormatOK   bool   `json:"format_ok"`
				Reason     string `json:"reason"`
			}
			if err := json.Unmarshal([]byte(l), &s); err != nil {
				t.Fatalf("sample --json line %q: %v", l, err)
			}
			// The verdict is the verifier's on the printed completion.
			if v, _ := data.Verify(&s.Problem, s.Completion); v.Correct != s.Correct || s.Reason == "" {
				t.Errorf("sample line %q: correct %v, reason %q: want the verifier's %+v", l, s.Correct, s.Reason, v)
			}
			// Eval takes the first 24 distinct problems, each once, at
			// its first index.
			if !distinct[s.Key] && len(distinct) < 24 {
				distinct[s.Key] = true
				if s.Correct {
					correct++
				}
			}
		}
		if len(lines) != 48 {
			t.Fatalf("sample wrote %d lines: want 48", len(lines))
		}
		// add:1 has only about 5 distinct test problems.
		if row.Problems != len(distinct) || (row.Level == 1) != (row.Problems < 24) {
			t.Fatalf("%s: eval took %d distinct problems: want the %d among sample's first 48", row.Task(), row.Problems, len(distinct))
		}
		if got, want := row.Greedy.Pass1.Value, float64(correct)/float64(len(distinct)); got != want {
			t.Errorf("%s: eval greedy pass@1 %g: want %g from sample --greedy", row.Task(), got, want)
		}
	}
	add1 := ck.Rows[0]
	if add1.Greedy.Pass1.Value < 0.3 {
		t.Errorf("add:1 greedy pass@1 = %g: want the fixture's skill (about 2/3)", add1.Greedy.Pass1.Value)
	}
	if k4 := add1.K[1]; k4.K != 4 || k4.PassAtK.Value < add1.Sampled.Pass1.Value || k4.PassAtK.Value > 1 {
		t.Errorf("add:1 pass@4 = %+v: want >= sampled pass@1 %g", k4, add1.Sampled.Pass1.Value)
	}
}

func TestEvalTableAndCSV(t *testing.T) {
	code, out, errOut := runCLI(t, append([]string{"eval", evalFixture, evalFixture}, evalArgs...)...)
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, errOut)
	}
	for _, s := range []string{"# eval split=test tasks=add:1-2 problems=24", "TASK", "GREEDY", "PASS@4", "MAJ@4", "add:1", "add:2", "all",
		"PROBLEMS: distinct problems", "canonical answers", "(k=1 exact, k=4 exact)"} {
		if !strings.Contains(out, s) {
			t.Errorf("table lacks %q:\n%s", s, out)
		}
	}
	// add:1 has about 5 distinct test problems: a warning says how many
	// (once per checkpoint), add:2 has the 24 asked for.
	if n := strings.Count(errOut, "warning: add:1 has only "); n != 2 || strings.Contains(errOut, "add:2 has only") {
		t.Errorf("stderr %q: want one warning per checkpoint about add:1's distinct problems", errOut)
	}
	// Two checkpoints side by side: two rows per task.
	if n := strings.Count(out, evalFixture); n != 6 {
		t.Errorf("checkpoint appears %d times: want 6 (3 tasks x 2):\n%s", n, out)
	}

	code, out, errOut = runCLI(t, append([]string{"eval", evalFixture, "--csv"}, evalArgs...)...)
	if code != 0 {
		t.Fatalf("eval --csv exit %d: %s", code, errOut)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || recs[0][0] != "checkpoint" || recs[1][3] != "add:1" || recs[3][3] != "all" {
		t.Fatalf("csv %v: want a header and rows add:1, add:2, all", recs)
	}
}

func TestEvalWritesOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "eval", "test.json")
	code, _, errOut := runCLI(t, append([]string{"eval", evalFixture, "--out", path, "--n", "0", "--k", ""}, evalArgs[:4]...)...)
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, errOut)
	}
	ef, err := report.LoadEvalFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if ef.Config.N != 0 || ef.Checkpoints[0].Rows[0].Sampled != nil || ef.Checkpoints[0].Rows[0].Greedy == nil {
		t.Errorf("greedy-only eval wrote %+v", ef.Checkpoints[0].Rows[0])
	}
}

func TestEvalUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no checkpoint", []string{"eval"}, "no checkpoint"},
		{"k above n", []string{"eval", evalFixture, "--n", "2"}, "k = 4"},
		{"bad k", []string{"eval", evalFixture, "--k", "1,x"}, "--k"},
		{"bad split", []string{"eval", evalFixture, "--split", "dev"}, "split"},
		{"json and csv", []string{"eval", evalFixture, "--json", "--csv"}, "at most one"},
		{"unknown flag", []string{"eval", evalFixture, "--bogus"}, "unknown flag"},
		{"sample two ckpts", []string{"sample", evalFixture, evalFixture}, "want one checkpoint"},
		{"score nothing", []string{"score", evalFixture}, "exactly one of --text"},
		{"report no out", []string{"report", "x"}, "--out"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, tc.args...)
			if code != 2 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q: want 2 and %q", code, errOut, tc.want)
			}
		})
	}
}

func TestSampleText(t *testing.T) {
	code, out, errOut := runCLI(t, "sample", evalFixture, "--family", "add", "--level", "1", "--n", "2", "--samples", "2")
	if code != 0 {
		t.Fatalf("sample exit %d: %s", code, errOut)
	}
	for _, s := range []string{"--- add:1 test #0 sample 0", "--- add:1 test #1 sample 1", "prompt:", "completion: <think>", "verdict:", "gold:"} {
		if !strings.Contains(out, s) {
			t.Errorf("sample output lacks %q:\n%s", s, out)
		}
	}
	code, out, errOut = runCLI(t, "sample", evalFixture, "--prompt", "add 3+4", "--greedy", "--json")
	if code != 0 {
		t.Fatalf("sample --prompt exit %d: %s", code, errOut)
	}
	var s struct {
		Prompt     string `json:"prompt"`
		Completion string `json:"completion"`
		FormatOK   bool   `json:"format_ok"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil || s.Prompt != "add 3+4" || !strings.HasPrefix(s.Completion, "<think>") {
		t.Errorf("sample --prompt --json = %q (%v): want the prompt and a completion", out, err)
	}
}

// TestScoreMatchesSample checks score against the engine's own log-probs:
// the greedy completion's tokens under temperature 1, summed, equal what
// score reports for prompt + completion (positions after the prompt).
func TestScoreMatchesSample(t *testing.T) {
	text := "add 3+5<think>3+5=8 c0; so 8</think><answer>8</answer>"
	code, out, errOut := runCLI(t, "score", evalFixture, "--text", text, "--eos")
	if code != 0 {
		t.Fatalf("score exit %d: %s", code, errOut)
	}
	var sl struct {
		Tokens   []string  `json:"tokens"`
		IDs      []int     `json:"ids"`
		LogProbs []float64 `json:"logprobs"`
		Total    float64   `json:"total"`
	}
	if err := json.Unmarshal([]byte(out), &sl); err != nil {
		t.Fatalf("score output %q: %v", out, err)
	}
	tok := data.NewTokenizer()
	ids, _ := tok.EncodePrompt(text)
	if len(sl.Tokens) != len(ids) || len(sl.LogProbs) != len(ids) || sl.Tokens[7] != "<think>" || sl.Tokens[len(sl.Tokens)-1] != "<eos>" {
		t.Fatalf("score tokens %q (%d log-probs): want the %d tokens of the text and <eos>", sl.Tokens, len(sl.LogProbs), len(ids))
	}
	sum := 0.0
	for _, lp := range sl.LogProbs {
		if !(lp <= 0) {
			t.Fatalf("log-prob %g: want <= 0", lp)
		}
		sum += lp
	}
	if math.Abs(sum-sl.Total) > 1e-3 {
		t.Errorf("total %g: want the sum %g", sl.Total, sum)
	}
	// The fixture knows the format: the tags after the worked solution are likely.
	if lp := sl.LogProbs[len(sl.LogProbs)-1]; lp < math.Log(0.5) {
		t.Errorf("log p(<eos> | ...</answer>) = %g: want a trained model to end there", lp)
	}

	// A file of lines gives one JSON line each.
	file := filepath.Join(t.TempDir(), "texts")
	os.WriteFile(file, []byte("add 1+1\n\nadd 2+2<think>\n"), 0o644)
	code, out, errOut = runCLI(t, "score", evalFixture, "--file", file)
	if code != 0 || strings.Count(out, "\n") != 2 {
		t.Errorf("score --file: exit %d, %q, %s: want 2 lines", code, out, errOut)
	}
}

func TestReportCommand(t *testing.T) {
	out := t.TempDir()
	runs := []string{"../../rl/report/testdata/report/grpo-s1", "../../rl/report/testdata/report/grpo-s2", "../../rl/report/testdata/report/sft"}
	code, stdout, errOut := runCLI(t, append(append([]string{"report"}, runs...), "--out", out, "--format", "png")...)
	if code != 0 {
		t.Fatalf("report exit %d: %s", code, errOut)
	}
	if !strings.Contains(stdout, "3 runs in 2 groups (grpo, sft)") {
		t.Errorf("report output %q: want 3 runs in 2 groups", stdout)
	}
	for _, f := range []string{"reward_mean.png", "val_pass1_by_task_add-1.png", "sft_loss.png", "loss.png", "kl.png", "entropy.png", "completion_len_mean.png",
		"clip_high.png", "zero_variance_frac.png", "tokens_per_s.png", "summary.md"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("report did not write %s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "kl.svg")); err == nil {
		t.Errorf("--format png wrote an svg")
	}
}

// FuzzParseInts: whatever parseInts accepts writes back (joinInts) to a
// list it reads as the same values.
func FuzzParseInts(f *testing.F) {
	for _, s := range []string{"1,4,16", "", " 2 , 3", "1,,2", "x", "-1", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		xs, err := parseInts(s)
		if err != nil {
			return
		}
		ys, err := parseInts(joinInts(xs))
		if err != nil || len(xs) != len(ys) {
			t.Fatalf("parseInts(%q) = %v, round trip %v, %v", s, xs, ys, err)
		}
		for i := range xs {
			if xs[i] != ys[i] {
				t.Fatalf("parseInts(%q) = %v, round trip %v", s, xs, ys)
			}
		}
	})
}
