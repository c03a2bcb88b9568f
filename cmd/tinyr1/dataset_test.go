package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"tinyr1/checkpoints"
	"tinyr1/data"
	"tinyr1/rl/report"
	"tinyr1/rl/train"
)

// exampleDataset is the repository's example dataset (cmd/mkproblems).
const exampleDataset = "../../examples/problems.jsonl"

// copyExample copies the example dataset into a test folder.
func copyExample(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(exampleDataset)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mine.jsonl")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runMain runs the test binary as the tinyr1 command in a new process, so
// that the dataset file is read afresh (a process reads each file once).
func runMain(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Args[0] = "tinyr1"
	cmd.Env = append(os.Environ(), "TINYR1_TEST_AS_MAIN=1")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

var tinyFileArgs = []string{"--preset", "tiny", "--batch-size", "8", "--micro-batch", "8",
	"--eval-every", "0", "--workers", "1", "--quiet"}

// TestDatasetThreeCommands is the README's "train on your own problems in
// three commands": sft on a dataset file, eval on it, and the run records
// the file's SHA-256 in its config and checkpoints.
func TestDatasetThreeCommands(t *testing.T) {
	file := copyExample(t)
	raw, _ := os.ReadFile(file)
	sum := fmt.Sprintf("%x", sha256.Sum256(raw))
	run := filepath.Join(t.TempDir(), "run")
	args := append([]string{"sft", "--tasks", "file:" + file, "--out", run, "--steps", "2"}, tinyFileArgs...)
	if code, _, stderr := runApp(t, args...); code != 0 {
		t.Fatalf("sft: exit %d: %s", code, stderr)
	}
	cfgRaw, _ := os.ReadFile(filepath.Join(run, "config.json"))
	var cfg train.Config
	if err := json.Unmarshal(cfgRaw, &cfg); err != nil {
		t.Fatal(err)
	}
	if want := file + "=" + sum; cfg.TaskFiles != want {
		t.Errorf("config.json task_files = %q, want %q", cfg.TaskFiles, want)
	}
	ck, err := checkpoints.Load(filepath.Join(run, "checkpoints", "step-0000002.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ck.Header.TrainConfig), sum) {
		t.Errorf("checkpoint train config %s does not record the file's SHA-256 %s", ck.Header.TrainConfig, sum)
	}
	code, stdout, stderr := runApp(t, "eval", run, "--tasks", "file:"+file+":1", "--split", "test", "--problems", "30", "--n", "0", "--json")
	if code != 0 {
		t.Fatalf("eval: exit %d: %s", code, stderr)
	}
	f, _ := data.LoadFile(file)
	nTest := f.Distinct(1, data.Test)
	if want := fmt.Sprintf("level 1: %d train, %d validation, %d test problems", f.Distinct(1, data.Train), f.Distinct(1, data.Validation), nTest); !strings.Contains(stderr, want) {
		t.Errorf("eval stderr %q: want the split counts %q", stderr, want)
	}
	if nTest < 30 && !strings.Contains(stderr, fmt.Sprintf("has only %d distinct test problems (--problems 30)", nTest)) {
		t.Errorf("eval stderr %q: want a warning that the test split has %d < 30 problems", stderr, nTest)
	}
	var res report.EvalFile
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("eval --json: %v: %s", err, stdout)
	}
	if res.Config.TaskFiles != file+"="+sum {
		t.Errorf("eval config task_files = %q, want the file and its hash", res.Config.TaskFiles)
	}
}

// TestDatasetResumeRefusesChangedFile: a run resumes on the same bytes and
// refuses once the file changed.
func TestDatasetResumeRefusesChangedFile(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	file := copyExample(t)
	run := filepath.Join(t.TempDir(), "run")
	args := append([]string{"sft", "--tasks", "file:" + file, "--out", run, "--steps", "1"}, tinyFileArgs...)
	if code, _, stderr := runApp(t, args...); code != 0 {
		t.Fatalf("sft: exit %d: %s", code, stderr)
	}
	if code, out := runMain(t, "sft", "--resume", run, "--steps", "2", "--quiet"); code != 0 {
		t.Fatalf("resume on the same file: exit %d: %s", code, out)
	}
	fh, _ := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	fh.WriteString(`{"prompt": "digit sum 99999", "answer": "45", "kind": "integer"}` + "\n")
	fh.Close()
	code, out := runMain(t, "sft", "--resume", run, "--steps", "3", "--quiet")
	if code == 0 || !strings.Contains(out, "task file "+file) || !strings.Contains(out, "task_files of the run's config): the file changed") {
		t.Fatalf("resume on a changed file: exit %d, output %q: want a refusal naming the file", code, out)
	}
	if _, err := os.Stat(filepath.Join(run, "checkpoints", "step-0000003.ckpt")); err == nil {
		t.Fatal("the refused resume wrote a checkpoint")
	}
	// A new run pinned to the old hash is refused the same way, with status 2.
	cfgRaw, _ := os.ReadFile(filepath.Join(run, "config.json"))
	var cfg train.Config
	json.Unmarshal(cfgRaw, &cfg)
	args = append([]string{"sft", "--tasks", "file:" + file, "--task-files", cfg.TaskFiles, "--out", run + "2", "--steps", "1"}, tinyFileArgs...)
	if code, out := runMain(t, args...); code != 2 || !strings.Contains(out, "the file changed") {
		t.Fatalf("new run pinned to the old hash: exit %d, output %q: want 2 and a refusal", code, out)
	}
}

// TestDatasetContextAndLoadErrors: a file that does not fit the model's
// context, or a broken line, stops the run before training, naming file
// and line.
func TestDatasetContextAndLoadErrors(t *testing.T) {
	dir := t.TempDir()
	long := filepath.Join(dir, "long.jsonl")
	os.WriteFile(long, []byte(`{"prompt": "p", "answer": "1", "kind": "integer"}`+"\n"+
		`{"prompt": "`+strings.Repeat("x", 80)+`", "answer": "1", "kind": "integer"}`+"\n"), 0o644)
	args := append([]string{"sft", "--tasks", "file:" + long, "--out", filepath.Join(dir, "r1"), "--steps", "1"}, tinyFileArgs...)
	code, _, stderr := runApp(t, args...)
	if code == 0 || !strings.Contains(stderr, long+":2: prompt and gold completion take") || !strings.Contains(stderr, "at most 64") {
		t.Errorf("sft on a file longer than the context: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "r1", "checkpoints")); err == nil {
		t.Error("the refused run made a checkpoint folder")
	}
	// eval checks the context too, before decoding anything.
	code, _, stderr = runApp(t, "eval", evalFixture, "--tasks", "file:"+long, "--problems", "2", "--n", "1", "--k", "1", "--quiet")
	if code == 0 || !strings.Contains(stderr, long+":2: prompt and gold completion take") {
		t.Errorf("eval on a file longer than the context: exit %d, stderr %q", code, stderr)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"prompt": "p", "answer": "1", "kind": "integer"}`+"\n"+`{"prompt": "q", "answer": "1"}`+"\n"), 0o644)
	args = append([]string{"sft", "--tasks", "file:" + bad, "--out", filepath.Join(dir, "r2"), "--steps", "1"}, tinyFileArgs...)
	code, _, stderr = runApp(t, args...)
	if code != 2 || !strings.Contains(stderr, bad+`:2: missing field "kind"`) {
		t.Errorf("sft on a broken file: exit %d, stderr %q: want 2 and the line", code, stderr)
	}
}

// TestDatasetRoundTripCLI exports a built-in family as a dataset file and
// checks, through tasks export and tasks verify, that the file gives the
// same problems and the same verdicts as the family.
func TestDatasetRoundTripCLI(t *testing.T) {
	dir := t.TempDir()
	code, fileOut, stderr := runApp(t, "tasks", "export", "sort:1", "--split", "test", "--n", "40", "--format", "file")
	if code != 0 {
		t.Fatalf("export --format file: exit %d: %s", code, stderr)
	}
	file := filepath.Join(dir, "sort.jsonl")
	os.WriteFile(file, []byte(fileOut), 0o644)
	_, builtinOut, _ := runApp(t, "tasks", "export", "sort:1", "--split", "test", "--n", "40")
	// Every problem of the file, over its three splits, in problem format.
	var fromFile []data.Problem
	for _, s := range []string{"train", "validation", "test"} {
		code, out, stderr := runApp(t, "tasks", "export", "file:"+file+":1", "--split", s, "--n", "40")
		if code != 0 && !strings.Contains(stderr, "no level 1 problems") {
			t.Fatalf("export of the file's %s split: exit %d: %s", s, code, stderr)
		}
		seen := map[string]bool{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			var p data.Problem
			if l == "" || json.Unmarshal([]byte(l), &p) != nil || seen[p.Key] {
				continue
			}
			seen[p.Key] = true
			fromFile = append(fromFile, p)
		}
	}
	// The family's problems, each once (export --format file keeps the
	// first of problems with the same key or prompt).
	builtin, keys := map[string]data.Problem{}, map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(builtinOut), "\n") {
		var p data.Problem
		json.Unmarshal([]byte(l), &p)
		if _, dup := builtin[p.Prompt]; !dup && !keys[p.Key] {
			builtin[p.Prompt], keys[p.Key] = p, true
		}
	}
	if len(fromFile) != len(builtin) {
		t.Fatalf("the file gives %d problems, the family %d", len(fromFile), len(builtin))
	}
	// Verdicts: each problem with its gold answer, a reordered answer and
	// a doubled separator, through tasks verify, from both sides.
	var in strings.Builder
	wantCorrect := 0
	for _, p := range fromFile {
		b, ok := builtin[p.Prompt]
		if !ok || b.Answer != p.Answer || b.Solution != p.Solution {
			t.Fatalf("file problem %+v: built-in %+v", p, b)
		}
		items := strings.Fields(p.Answer)
		swapped := strings.Join(append(items[1:], items[0]), " ")
		for _, a := range []string{p.Answer, swapped, strings.Replace(p.Answer, " ", "  ", 1)} {
			if a == p.Answer {
				wantCorrect++
			}
			c := "<think>" + p.Solution + "</think><answer>" + a + "</answer>"
			for _, q := range []data.Problem{p, b} {
				line, _ := json.Marshal(struct {
					data.Problem
					Completion string `json:"completion"`
				}{q, c})
				in.Write(append(line, '\n'))
			}
		}
	}
	verifyIn := filepath.Join(dir, "verify.jsonl")
	os.WriteFile(verifyIn, []byte(in.String()), 0o644)
	code, out, stderr := runApp(t, "tasks", "verify", "--in", verifyIn)
	if code != 0 || stderr != "" {
		t.Fatalf("verify: exit %d: %s", code, stderr)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	var verdicts []data.Verdict
	for sc.Scan() {
		var v data.Verdict
		json.Unmarshal(sc.Bytes(), &v)
		verdicts = append(verdicts, v)
	}
	correct := 0
	for i := 0; i+1 < len(verdicts); i += 2 {
		f, b := verdicts[i], verdicts[i+1]
		if f.Correct != b.Correct || f.FormatOK != b.FormatOK {
			t.Errorf("verdict %d: file %+v, built-in %+v", i/2, f, b)
		}
		if f.Correct {
			correct++
		}
	}
	if correct != wantCorrect || len(verdicts) != 6*len(fromFile) {
		t.Errorf("%d of %d verdicts correct, want exactly the %d gold answers", correct, len(verdicts)/2, wantCorrect)
	}
	// Train and evaluate from the file; a model's own completions of the
	// file's problems get the family's verdicts too.
	run := filepath.Join(dir, "run")
	args := append([]string{"sft", "--tasks", "file:" + file, "--out", run, "--steps", "2"}, tinyFileArgs...)
	if code, _, stderr := runApp(t, args...); code != 0 {
		t.Fatalf("sft on the exported file: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runApp(t, "eval", run, "--tasks", "file:"+file, "--split", "train", "--problems", "4", "--n", "0", "--quiet"); code != 0 {
		t.Fatalf("eval on the exported file: exit %d: %s", code, stderr)
	}
	code, out, stderr = runApp(t, "sample", run, "--family", "file:"+file, "--level", "1", "--split", "train", "--n", "8", "--samples", "2", "--json")
	if code != 0 {
		t.Fatalf("sample: exit %d: %s", code, stderr)
	}
	in.Reset()
	var sampled []data.Verdict
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var s struct {
			data.Problem
			Completion string `json:"completion"`
			data.Verdict
		}
		if err := json.Unmarshal([]byte(l), &s); err != nil {
			t.Fatal(err)
		}
		sampled = append(sampled, s.Verdict)
		line, _ := json.Marshal(struct {
			data.Problem
			Completion string `json:"completion"`
		}{builtin[s.Prompt], s.Completion})
		in.Write(append(line, '\n'))
	}
	os.WriteFile(verifyIn, []byte(in.String()), 0o644)
	_, out, _ = runApp(t, "tasks", "verify", "--in", verifyIn)
	sc = bufio.NewScanner(strings.NewReader(out))
	for i := 0; sc.Scan(); i++ {
		var v data.Verdict
		json.Unmarshal(sc.Bytes(), &v)
		if i >= len(sampled) || v.Correct != sampled[i].Correct || v.FormatOK != sampled[i].FormatOK {
			t.Errorf("sampled completion %d: built-in verdict %+v, file verdict %+v", i, v, sampled[min(i, len(sampled)-1)])
		}
	}
	if len(sampled) != 16 {
		t.Errorf("%d sampled completions, want 16", len(sampled))
	}
}
