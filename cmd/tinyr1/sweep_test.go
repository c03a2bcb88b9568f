package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tinyr1/checkpoints"
	"tinyr1/rl/sweep"
)

// The sweep tests run testdata/sweep-tiny.json (tiny preset, 2 arms x 2
// seeds, a few steps: about a second) with this test binary as tinyr1's
// children (TINYR1_TEST_AS_MAIN).

const tinySweep = "testdata/sweep-tiny.json"

// longSweep is the tiny sweep with a GRPO arm long enough to interrupt.
func longSweep(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(tinySweep)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Replace(string(raw), `"workers": 1, "steps": 4, "save_every": 1`, `"workers": 1, "steps": 150, "save_every": 1`, 1)
	if long == string(raw) {
		t.Fatal("testdata/sweep-tiny.json: the GRPO stage's steps are not where the test expects them")
	}
	p := filepath.Join(t.TempDir(), "long.json")
	os.WriteFile(p, []byte(long), 0o644)
	return p
}

// manifestOf reads a run folder's manifest.json.
func manifestOf(t *testing.T, dir string) (m struct {
	RunID     string `json:"run_id"`
	ResumedAt []int  `json:"resumed_at"`
}) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(raw, &m)
	return m
}

// latestBytes reads a run folder's latest checkpoint.
func latestBytes(t *testing.T, dir string) []byte {
	t.Helper()
	p, err := checkpoints.OpenRun(dir).Latest()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	return b
}

var tinyRuns = []string{"sft-s1", "sft-s2", "grpo-s1", "grpo-s2"}

// TestSweepRunSkipsAndReports runs the tiny sweep, checks that plan's run
// ids are the runs' own, that a rerun starts nothing, and the report.
func TestSweepRunSkipsAndReports(t *testing.T) {
	t.Setenv("TINYR1_TEST_AS_MAIN", "1")
	// A job's settings are its command line: the children never see these.
	// (The file sets steps, whose flag would beat the variable anyway; it
	// sets no lr or temperature, so these would change the runs and their ids.)
	t.Setenv("TINYR1_TRAIN_STEPS", "2")
	t.Setenv("TINYR1_TRAIN_LR", "0.5")
	t.Setenv("TINYR1_SFT_LR", "0.5")
	t.Setenv("TINYR1_EVAL_TEMPERATURE", "0.5")
	out := filepath.Join(t.TempDir(), "sweep")
	code, _, errOut := runApp(t, "sweep", "run", tinySweep, "--out", out, "--jobs", "2")
	if code != 0 {
		t.Fatalf("sweep run: exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "[8/8 done, 0 running, 0 waiting] all jobs done") {
		t.Errorf("progress: got %s", errOut)
	}
	code, plan, _ := runApp(t, "sweep", "plan", tinySweep, "--out", out)
	if code != 0 {
		t.Fatalf("plan: exit %d", code)
	}
	for _, run := range tinyRuns {
		id := manifestOf(t, filepath.Join(out, run)).RunID
		if !strings.Contains(plan, "  "+run+"  wave ") || !strings.Contains(plan, "run id: "+id+"\n") {
			t.Errorf("plan does not give %s its run id %s:\n%s", run, id, plan)
		}
	}
	if strings.Contains(plan, "fresh") || strings.Contains(plan, "waiting") || strings.Count(plan, " done\n") != 8 {
		t.Errorf("plan after the run: want 8 jobs done:\n%s", plan)
	}
	code, _, again := runApp(t, "sweep", "run", tinySweep, "--out", out)
	if code != 0 || strings.Contains(again, "fresh:") || strings.Count(again, "finished already") != 8 {
		t.Errorf("rerun: exit %d, want 8 jobs skipped and none started:\n%s", code, again)
	}
	code, stdout, errOut := runApp(t, "sweep", "report", tinySweep, "--out", out)
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, errOut)
	}
	md, err := os.ReadFile(filepath.Join(out, "RESULTS.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"arms sft, grpo; seeds 1 2.", "| sft | sft-s1, sft-s2 | 1, 2 | SFT |", "| grpo | grpo-s1, grpo-s2 | 1, 2 | GRPO",
		"### test.json", "tinyr1 train --init " + out + "/sft-s2 --out " + out + "/grpo-s2 --seed 2"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("RESULTS.md lacks %q:\n%s", want, md)
		}
	}
	if !strings.Contains(stdout, "4 runs in 2 groups") {
		t.Errorf("report: got %s", stdout)
	}
	// The same file into a second folder gives the same bytes (run ids do
	// not depend on the folder), one job at a time.
	out2 := filepath.Join(t.TempDir(), "again")
	if code, _, e := runApp(t, "sweep", "run", tinySweep, "--out", out2, "--jobs", "1"); code != 0 {
		t.Fatalf("second sweep: exit %d: %s", code, e)
	}
	for _, run := range tinyRuns {
		if !bytes.Equal(latestBytes(t, filepath.Join(out, run)), latestBytes(t, filepath.Join(out2, run))) {
			t.Errorf("%s: checkpoints differ between --jobs 2 and --jobs 1", run)
		}
	}
}

