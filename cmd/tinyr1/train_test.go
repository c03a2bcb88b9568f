package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"tinyr1/checkpoints"
)

// TestMain lets the test binary act as the tinyr1 command for subprocess
// tests (signals need a real process).
func TestMain(m *testing.M) {
	if os.Getenv("TINYR1_TEST_AS_MAIN") == "1" {
		os.Exit(run(os.Args, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// runApp runs the app in-process and returns its exit status and output.
func runApp(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	dir := t.TempDir()
	out, _ := os.Create(filepath.Join(dir, "stdout"))
	errf, _ := os.Create(filepath.Join(dir, "stderr"))
	code := run(append([]string{"tinyr1"}, args...), out, errf)
	out.Close()
	errf.Close()
	o, _ := os.ReadFile(filepath.Join(dir, "stdout"))
	e, _ := os.ReadFile(filepath.Join(dir, "stderr"))
	return code, string(o), string(e)
}

var tinySFTArgs = []string{"--preset", "tiny", "--tasks", "add:1", "--batch-size", "8", "--micro-batch", "8",
	"--eval-every", "0", "--workers", "1", "--quiet"}

func TestTrainUsageErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bad.json")
	os.WriteFile(cfg, []byte(`{"steps": 3, "lerning_rate": 1}`), 0o644)
	presetCfg := filepath.Join(dir, "preset.json")
	os.WriteFile(presetCfg, []byte(`{"preset": "medium"}`), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"sft", "--out", dir + "/x", "--bogus"}, "bogus"},
		{"bad value", []string{"sft", "--out", dir + "/x", "--steps", "many"}, "steps"},
		{"bad preset", []string{"sft", "--out", dir + "/x", "--preset", "huge"}, "preset"},
		{"bad mixture", []string{"sft", "--out", dir + "/x", "--tasks", "add:9"}, "add:9"},
		{"bad loss", []string{"train", "--init", "x", "--out", dir + "/x", "--loss", "ppo"}, "ppo"},
		{"unknown config key", []string{"sft", "--out", dir + "/x", "--config", cfg}, "lerning_rate"},
		{"no out", []string{"sft"}, "--out"},
		{"no init", []string{"train", "--out", dir + "/y"}, "--init"},
		{"from-samples with preset", []string{"sft", "--from-samples", evalFixture, "--preset", "tiny", "--out", dir + "/z"}, "--preset"},
		{"empty from-samples", []string{"sft", "--from-samples", "", "--out", dir + "/z"}, "--from-samples"},
		{"from-samples with sft-data", []string{"sft", "--from-samples", evalFixture, "--sft-data", "64", "--out", dir + "/z"}, "--sft-data does not apply to sft --from-samples"},
		{"reward random refused", []string{"train", "--init", "x", "--out", dir + "/x", "--reward", "random"}, "shuffle is the matched control"},
		{"random-p out of range", []string{"train", "--init", "x", "--out", dir + "/x", "--reward", "bernoulli", "--random-p", "1.5"}, "random_p = 1.5: want a probability in [0, 1]"},
		{"random-p without bernoulli", []string{"train", "--init", "x", "--out", dir + "/x", "--reward", "shuffle", "--random-p", "0.5"}, "--random-p 0.5: want --reward bernoulli"},
		{"random-p other than default without bernoulli", []string{"train", "--init", "x", "--out", dir + "/x", "--random-p", "0.2"}, "random_p = 0.2: want reward bernoulli"},
		{"unknown advantage", []string{"train", "--init", "x", "--out", dir + "/x", "--advantage", "ppo"}, `unknown advantage estimator "ppo": want grpo, rloo, reinforce_pp or passk`},
		{"scale with rloo", []string{"train", "--init", "x", "--out", dir + "/x", "--advantage", "rloo", "--scale", "none"}, "scale = none: want advantage grpo to use it (advantage = rloo"},
		{"scale group given with rloo", []string{"train", "--init", "x", "--out", dir + "/x", "--advantage", "rloo", "--scale", "group"}, "--scale group: want --advantage grpo to use it (advantage = rloo"},
		{"adv-eps with rloo", []string{"train", "--init", "x", "--out", dir + "/x", "--advantage", "rloo", "--adv-eps", "0.1"}, "adv_eps = 0.1: want advantage grpo, reinforce_pp or passk"},
		{"passk-k above group", []string{"train", "--init", "x", "--out", dir + "/x", "--advantage", "passk", "--passk-k", "9"}, "passk_k = 9: want 1 to group-1 = 7"},
		{"gspo-eps-low at its default without sequence", []string{"train", "--init", "x", "--out", dir + "/x", "--gspo-eps-low", "3e-4"}, "--gspo-eps-low 0.0003: want --ratio-level sequence to use it (ratio_level = token)"},
		{"eps-high with mu 1", []string{"train", "--init", "x", "--out", dir + "/x", "--eps-high", "0.28"}, "--eps-high 0.28: want --mu 2 or more to use it (with mu 1 every ratio is exactly 1"},
		{"dual-clip with mu 1", []string{"train", "--init", "x", "--out", dir + "/x", "--dual-clip", "3"}, "--dual-clip 3: want --mu 2 or more to use it"},
		{"gspo-eps-high with sequence and mu 1", []string{"train", "--init", "x", "--out", dir + "/x", "--ratio-level", "sequence", "--gspo-eps-high", "0.01"}, "--gspo-eps-high 0.01: want --mu 2 or more to use it"},
		{"eps-high given with sequence", []string{"train", "--init", "x", "--out", dir + "/x", "--ratio-level", "sequence", "--mu", "2", "--eps-high", "0.2"}, "--eps-high 0.2: want --ratio-level token to use it (ratio_level sequence clips by --gspo-eps-low/high)"},
		{"is-cap at its default without a correction", []string{"train", "--init", "x", "--out", dir + "/x", "--is-cap", "2"}, "--is-cap 2: want --is-correction tis or mis to use it (is_correction = none)"},
		{"passk-k zero", []string{"train", "--init", "x", "--out", dir + "/x", "--advantage", "passk", "--passk-k", "0"}, "passk k 0: want 1 to the group size"},
		{"passk-k without passk", []string{"train", "--init", "x", "--out", dir + "/x", "--passk-k", "4"}, "--passk-k 4: want --advantage passk to use it (advantage = grpo)"},
		{"ref-reset-every negative", []string{"train", "--init", "x", "--out", dir + "/x", "--ref-reset-every", "-2", "--beta", "0.04"}, "ref_reset_every = -2: want a value >= 0 (0 is off)"},
		{"ref-reset-every with nothing to reset", []string{"train", "--init", "x", "--out", dir + "/x", "--ref-reset-every", "5"}, "ref_reset_every = 5: want beta > 0 or ref_reset_optimizer"},
		{"ref-reset-optimizer without a period", []string{"train", "--init", "x", "--out", dir + "/x", "--ref-reset-optimizer"}, "ref_reset_optimizer = true: want ref_reset_every >= 1"},
		{"from-samples with preset in config", []string{"sft", "--from-samples", evalFixture, "--config", presetCfg, "--out", dir + "/z"}, `key "preset" of --config`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runApp(t, tc.args...)
			if code != 2 {
				t.Fatalf("exit status %d, want 2; stderr: %s", code, stderr)
			}
			if strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("stderr %q: want one line naming %q", stderr, tc.want)
			}
		})
	}
}

