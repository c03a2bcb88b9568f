package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"tinyr1/checkpoints"
)

// hostileCheckpoint writes a copy of the eval fixture whose header's model
// config has key set to value, with a valid checksum, and returns its path.
func hostileCheckpoint(t *testing.T, key string, value any) string {
	t.Helper()
	ck, err := checkpoints.Load(evalFixture)
	if err != nil {
		t.Fatal(err)
	}
	var mc map[string]any
	if err := json.Unmarshal(ck.Header.ModelConfig, &mc); err != nil {
		t.Fatal(err)
	}
	mc[key] = value
	if ck.Header.ModelConfig, err = json.Marshal(mc); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), key+".ckpt")
	if _, err := checkpoints.Save(path, ck); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestHostileModelConfig feeds checkpoints whose header claims a model the
// tensor table does not hold (absurd sizes that would exhaust memory, and
// sizes inside the bounds that merely disagree with the tensors) to every
// command that reads a model: each must refuse with one line naming the
// value, and inspect must show the file and say why it is refused.
func TestHostileModelConfig(t *testing.T) {
	for _, tc := range []struct {
		key   string
		value any
		want  string
	}{
		{"dim", 1 << 20, "dim = 1048576: want at most"},
		{"layers", 1e9, "layers = 1000000000: want at most"},
		{"context", int64(1) << 40, "context = 1099511627776: want at most"},
		{"mlp", int64(1) << 45, "mlp = 35184372088832: want at most"},
		{"layers", 3, "means 40 tensors"},
		{"context", 128, "model.wpe is [128 16]"},
		{"tied", false, "means 29 tensors"},
	} {
		path := hostileCheckpoint(t, tc.key, tc.value)
		out := t.TempDir()
		for _, args := range [][]string{
			{"sample", path, "--n", "1"},
			{"score", path, "--text", "add 1+2"},
			{"eval", path, "--problems", "1", "--n", "0", "--quiet"},
			{"train", "--init", path, "--out", filepath.Join(out, "g"), "--quiet"},
			{"sft", "--from-samples", path, "--out", filepath.Join(out, "r"), "--quiet"},
			{"export", path, "--out", filepath.Join(out, "hf")},
		} {
			code, _, stderr := runApp(t, args...)
			if code != 1 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, tc.want) {
				t.Errorf("%s=%v: %s: exit %d, stderr %q: want exit 1 and one line with %q", tc.key, tc.value, args[0], code, stderr, tc.want)
			}
		}
		code, stdout, stderr := runApp(t, "inspect", path)
		if code != 0 || !strings.Contains(stdout, "model check") || !strings.Contains(stdout, tc.want) {
			t.Errorf("%s=%v: inspect: exit %d, stderr %q, stdout lacks a model check with %q:\n%s", tc.key, tc.value, code, stderr, tc.want, stdout)
		}
	}
	if code, stdout, _ := runApp(t, "inspect", evalFixture); code != 0 || !regexp.MustCompile(`model check +ok`).MatchString(stdout) {
		t.Errorf("inspect of a sound checkpoint: exit %d, want model check ok:\n%s", code, stdout)
	}
}

// TestShortFlagsAfterArgument checks that short flags written after a
// positional argument are applied, not dropped.
func TestShortFlagsAfterArgument(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tasks", "show", "bits", "-l", "3", "--n", "1"}, "--- bits level 3"},
		{[]string{"tasks", "show", "-l", "3", "bits", "--n", "1"}, "--- bits level 3"},
		{[]string{"tasks", "export", "-f", "sort", "-l", "2", "--n", "1"}, `"family":"sort","level":2`},
		{[]string{"sample", evalFixture, "-f", "sort", "-l", "2", "--n", "1", "--max-new", "4"}, "--- sort:2"},
	} {
		code, stdout, stderr := runApp(t, tc.args...)
		if code != 0 || !strings.Contains(stdout, tc.want) {
			t.Errorf("%q: exit %d, stderr %q, stdout %q: want %q", tc.args, code, stderr, stdout, tc.want)
		}
	}
}

