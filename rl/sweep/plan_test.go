package sweep

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"tinyr1/rl/eval"
	"tinyr1/rl/train"
)

// examplePlan is the plan of the study's first edition, frozen in
// testdata (examples/experiment.json has moved on): its jobs, commands and
// run ids are the ones runs/experiment-ed1 holds, so they must not change.
func examplePlan(t *testing.T) *Plan {
	t.Helper()
	e, err := Load("testdata/experiment-ed1.json")
	if err != nil {
		t.Fatal(err)
	}
	return NewPlan(e, "runs/experiment")
}

// TestPlanOrder checks the example's waves: every job after the jobs it
// waits for, compute matching waiting for every seed of both arms.
func TestPlanOrder(t *testing.T) {
	p := examplePlan(t)
	if got := len(p.Jobs); got != 5*3+(5*3*2+3) {
		t.Fatalf("jobs: got %d, want 15 runs + 33 evaluations", got)
	}
	for i, j := range p.Jobs {
		if j.Index != i {
			t.Errorf("%s: index %d at position %d", j.Name, j.Index, i)
		}
		if len(j.Deps) != len(j.Needs) {
			t.Errorf("%s: %d deps for %d needs", j.Name, len(j.Deps), len(j.Needs))
		}
		for _, d := range j.Deps {
			if d >= i || p.Jobs[d].Wave >= j.Wave {
				t.Errorf("%s (wave %d) waits for %s (index %d, wave %d): want an earlier wave", j.Name, j.Wave, p.Jobs[d].Name, d, p.Jobs[d].Wave)
			}
		}
	}
	var waves []string
	for _, w := range p.Waves() {
		var names []string
		for _, j := range w {
			names = append(names, j.Name)
		}
		waves = append(waves, strings.Join(names, " "))
	}
	want := []string{
		"sft-s1 sft-s2 sft-s3",
		"grpo-s1 grpo-s2 grpo-s3 shuffle-s1 shuffle-s2 shuffle-s3 bernoulli-s1 bernoulli-s2 bernoulli-s3 " +
			"sft-s1/eval/validation sft-s1/eval/test sft-s1/eval/ood sft-s2/eval/validation sft-s2/eval/test sft-s2/eval/ood " +
			"sft-s3/eval/validation sft-s3/eval/test sft-s3/eval/ood",
		"sftx-s1 sftx-s2 sftx-s3 grpo-s1/eval/test grpo-s1/eval/ood grpo-s2/eval/test grpo-s2/eval/ood grpo-s3/eval/test grpo-s3/eval/ood " +
			"shuffle-s1/eval/test shuffle-s1/eval/ood shuffle-s2/eval/test shuffle-s2/eval/ood shuffle-s3/eval/test shuffle-s3/eval/ood " +
			"bernoulli-s1/eval/test bernoulli-s1/eval/ood bernoulli-s2/eval/test bernoulli-s2/eval/ood bernoulli-s3/eval/test bernoulli-s3/eval/ood",
		"sftx-s1/eval/test sftx-s1/eval/ood sftx-s2/eval/test sftx-s2/eval/ood sftx-s3/eval/test sftx-s3/eval/ood",
	}
	if !slices.Equal(waves, want) {
		t.Errorf("waves:\ngot  %q\nwant %q", waves, want)
	}
	if got, want := strings.Join(p.Job("sftx-s2").Needs, " "), "grpo-s1 grpo-s2 grpo-s3 sft-s1 sft-s2 sft-s3"; got != want {
		t.Errorf("sftx-s2 needs %q: want %q", got, want)
	}
}