// TestGRPOResumeAcrossRefReset: a run with a reference reset every 2 steps,
// stopped after step 2 (the first reset) and resumed with --resume to step
// 3, holds the same weights, AdamW state and embedded reference at step 3
// as the run that went through. (The run ids differ, as the two commands'
// --steps do, so the comparison is of the tensors; rl/train's
// TestRefResetResumes holds an interrupted run to byte-identical files.)
func TestGRPOResumeAcrossRefReset(t *testing.T) {
	flags := append([]string{"--init", evalFixture, "--ref-reset-every", "2", "--ref-reset-optimizer", "--beta", "0.04", "--save-every", "1"}, tinyGRPOArgs...)
	a, b := resumeAcrossReset(t, "train", flags)
	// With the reference embedded, the run's initial checkpoint is still
	// checked, as the parent: another file in its place is refused.
	initCopy := filepath.Join(b, checkpoints.InitFile)
	if err := os.Remove(initCopy); err != nil { // a hard link to the fixture: never write through it
		t.Fatal(err)
	}
	if err := os.WriteFile(initCopy, readOrFail(t, filepath.Join(a, "checkpoints", checkpoints.StepFileName(2))), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runApp(t, "train", "--resume", b, "--steps", "4", "--quiet"); code == 0 || !strings.Contains(stderr, "parent hash") {
		t.Errorf("resume with another init.ckpt: exit %d, stderr %q: want it refused naming the parent hash", code, stderr)
	}
}

func TestSFTRefusesExistingRunAndResumes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	args := append([]string{"sft", "--out", dir, "--steps", "2"}, tinySFTArgs...)
	if code, _, stderr := runApp(t, args...); code != 0 {
		t.Fatalf("sft: exit %d: %s", code, stderr)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "checkpoints", "step-0000002.ckpt"))
	if code, _, stderr := runApp(t, args...); code == 0 || !strings.Contains(stderr, "--resume") {
		t.Fatalf("sft over an existing run: exit %d, stderr %q: want an error suggesting --resume", code, stderr)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "checkpoints", "step-0000002.ckpt"))
	if !bytes.Equal(before, after) {
		t.Fatal("refused run changed the existing checkpoint")
	}
	if code, _, stderr := runApp(t, "sft", "--resume", dir, "--steps", "3", "--lr", "1"); code != 2 {
		t.Fatalf("resume with a changed setting: exit %d (%s), want 2", code, stderr)
	}
	if code, _, stderr := runApp(t, "sft", "--resume", dir, "--steps", "3", "--quiet"); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	if _, err := checkpoints.Load(filepath.Join(dir, "checkpoints", "step-0000003.ckpt")); err != nil {
		t.Fatal(err)
	}
}