// startSweep starts `tinyr1 sweep run FILE --out OUT` as a process.
func startSweep(t *testing.T, file, out string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "sweep", "run", file, "--out", out, "--jobs", "2")
	cmd.Env = append(os.Environ(), "TINYR1_TEST_AS_MAIN=1")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &buf
}

// waitStep waits until the run in dir has checkpointed step >= step.
func waitStep(t *testing.T, dir string, step int) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if s, ok := sweep.LatestStep(dir); ok && s >= step {
			return
		}
	}
	t.Fatalf("%s did not reach step %d", dir, step)
}

// TestSweepInterruptResumes stops a sweep with SIGINT while its GRPO runs
// train: it exits 130, and a rerun resumes them (resumed_at > 0) instead of
// starting over, and finishes every job.
func TestSweepInterruptResumes(t *testing.T) {
	file, out := longSweep(t), filepath.Join(t.TempDir(), "sweep")
	cmd, buf := startSweep(t, file, out)
	waitStep(t, filepath.Join(out, "grpo-s1"), 3)
	cmd.Process.Signal(syscall.SIGINT)
	stuck := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() }) // a sweep that ignores the signal
	err := cmd.Wait()
	stuck.Stop()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("interrupted sweep: got %v: want exit status 130\n%s", err, buf)
	}
	if !strings.Contains(buf.String(), "grpo-s1 stopped after") || !strings.Contains(buf.String(), "rerun 'tinyr1 sweep run") {
		t.Errorf("interrupted sweep's output:\n%s", buf)
	}
	t.Setenv("TINYR1_TEST_AS_MAIN", "1")
	code, _, errOut := runApp(t, "sweep", "run", file, "--out", out)
	if code != 0 {
		t.Fatalf("rerun: exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "grpo-s1 resume: tinyr1 train --resume") {
		t.Errorf("rerun did not resume grpo-s1:\n%s", errOut)
	}
	if r := manifestOf(t, filepath.Join(out, "grpo-s1")).ResumedAt; len(r) != 1 || r[0] < 3 {
		t.Errorf("grpo-s1 resumed_at %v: want one resume at step >= 3", r)
	}
	if s, ok := sweep.LatestStep(filepath.Join(out, "grpo-s1")); !ok || s != 150 {
		t.Errorf("grpo-s1 at step %d: want 150", s)
	}
}

// TestSweepRace runs a second sweep of the same folder while the first
// runs: the second reports the held lock and leaves the running jobs
// alone; the first finishes, and a third run finds everything done with
// the same bytes as a sweep that ran alone.
func TestSweepRace(t *testing.T) {
	file, out := longSweep(t), filepath.Join(t.TempDir(), "sweep")
	cmd, buf := startSweep(t, file, out)
	waitStep(t, filepath.Join(out, "grpo-s1"), 2)
	t.Setenv("TINYR1_TEST_AS_MAIN", "1")
	code, _, second := runApp(t, "sweep", "run", file, "--out", out)
	if code != 1 || !strings.Contains(second, "grpo-s1 failed: sweep: job grpo-s1 is running in another sweep (lock ") {
		t.Errorf("second sweep: exit %d: want 1 and the lock reported:\n%s", code, second)
	}
	if err := cmd.Wait(); err != nil {
		// The second sweep may have taken a job the first had not started yet.
		if !strings.Contains(buf.String(), "is running in another sweep") {
			t.Fatalf("first sweep: %v\n%s", err, buf)
		}
	}
	code, _, third := runApp(t, "sweep", "run", file, "--out", out)
	if code != 0 || strings.Contains(third, "resume:") {
		t.Fatalf("third sweep: exit %d:\n%s", code, third)
	}
	if r := manifestOf(t, filepath.Join(out, "grpo-s1")).ResumedAt; len(r) != 0 {
		t.Errorf("grpo-s1 resumed at %v: want one uninterrupted run", r)
	}
}

// TestSweepUsageErrors: a bad experiment file, a bad index or a missing
// file is one line and exit status 2, before any job starts.
func TestSweepUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	raw, _ := os.ReadFile(tinySweep)
	os.WriteFile(bad, bytes.Replace(raw, []byte(`"from": "sft"`), []byte(`"from": "warm"`), 1), 0o644)
	out := filepath.Join(dir, "out")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing parent", []string{"sweep", "run", bad, "--out", out}, `bad.json:12: arm "grpo": from "warm": no such arm`},
		{"plan of a bad file", []string{"sweep", "plan", bad}, `from "warm": no such arm`},
		{"slurm of a bad file", []string{"sweep", "slurm", bad, "--out", out}, `from "warm": no such arm`},
		{"no file", []string{"sweep", "run", "--out", out}, "0 arguments: want one experiment file"},
		{"missing file", []string{"sweep", "plan", filepath.Join(dir, "none.json")}, "none.json: no such file"},
		{"index too large", []string{"sweep", "job", tinySweep, "--out", out, "--index", "8"}, "--index 8: want 0 to 7"},
		{"index missing", []string{"sweep", "job", tinySweep, "--out", out}, "--index is missing: want the job's index, 0 to 7"},
		{"index negative", []string{"sweep", "job", tinySweep, "--out", out, "--index", "-1"}, "--index -1: want 0 to 7"},
		{"negative jobs", []string{"sweep", "run", tinySweep, "--out", out, "--jobs", "-1"}, "--jobs -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runApp(t, tc.args...)
			if code != 2 || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
				t.Errorf("got exit %d, %q: want 2 and one line with %q", code, errOut, tc.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s was created: want nothing started", out)
			}
		})
	}
}