// TestPlanCommands holds the example's command lines to those of the
// script it replaced (scripts/experiment.sh), flag for flag.
func TestPlanCommands(t *testing.T) {
	p := examplePlan(t)
	for _, tc := range []struct {
		job   string
		extra int
		want  string
	}{
		{"sft-s1", 0, "sft --out runs/experiment/sft-s1 --seed 1 --steps 1000 --tasks add:1-2,sort:1-2 --sft-data 128 --quiet"},
		{"sftx-s3", 421, "sft --out runs/experiment/sftx-s3 --seed 3 --steps 1421 --tasks add:1-2,sort:1-2 --sft-data 128 --quiet"},
		{"grpo-s2", 0, "train --init runs/experiment/sft-s2 --out runs/experiment/grpo-s2 --seed 2 --steps 100 --tasks add:2,sort:1 --prompts 16 --dynamic --quiet"},
		{"shuffle-s1", 0, "train --init runs/experiment/sft-s1 --out runs/experiment/shuffle-s1 --seed 1 --steps 100 --tasks add:2,sort:1 --prompts 16 --dynamic --reward shuffle --quiet"},
		{"bernoulli-s1", 0, "train --init runs/experiment/sft-s1 --out runs/experiment/bernoulli-s1 --seed 1 --steps 100 --tasks add:2,sort:1 --prompts 16 --dynamic --reward bernoulli --random-p 0.5 --quiet"},
		{"sft-s1/eval/validation", 0, "eval runs/experiment/sft-s1 --tasks add:2,sort:1 --split validation --problems 128 --n 16 --k 1,4,16 --quiet --out runs/experiment/sft-s1/eval/validation.json"},
		{"grpo-s3/eval/ood", 0, "eval runs/experiment/grpo-s3 --tasks add:5,sort:5 --split test --problems 128 --n 16 --k 1,4,16 --max-new 96 --quiet --out runs/experiment/grpo-s3/eval/ood.json"},
	} {
		j := p.Job(tc.job)
		var got []string
		if j.Eval != nil {
			got = p.EvalArgs(j)
		} else {
			got = p.TrainArgs(j, tc.extra, false)
		}
		if s := strings.Join(got, " "); s != tc.want {
			t.Errorf("%s:\ngot  %s\nwant %s", tc.job, s, tc.want)
		}
	}
	if got := p.TrainArgs(p.Job("sft-s1"), 0, true); !slices.Contains(got, "--force") {
		t.Errorf("force: got %q: want --force", got)
	}
	if got := strings.Join(p.ResumeArgs(p.Job("grpo-s1")), " "); got != "train --resume runs/experiment/grpo-s1 --quiet" {
		t.Errorf("resume: got %q", got)
	}
}