// TestSIGINTWritesCheckpoint runs sft in a subprocess, interrupts it, checks
// the checkpoint it wrote and resumes the run to the end.
func TestSIGINTWritesCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	dir := filepath.Join(t.TempDir(), "run")
	args := append([]string{"tinyr1", "sft", "--out", dir, "--steps", "100000", "--save-every", "100000"}, tinySFTArgs...)
	cmd := exec.Command(os.Args[0], args[1:]...)
	cmd.Args[0] = "tinyr1"
	cmd.Env = append(os.Environ(), "TINYR1_TEST_AS_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for a few steps of metrics.
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
		if bytes.Count(b, []byte("\n")) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no progress after 60 s: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 130 {
		t.Fatalf("interrupted sft: %v, want exit status 130; stderr: %s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "--resume "+dir) {
		t.Fatalf("stderr %q: want how to resume", stderr.String())
	}
	latest, err := checkpoints.OpenRun(dir).Latest()
	if err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoints.Load(latest)
	if err != nil {
		t.Fatal(err)
	}
	step := ck.Header.Step
	if step < 3 {
		t.Fatalf("checkpoint at step %d, want >= 3", step)
	}
	if code, _, e := runApp(t, "sft", "--resume", dir, "--steps", itoa(step+2), "--quiet"); code != 0 {
		t.Fatalf("resume after SIGINT: exit %d: %s", code, e)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestSameCommandSameBytes: the same command in two run folders writes
// byte-identical checkpoints (the run id is derived from what the run
// computes, not from its folder).
func TestSameCommandSameBytes(t *testing.T) {
	root := t.TempDir()
	var files [2][]byte
	for i, name := range []string{"a", "b"} {
		dir := filepath.Join(root, name)
		args := append([]string{"sft", "--out", dir, "--steps", "2"}, tinySFTArgs...)
		if code, _, stderr := runApp(t, args...); code != 0 {
			t.Fatalf("sft: exit %d: %s", code, stderr)
		}
		files[i], _ = os.ReadFile(filepath.Join(dir, "checkpoints", "step-0000002.ckpt"))
	}
	if len(files[0]) == 0 || !bytes.Equal(files[0], files[1]) {
		t.Fatal("the same sft command in two folders wrote different checkpoints")
	}
}

// TestSFTFromSamples: sft --from-samples trains the fixture on its own
// verified completions, records the sampler in the manifest, resumes to a
// longer total, and refuses --from-samples with --resume.
func TestSFTFromSamples(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rft")
	args := []string{"sft", "--from-samples", evalFixture, "--out", dir, "--tasks", "add:1", "--batch-size", "8",
		"--group", "4", "--max-new", "24", "--steps", "2", "--eval-every", "0", "--workers", "1", "--quiet"}
	if code, _, stderr := runApp(t, args...); code != 0 {
		t.Fatalf("sft --from-samples: exit %d: %s", code, stderr)
	}
	man, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if !bytes.Contains(man, []byte("tiny-add1.ckpt")) {
		t.Errorf("manifest.json does not name the sampler:\n%s", man)
	}
	metrics, _ := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if !bytes.Contains(metrics, []byte(`"rft_accept_rate"`)) {
		t.Errorf("metrics.jsonl lacks rft_accept_rate:\n%s", metrics)
	}
	if code, _, stderr := runApp(t, "sft", "--resume", dir, "--steps", "3", "--quiet"); code != 0 {
		t.Fatalf("sft --resume of a --from-samples run: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runApp(t, "sft", "--resume", dir, "--from-samples", evalFixture); code != 2 || !strings.Contains(stderr, "from-samples") {
		t.Fatalf("--resume with --from-samples: exit %d, stderr %q: want 2 naming the flag", code, stderr)
	}
}

// TestRFTResumeAcrossSamplerReset: iterated rejection sampling from the
// command line, a sampler reset every 2 steps (no --beta: RFT needs none),
// stopped after step 2 (the first reset) and resumed with --resume to step
// 3, holds the same weights, AdamW state and embedded sampler at step 3 as
// the run that went through, and logs ref_reset at step 2 only.
func TestRFTResumeAcrossSamplerReset(t *testing.T) {
	flags := []string{"--from-samples", evalFixture, "--ref-reset-every", "2", "--save-every", "1", "--tasks", "add:1",
		"--batch-size", "8", "--group", "4", "--max-new", "24", "--eval-every", "0", "--workers", "1", "--quiet"}
	a, _ := resumeAcrossReset(t, "sft", flags)
	metrics, _ := os.ReadFile(filepath.Join(a, "metrics.jsonl"))
	if lines := strings.Split(strings.TrimSpace(string(metrics)), "\n"); len(lines) != 3 ||
		strings.Contains(lines[0], `"ref_reset"`) || !strings.Contains(lines[1], `"ref_reset":true`) || strings.Contains(lines[2], `"ref_reset"`) {
		t.Errorf("metrics.jsonl: want ref_reset at step 2 only:\n%s", metrics)
	}
}

// resumeAcrossReset runs `tinyr1 KIND flags` straight to step 3 in one
// folder (a), and in another (b) to step 2, the first reset of
// --ref-reset-every 2, then --resume to step 3. It fails the test unless
// both step-3 checkpoints embed the reset policy (ref.*) and hold the same
// tensors, optimizer step and data position. It returns the two folders.
func resumeAcrossReset(t *testing.T, kind string, flags []string) (a, b string) {
	t.Helper()
	root := t.TempDir()
	a, b = filepath.Join(root, "a"), filepath.Join(root, "b")
	for _, run := range []struct {
		dir, steps string
	}{{a, "3"}, {b, "2"}} {
		if code, _, stderr := runApp(t, append([]string{kind, "--out", run.dir, "--steps", run.steps}, flags...)...); code != 0 {
			t.Fatalf("%s %v: exit %d: %s", kind, flags, code, stderr)
		}
	}
	if code, _, stderr := runApp(t, kind, "--resume", b, "--steps", "3", "--quiet"); code != 0 {
		t.Fatalf("%s --resume: exit %d: %s", kind, code, stderr)
	}
	load := func(dir string) *checkpoints.Checkpoint {
		ck, err := checkpoints.Load(filepath.Join(dir, "checkpoints", checkpoints.StepFileName(3)))
		if err != nil {
			t.Fatal(err)
		}
		return ck
	}
	ca, cb := load(a), load(b)
	if ca.NumElements("ref.") == 0 {
		t.Fatal("step-3 checkpoint embeds no reference: want the step-2 policy as ref.*")
	}
	if len(ca.Tensors) != len(cb.Tensors) || ca.Header.OptimizerStep != cb.Header.OptimizerStep || !bytes.Equal(ca.Header.DataPosition, cb.Header.DataPosition) {
		t.Fatalf("step 3: %d vs %d tensors, optimizer step %d vs %d, data position %s vs %s", len(ca.Tensors), len(cb.Tensors),
			ca.Header.OptimizerStep, cb.Header.OptimizerStep, ca.Header.DataPosition, cb.Header.DataPosition)
	}
	for i, x := range ca.Tensors {
		if y := cb.Tensors[i]; x.Name != y.Name || !slices.Equal(x.Data, y.Data) {
			t.Errorf("step 3 tensor %s: the resumed run's differs from the straight run's", x.Name)
		}
	}
	return a, b
}