// TestTrainInitRefusesOtherPreset checks that a --preset, which train
// cannot apply (the model is the checkpoint's), is refused from a flag and
// from --config, not recorded and ignored.
func TestTrainInitRefusesOtherPreset(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "medium.json")
	if err := os.WriteFile(cfg, []byte(`{"preset": "medium"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"train", "--init", evalFixture, "--out", filepath.Join(dir, "a"), "--preset", "small"},
		{"train", "--init", evalFixture, "--out", filepath.Join(dir, "b"), "--config", cfg},
	} {
		code, _, stderr := runApp(t, args...)
		if code != 2 || !strings.Contains(stderr, "preset") || !strings.Contains(stderr, "does not apply to train") {
			t.Errorf("%q: exit %d, stderr %q: want exit 2 refusing --preset", args, code, stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, "a")); err == nil {
			t.Errorf("%q: a refused run created its folder", args)
		}
	}
}

// TestResumeRefusesEditedConfig checks that a hand-edited config.json is
// refused on resume, naming the keys, while steps may change.
func TestResumeRefusesEditedConfig(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	if code, _, stderr := runApp(t, append([]string{"sft", "--out", run, "--steps", "1"}, tinySFTArgs...)...); code != 0 {
		t.Fatalf("sft: exit %d: %s", code, stderr)
	}
	path := filepath.Join(run, "config.json")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(strings.Replace(string(orig), `"seed": 1,`, `"seed": 7,`, 1), `"lr": 0.003,`, `"lr": 0.1,`, 1)
	if edited == string(orig) {
		t.Fatalf("config.json has no seed 1 and lr 0.003 to edit:\n%s", orig)
	}
	os.WriteFile(path, []byte(edited), 0o644)
	code, _, stderr := runApp(t, "sft", "--resume", run, "--steps", "2", "--quiet")
	if code != 2 || !strings.Contains(stderr, "differs from the training config") || !strings.Contains(stderr, "in seed, lr:") {
		t.Errorf("resume of an edited config: exit %d, stderr %q: want exit 2 naming seed and lr", code, stderr)
	}
	os.WriteFile(path, []byte(strings.Replace(string(orig), `"steps": 1,`, `"steps": 2,`, 1)), 0o644)
	if code, _, stderr := runApp(t, "sft", "--resume", run, "--quiet"); code != 0 {
		t.Errorf("resume with steps edited: exit %d, stderr %q: want 0", code, stderr)
	}
}

// TestNonFiniteRunMessages checks that a diverging run stops through the
// non-finite guard (not a JSON error) and does not claim a checkpoint that
// was never written.
func TestNonFiniteRunMessages(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"train", "--init", evalFixture, "--out", filepath.Join(dir, "g"), "--lr", "1e6", "--steps", "30", "--save-every", "100",
			"--tasks", "add:1", "--prompts", "4", "--group", "4", "--max-new", "16", "--eval-every", "5", "--eval-problems", "2", "--workers", "1", "--quiet"},
		append([]string{"sft", "--out", filepath.Join(dir, "s"), "--lr", "1e10", "--steps", "30", "--save-every", "100"}, tinySFTArgs...),
	} {
		code, _, stderr := runApp(t, args...)
		if code != 1 || !strings.Contains(stderr, "non-finite steps in a row") || !strings.Contains(stderr, "no checkpoint was written") {
			t.Errorf("%s: exit %d, stderr %q: want the non-finite guard saying no checkpoint was written", args[0], code, stderr)
		}
	}
}

// TestSFTWarnsOnceOfCutSolutions checks that worked solutions longer than
// the context are reported once, with the count, even with --quiet.
func TestSFTWarnsOnceOfCutSolutions(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	code, _, stderr := runApp(t, "sft", "--out", out, "--preset", "tiny", "--tasks", "add:4,mul:3", "--steps", "2",
		"--eval-every", "0", "--workers", "1", "--quiet")
	if code != 0 {
		t.Fatalf("sft: exit %d: %s", code, stderr)
	}
	re := regexp.MustCompile(`sft: warning: (\d+) of 32 training sequences at step 1 are longer than the 65 tokens a sequence may have \(context 64\)`)
	m := re.FindStringSubmatch(stderr)
	if m == nil || m[1] == "0" || strings.Count(stderr, "warning") != 1 {
		t.Errorf("stderr %q: want one warning counting the cut sequences of 32", stderr)
	}
}

var tinyGRPOArgs = []string{"--tasks", "add:1", "--prompts", "2", "--group", "2", "--max-new", "8", "--eval-every", "0",
	"--workers", "1", "--quiet"}

// grpoRunFromCopy makes a one-step GRPO run from a copy of the fixture and
// returns the copy (the run's initial checkpoint) and the run folder.
func grpoRunFromCopy(t *testing.T) (init, run string) {
	t.Helper()
	dir := t.TempDir()
	init = filepath.Join(dir, "step-0000600.ckpt")
	if err := os.WriteFile(init, readOrFail(t, evalFixture), 0o644); err != nil {
		t.Fatal(err)
	}
	run = filepath.Join(dir, "grpo")
	if code, _, stderr := runApp(t, append([]string{"train", "--init", init, "--out", run, "--steps", "1"}, tinyGRPOArgs...)...); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	return init, run
}

// TestResumeSurvivesDeletedInit checks that a GRPO run keeps its initial
// checkpoint: deleting the file it started from (as another run's
// retention may) does not stop it from resuming.
func TestResumeSurvivesDeletedInit(t *testing.T) {
	init, run := grpoRunFromCopy(t)
	if err := os.Remove(init); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runApp(t, "train", "--resume", run, "--steps", "2", "--quiet"); code != 0 {
		t.Fatalf("resume after the initial checkpoint was deleted: exit %d: %s", code, stderr)
	}
}

// TestForceKeepsEvalAndDropsPointers checks that --force replaces only what
// a run writes, says so, and leaves no pointer to a deleted checkpoint.
func TestForceKeepsEvalAndDropsPointers(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	args := append([]string{"sft", "--out", run, "--steps", "1"}, tinySFTArgs...)
	if code, _, stderr := runApp(t, append(args, "--eval-every", "1", "--eval-problems", "1")...); code != 0 {
		t.Fatalf("sft: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(run, "best")); err != nil {
		t.Fatalf("no best pointer after a validated step: %v", err)
	}
	os.MkdirAll(filepath.Join(run, "eval"), 0o755)
	os.WriteFile(filepath.Join(run, "eval", "test.json"), []byte("{}"), 0o644)
	code, _, stderr := runApp(t, append(args, "--force")...)
	if code != 0 || !strings.Contains(stderr, "replaced checkpoints, latest, best, metrics.jsonl, config.json, manifest.json in") {
		t.Fatalf("sft --force: exit %d, stderr %q: want a line saying what was replaced", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(run, "eval", "test.json")); err != nil {
		t.Errorf("--force deleted eval/: %v", err)
	}
	if _, err := os.Stat(filepath.Join(run, "best")); err == nil {
		t.Error("--force left the best pointer of the replaced run")
	}
	if code, _, stderr := runApp(t, "eval", run, "--problems", "1", "--n", "0", "--quiet"); code != 0 {
		t.Errorf("eval of the replaced run: exit %d: %s", code, stderr)
	}
}

// TestExportRefusesToOverwrite checks that export keeps an existing export
// unless --force is given, and says what --force replaced.
func TestExportRefusesToOverwrite(t *testing.T) {
	out := t.TempDir()
	weights := filepath.Join(out, "model.safetensors")
	os.WriteFile(weights, []byte("keep me"), 0o644)
	code, _, stderr := runApp(t, "export", evalFixture, "--out", out)
	if code != 1 || !strings.Contains(stderr, "already holds model.safetensors") || string(readOrFail(t, weights)) != "keep me" {
		t.Errorf("export over a model.safetensors: exit %d, stderr %q: want a refusal and the file kept", code, stderr)
	}
	code, _, stderr = runApp(t, "export", evalFixture, "--out", out, "--force")
	if code != 0 || !strings.Contains(stderr, "replaced model.safetensors in") || string(readOrFail(t, weights)) == "keep me" {
		t.Errorf("export --force: exit %d, stderr %q: want the file replaced and named", code, stderr)
	}
}

// TestEvalOutCheckedFirst checks that eval --out is checked before the
// evaluation, and that the table is printed when writing fails at the end.
func TestEvalOutCheckedFirst(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	for _, tc := range []struct {
		out  string
		code int
		want string
	}{
		{dir, 2, "is a folder: want a file name"},
		{filepath.Join(file, "eval.json"), 1, "not a directory"},
	} {
		code, stdout, stderr := runApp(t, "eval", evalFixture, "--problems", "1", "--n", "0", "--out", tc.out)
		if code != tc.code || !strings.Contains(stderr, tc.want) || strings.Contains(stderr, "problems in") || stdout != "" {
			t.Errorf("--out %s: exit %d, stdout %q, stderr %q: want exit %d with %q before evaluating", tc.out, code, stdout, stderr, tc.code, tc.want)
		}
	}
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full to fail the final write")
	}
	code, stdout, stderr := runApp(t, "eval", evalFixture, "--problems", "1", "--n", "0", "--quiet", "--out", "/dev/full")
	if code != 1 || !strings.Contains(stderr, "no space left") || !strings.Contains(stdout, "add:1") {
		t.Errorf("--out /dev/full: exit %d, stdout %q, stderr %q: want the table printed and the write error", code, stdout, stderr)
	}
}

// TestCheckpointPathForms checks that RUN, RUN/best, RUN/latest and
// RUN@STEP name a checkpoint wherever one is read.
func TestCheckpointPathForms(t *testing.T) {
	ck, err := checkpoints.Load(evalFixture)
	if err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(t.TempDir(), "run")
	if _, err := checkpoints.OpenRun(run).SaveStep(ck, 0.5, checkpoints.Retention{}); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	for _, p := range []string{run, run + "/best", run + "/latest", run + "@600"} {
		for _, args := range [][]string{
			{"inspect", p},
			{"eval", p, "--problems", "1", "--n", "0", "--quiet"},
			{"sample", p, "--n", "1", "--max-new", "4"},
			{"score", p, "--text", "add 1+2"},
			{"export", p, "--out", filepath.Join(out, filepath.Base(p))},
		} {
			if code, _, stderr := runApp(t, args...); code != 0 {
				t.Errorf("%q: exit %d: %s", args, code, stderr)
			}
		}
	}
	if code, _, stderr := runApp(t, "eval", run+"@5", "--quiet"); code != 1 || !strings.Contains(stderr, "no checkpoint of step 5: want one of the steps [600]") {
		t.Errorf("eval RUN@5: exit %d, stderr %q: want the steps the run has", code, stderr)
	}
}

// TestInitInsideOutRefusedWithForce: --force would delete an initial
// checkpoint that lies inside --out before the run could keep it, so that
// is refused (exit 2) and the file survives.
func TestInitInsideOutRefusedWithForce(t *testing.T) {
	run := filepath.Join(t.TempDir(), "grpo")
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	init := filepath.Join(run, "init.ckpt")
	if err := os.WriteFile(init, readOrFail(t, evalFixture), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runApp(t, append([]string{"train", "--init", init, "--out", run, "--force", "--steps", "1"}, tinyGRPOArgs...)...)
	if code != 2 || !strings.Contains(stderr, "lies inside --out") {
		t.Errorf("train --init inside --out --force: exit %d, stderr %q: want 2 and a line saying why", code, stderr)
	}
	if _, err := os.Stat(init); err != nil {
		t.Errorf("the initial checkpoint is gone: %v", err)
	}
}

// TestSymlinkedInitKeptAsFile: a run started from a symbolic link to a
// checkpoint keeps the checkpoint itself, so it resumes after the link's
// target moves away.
func TestSymlinkedInitKeptAsFile(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "src", "step-0000600.ckpt")
	os.MkdirAll(filepath.Dir(real), 0o755)
	if err := os.WriteFile(real, readOrFail(t, evalFixture), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "links", "init.ckpt")
	os.MkdirAll(filepath.Dir(link), 0o755)
	if err := os.Symlink("../src/step-0000600.ckpt", link); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "deep", "runs", "grpo")
	if code, _, stderr := runApp(t, append([]string{"train", "--init", link, "--out", run, "--steps", "1"}, tinyGRPOArgs...)...); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	if fi, err := os.Lstat(filepath.Join(run, "init.ckpt")); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("init.ckpt: %v, %v: want a regular file", fi, err)
	}
	if err := os.Rename(filepath.Join(dir, "src"), filepath.Join(dir, "moved")); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runApp(t, "train", "--resume", run, "--steps", "2", "--quiet"); code != 0 {
		t.Fatalf("resume after the link's target moved: exit %d: %s", code, stderr)
	}
}

// TestResumeWithoutInitSaysWhy: when both the run's init.ckpt and the
// original are gone, resume names the missing initial checkpoint.
func TestResumeWithoutInitSaysWhy(t *testing.T) {
	init, run := grpoRunFromCopy(t)
	os.Remove(init)
	os.Remove(filepath.Join(run, "init.ckpt"))
	code, _, stderr := runApp(t, "train", "--resume", run, "--steps", "2", "--quiet")
	if code == 0 || !strings.Contains(stderr, "initial checkpoint (its sampler or reference policy) is missing") {
		t.Errorf("resume without any initial checkpoint: exit %d, stderr %q: want a line naming it", code, stderr)
	}
}