// TestRunIDStable: a job's run id is train.RunID of the config the flags
// resolve to, the same for every plan of the file and wherever out is, and
// different for another seed.
func TestRunIDStable(t *testing.T) {
	p := examplePlan(t)
	q := NewPlan(p.Exp, t.TempDir())
	a, _, err := p.RunID(p.Job("sft-s1"), 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := q.RunID(q.Job("sft-s1"), 0)
	c, _, _ := p.RunID(p.Job("sft-s2"), 0)
	d, _, _ := p.RunID(p.Job("sftx-s1"), 1)
	cfg := train.DefaultSFTConfig()
	cfg.Tasks, cfg.SFTData, cfg.Steps, cfg.Seed = "add:1-2,sort:1-2", 128, 1000, 1
	cfg.PinTaskFiles()
	want := train.RunID("sft", cfg, "")
	if a != want || b != want {
		t.Errorf("sft-s1: got %s and %s: want %s", a, b, want)
	}
	if c == a || d == a {
		t.Errorf("another seed (%s) or more steps (%s) gives the same id %s", c, d, a)
	}
	if _, _, err := p.RunID(p.Job("grpo-s1"), 0); err == nil || !strings.Contains(err.Error(), "parent sft-s1 has no checkpoint") {
		t.Errorf("grpo-s1 without its parent: got %v", err)
	}
}

// TestCheckFolders walks a job through its folder's states with hand-made
// run folders: none, a run of another id, an earlier step, the final step.
func TestCheckFolders(t *testing.T) {
	p := examplePlan(t)
	p = NewPlan(p.Exp, t.TempDir())
	j := p.Job("sft-s1")
	id, _, _ := p.RunID(j, 0)
	a, err := p.Check(j)
	if err != nil || a.State != Fresh || slices.Contains(a.Args, "--force") {
		t.Fatalf("no folder: got %+v, %v: want fresh without --force", a, err)
	}
	os.MkdirAll(j.Dir, 0o755)
	os.WriteFile(filepath.Join(j.Dir, "lock"), nil, 0o644)
	if a, _ := p.Check(j); a.State != Fresh || !slices.Contains(a.Args, "--force") {
		t.Errorf("folder without a manifest: got %+v: want fresh with --force", a)
	}
	writeManifest(t, j.Dir, id)
	if a, _ := p.Check(j); a.State != Fresh || !slices.Contains(a.Args, "--force") {
		t.Errorf("no checkpoint yet: got %+v: want fresh with --force", a)
	}
	fakeCheckpoint(t, j.Dir, 400)
	if a, err := p.Check(j); a.State != Resume || a.Step != 400 || a.Args[1] != "--resume" || err != nil {
		t.Errorf("step 400 of 1000: got %+v, %v: want resume", a, err)
	}
	fakeCheckpoint(t, j.Dir, 1000)
	if a, err := p.Check(j); a.State != Done || err != nil {
		t.Errorf("step 1000 of 1000: got %+v, %v: want done", a, err)
	}
	fakeCheckpoint(t, j.Dir, 1200)
	if _, err := p.Check(j); err == nil || !strings.Contains(err.Error(), "step 1200: want at most 1000") {
		t.Errorf("step 1200 of 1000: got %v", err)
	}
	writeManifest(t, j.Dir, "sft-000000000000")
	if _, err := p.Check(j); err == nil || !strings.Contains(err.Error(), "holds run sft-000000000000: want "+id) {
		t.Errorf("another run: got %v: want it refused", err)
	}
}

func writeManifest(t *testing.T, dir, id string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(fmt.Sprintf(`{"kind": "sft", "run_id": %q}`, id)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fakeCheckpoint makes step's checkpoint file (empty: Check reads only its
// name) the run's latest.
func fakeCheckpoint(t *testing.T, dir string, step int) {
	t.Helper()
	rel := fmt.Sprintf("checkpoints/step-%07d.ckpt", step)
	os.MkdirAll(filepath.Join(dir, "checkpoints"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, rel), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "latest"), []byte(rel+"\n"), 0o644)
}

// TestFreezeCompute measures the extra steps from metrics.jsonl files,
// freezes them, and keeps the frozen figure when the files change.
func TestFreezeCompute(t *testing.T) {
	p := examplePlan(t)
	p = NewPlan(p.Exp, t.TempDir())
	sftx := p.Exp.Arm("sftx")
	if c, err := p.ReadCompute(sftx); c != nil || err != nil {
		t.Fatalf("before: got %+v, %v: want none", c, err)
	}
	// GRPO seconds per seed: 30, 40, 50 (mean 40); SFT seconds per step:
	// 0.1, 0.2, 0.3 (mean 0.2): 200 extra steps.
	for i, s := range p.Exp.Seeds {
		g, f := p.Run("grpo", s).Dir, p.Run("sft", s).Dir
		for _, d := range []string{g, f} {
			fakeCheckpoint(t, d, 1)
		}
		sec := float64(30 + 10*i)
		os.WriteFile(filepath.Join(g, "metrics.jsonl"), []byte(fmt.Sprintf("{\"step\":1,\"time_step\":%g}\n{\"step\":2,\"time_update\":1}\n{\"step\":2,\"time_step\":%g}\n", sec/2, sec/2)), 0o644)
		per := 0.1 * float64(i+1)
		os.WriteFile(filepath.Join(f, "metrics.jsonl"), []byte(fmt.Sprintf("{\"step\":1,\"time_update\":%g}\n{\"step\":2,\"time_update\":%g}\n{\"step\":3}\n", per-0.05, per+0.05)), 0o644)
	}
	p.ReadOnly = true
	if _, err := p.Check(p.Job("sftx-s1")); !errors.Is(err, ErrNotMeasured) {
		t.Errorf("read-only check before the figure: got %v: want ErrNotMeasured", err)
	}
	if _, err := os.Stat(p.ComputeFile("sftx")); err == nil {
		t.Errorf("a read-only check wrote %s", p.ComputeFile("sftx"))
	}
	p.ReadOnly = false
	c, err := p.FreezeCompute(sftx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Extra != 200 || c.Fixed || len(c.Seconds) != 3 || c.Seconds[2] != 50 {
		t.Errorf("got %+v: want 200 extra steps from 30, 40, 50 s and 0.1, 0.2, 0.3 s per step", c)
	}
	os.WriteFile(filepath.Join(p.Run("grpo", 1).Dir, "metrics.jsonl"), []byte("{\"step\":1,\"time_step\":1000}\n"), 0o644)
	again, err := p.FreezeCompute(sftx)
	if err != nil || again.Extra != 200 {
		t.Errorf("after the metrics changed: got %+v, %v: want the frozen 200", again, err)
	}
	if id200, _, _ := p.RunID(p.Job("sftx-s1"), 200); true {
		a, err := p.Check(p.Job("sftx-s1"))
		if err != nil || a.RunID != id200 || !strings.Contains(strings.Join(a.Args, " "), "--steps 1200") {
			t.Errorf("sftx-s1: got %+v, %v: want 1200 steps, run id %s", a, err, id200)
		}
	}
	fixed := *sftx
	n := 421
	fixed.Match = &Match{Steps: &n}
	if c, _ := p.ReadCompute(&fixed); c == nil || c.Extra != 421 || !c.Fixed {
		t.Errorf("fixed: got %+v: want 421, fixed", c)
	}
}

// TestFlagArgs: each kind of setting as its flag, in field order: false
// booleans explicitly (a default of true must be overridable), lists with
// commas, numbers exactly.
func TestFlagArgs(t *testing.T) {
	cfg := eval.DefaultEvalConfig()
	cfg.Greedy, cfg.Ks, cfg.TopP, cfg.Seed = false, []int{1, 4}, 0.95, 7
	set := map[string]json.RawMessage{"greedy": nil, "ks": nil, "top_p": nil, "seed": nil}
	got := strings.Join(flagArgs(cfg, set), " ")
	if want := "--k 1,4 --top-p 0.95 --greedy=false --seed 7"; got != want {
		t.Errorf("got %s: want %s", got, want)
	}
	tc := train.DefaultTrainConfig()
	tc.Dynamic, tc.LR = true, 1e-4/3
	got = strings.Join(flagArgs(tc, map[string]json.RawMessage{"dynamic": nil, "lr": nil}), " ")
	if want := "--lr 3.3333333333333335e-05 --dynamic"; got != want {
		t.Errorf("got %s: want %s", got, want)
	}
}

// TestStepPrice: a step of a run that samples (train, rft) costs its whole
// time_step, the sampling included; an SFT step costs its time_update. An
// rft run that logs no time_step (written before rft logged it) is refused,
// not priced by its update alone.
func TestStepPrice(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mode    train.Mode
		metrics string
		want    float64 // 0: an error naming the missing key
		missing string
	}{
		{"rft", train.RFT, "{\"step\":1,\"time_update\":1,\"time_step\":3}\n{\"step\":2,\"time_update\":1,\"time_step\":5}\n", 4, ""},
		{"sft", train.SFT, "{\"step\":1,\"time_update\":0.5}\n{\"step\":2,\"time_update\":1.5}\n", 1, ""},
		{"old rft", train.RFT, "{\"step\":1,\"time_update\":1,\"time_rollout\":2}\n", 0, "has no time_step"},
		{"no timings", train.SFT, "{\"step\":1}\n", 0, "has no time_update"},
	} {
		j := &Job{Name: tc.name, Dir: filepath.Join(t.TempDir(), "run")}
		fakeCheckpoint(t, j.Dir, 2)
		os.WriteFile(filepath.Join(j.Dir, "metrics.jsonl"), []byte(tc.metrics), 0o644)
		_, got, err := stepPrice(j, tc.mode)
		if tc.missing != "" {
			if err == nil || !strings.Contains(err.Error(), tc.missing) {
				t.Errorf("%s: price %v, %v: want an error with %q", tc.name, got, err, tc.missing)
			}
		} else if err != nil || got != tc.want {
			t.Errorf("%s: price %v, %v: want %v s per step", tc.name, got, err, tc.want)
		}
	}
}

// TestMatchedRFTArm: an iterated rejection-sampling arm with steps 0 takes
// all its steps from compute matching: GRPO's seconds at the price of a
// short rft arm's whole steps (sampling included). Without match, steps 0
// is refused.
func TestMatchedRFTArm(t *testing.T) {
	const file = `{
  "out": "x",
  "seeds": [1, 2],
  "stages": {
    "warm": {"command": "sft", "config": {"preset": "tiny", "steps": 6}},
    "grpo": {"command": "train", "config": {"steps": 4}},
    "rft": {"command": "rft", "config": {"steps": 3, "ref_reset_every": 5}}
  },
  "arms": [
    {"name": "sft", "stage": "warm"},
    {"name": "grpo", "stage": "grpo", "from": "sft"},
    {"name": "rftp", "stage": "rft", "from": "sft"},
    {"name": "rft", "stage": "rft", "from": "sft", "config": {"steps": 0}, "match": {"arm": "grpo", "per_step": "rftp"}}
  ]
}`
	e, err := Parse([]byte(file), "rft.json")
	if err != nil {
		t.Fatal(err)
	}
	p := NewPlan(e, t.TempDir())
	// GRPO: 12 and 20 s (mean 16); rftp: 1.5 and 2.5 s per step (mean 2),
	// of which the update is 0.5: 8 steps at the whole step's price.
	for i, s := range e.Seeds {
		g, r := p.Run("grpo", s).Dir, p.Run("rftp", s).Dir
		fakeCheckpoint(t, g, 4)
		fakeCheckpoint(t, r, 3)
		sec, per := float64(12+8*i), 1.5+float64(i)
		os.WriteFile(filepath.Join(g, "metrics.jsonl"), []byte(fmt.Sprintf("{\"step\":1,\"time_step\":%g}\n{\"step\":2,\"time_step\":%g}\n", sec/2, sec/2)), 0o644)
		os.WriteFile(filepath.Join(r, "metrics.jsonl"), []byte(fmt.Sprintf("{\"step\":1,\"time_update\":0.5,\"time_step\":%g}\n", per)), 0o644)
	}
	c, err := p.FreezeCompute(e.Arm("rft"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Extra != 8 {
		t.Errorf("extra steps %d: want 8 (16 s at 2 s per whole rft step)", c.Extra)
	}
	args := strings.Join(p.TrainArgs(p.Job("rft-s1"), c.Extra, false), " ")
	for _, want := range []string{"sft --from-samples", "--steps 8", "--ref-reset-every 5"} {
		if !strings.Contains(args, want) {
			t.Errorf("rft-s1: %q: want %q", args, want)
		}
	}
	bad := strings.Replace(file, `, "match": {"arm": "grpo", "per_step": "rftp"}`, "", 1)
	if _, err := Parse([]byte(bad), "rft.json"); err == nil || !strings.Contains(err.Error(), "steps = 0") {
		t.Errorf("steps 0 without match: %v, want it refused", err)
	}
}

// TestMatchedArmOfNoSteps: an arm of steps 0 that compute matching gives
// no extra steps is refused, naming the figure, instead of starting a run
// of 0 steps that tinyr1 refuses: a fixed 0 when the file is parsed, a
// measured 0 when the job is checked.
func TestMatchedArmOfNoSteps(t *testing.T) {
	const file = `{
  "out": "x",
  "seeds": [1],
  "stages": {
    "warm": {"command": "sft", "config": {"preset": "tiny", "steps": 6}},
    "grpo": {"command": "train", "config": {"steps": 4}}
  },
  "arms": [
    {"name": "sft", "stage": "warm"},
    {"name": "grpo", "stage": "grpo", "from": "sft"},
    {"name": "sftx", "stage": "warm", "config": {"steps": 0}, "match": {"arm": "grpo", "per_step": "sft"}}
  ]
}`
	fixed := strings.Replace(file, `"arm": "grpo", "per_step": "sft"`, `"steps": 0`, 1)
	if _, err := Parse([]byte(fixed), "x.json"); err == nil || !strings.Contains(err.Error(), "steps = 0") {
		t.Errorf("steps 0 matched by a fixed 0: %v, want it refused", err)
	}
	if _, err := Parse([]byte(strings.Replace(fixed, `"steps": 0}}`, `"steps": 3}}`, 1)), "x.json"); err != nil {
		t.Errorf("steps 0 matched by a fixed 3: %v, want it accepted", err)
	}
	e, err := Parse([]byte(file), "x.json")
	if err != nil {
		t.Fatal(err)
	}
	p := NewPlan(e, t.TempDir())
	// GRPO 0.4 s at 1 s per SFT step: round(0.4) = 0 extra steps.
	g, f := p.Run("grpo", 1).Dir, p.Run("sft", 1).Dir
	fakeCheckpoint(t, g, 4)
	fakeCheckpoint(t, f, 6)
	os.WriteFile(filepath.Join(g, "metrics.jsonl"), []byte("{\"step\":1,\"time_step\":0.4}\n"), 0o644)
	os.WriteFile(filepath.Join(f, "metrics.jsonl"), []byte("{\"step\":1,\"time_update\":1}\n"), 0o644)
	if _, err := p.Check(p.Job("sftx-s1")); err == nil || !strings.Contains(err.Error(), `arm "sftx" sets steps 0 and compute matching gives it 0 extra steps`) {
		t.Errorf("steps 0 matched by a measured 0: %v, want it refused", err)
	}
}