// TestSweepJob runs the tiny sweep job by job, as Slurm's array tasks
// would, in index order: a job before its parent is refused; a finished one
// says so.
func TestSweepJob(t *testing.T) {
	t.Setenv("TINYR1_TEST_AS_MAIN", "1")
	out := filepath.Join(t.TempDir(), "sweep")
	if code, _, e := runApp(t, "sweep", "job", tinySweep, "--out", out, "--index", "2"); code != 1 || !strings.Contains(e, "it waits for sft-s1, which is not finished") {
		t.Errorf("grpo-s1 before sft-s1: got exit %d, %s", code, e)
	}
	// A pod of a Kubernetes Indexed Job waits for its dependencies.
	waiter := exec.Command(os.Args[0], "sweep", "job", tinySweep, "--out", out, "--index", "6", "--wait", "50ms")
	var waited bytes.Buffer
	waiter.Stdout, waiter.Stderr = &waited, &waited
	if err := waiter.Start(); err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		if i == 6 {
			if err := waiter.Wait(); err != nil {
				t.Fatalf("sweep job --index 6 --wait: %v\n%s", err, &waited)
			}
			continue
		}
		if code, _, e := runApp(t, "sweep", "job", tinySweep, "--out", out, "--index", itoa(i)); code != 0 {
			t.Fatalf("job %d: exit %d: %s", i, code, e)
		}
	}
	if got := waited.String(); !strings.Contains(got, "sweep job grpo-s1/eval/test: waiting for grpo-s1\n") || !strings.Contains(got, "sweep job grpo-s1/eval/test (fresh)") {
		t.Errorf("the waiting job said:\n%s", got)
	}
	code, stdout, _ := runApp(t, "sweep", "job", tinySweep, "--out", out, "--index", "3")
	if code != 0 || !strings.Contains(stdout, "sweep job grpo-s2: finished (run id train-") {
		t.Errorf("finished job: got exit %d, %s", code, stdout)
	}
	code, stdout, _ = runApp(t, "sweep", "slurm", tinySweep, "--out", out)
	if code != 0 {
		t.Fatalf("slurm: exit %d", code)
	}
	script, err := os.ReadFile(filepath.Join(out, "slurm", "wave-2-grpo-eval.sbatch"))
	if err != nil {
		t.Fatalf("slurm wrote %s: %v", stdout, err)
	}
	abs, _ := filepath.Abs(tinySweep)
	for _, want := range []string{"#SBATCH --array=2-5\n", "sweep job " + abs + " --out " + out + " --index \"$SLURM_ARRAY_TASK_ID\"\n"} {
		if !strings.Contains(string(script), want) {
			t.Errorf("wave 2 script lacks %q:\n%s", want, script)
		}
	}
}

// TestSweepRefusesOtherRun: a run folder that holds another run is never
// overwritten: its job fails, the jobs that wait for it are blocked, the
// others finish, and the sweep exits 1 naming them.
func TestSweepRefusesOtherRun(t *testing.T) {
	t.Setenv("TINYR1_TEST_AS_MAIN", "1")
	out := filepath.Join(t.TempDir(), "sweep")
	other := filepath.Join(out, "grpo-s1")
	os.MkdirAll(other, 0o755)
	manifest := []byte(`{"kind": "train", "run_id": "train-000000000000"}`)
	os.WriteFile(filepath.Join(other, "manifest.json"), manifest, 0o644)
	code, _, errOut := runApp(t, "sweep", "run", tinySweep, "--out", out)
	if code != 1 {
		t.Fatalf("got exit %d: want 1\n%s", code, errOut)
	}
	for _, want := range []string{
		"grpo-s1 failed: sweep: job grpo-s1: " + other + " holds run train-000000000000: want train-",
		"2 of 8 jobs not done: grpo-s1 (failed), grpo-s1/eval/test (blocked: waits for grpo-s1)",
		"grpo-s2/eval/test done",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("output lacks %q:\n%s", want, errOut)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(other, "manifest.json")); !bytes.Equal(got, manifest) {
		t.Errorf("the other run's manifest changed: %s", got)
	}
	// A pod waiting for grpo-s1 (index 6) stops at once: waiting would never end.
	code, _, errOut = runApp(t, "sweep", "job", tinySweep, "--out", out, "--index", "6", "--wait", "10ms")
	if want := "sweep job grpo-s1/eval/test: it waits for grpo-s1, which cannot finish: sweep: job grpo-s1: " + other + " holds run train-000000000000"; code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("sweep job --wait on a foreign dependency: exit %d, %q: want 1 and %q", code, errOut, want)
	}
}
