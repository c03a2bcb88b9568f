package train

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"tinyr1/checkpoints"
	"tinyr1/rl/objective"
)

// resetGRPO is a 5-step GRPO config from the fixture with a reference reset
// every 2 steps (after steps 2 and 4), the KL term on, and a checkpoint
// every 2 steps.
func resetGRPO(opt bool) Config {
	cfg := fixtureGRPO()
	cfg.Steps, cfg.Prompts = 5, 4
	cfg.Beta = 0.04
	cfg.RefResetEvery, cfg.RefResetOpt = 2, opt
	cfg.SaveEvery, cfg.KeepLast = 2, 10
	cfg.LR = 1e-3 // moves the policy away from the reference in a step
	return cfg
}

const fixtureInit = "testdata/tiny-add1.ckpt"

// TestRefResetCopiesThePolicy: after steps 2 and 4 (and only then) the
// reference equals the policy bitwise, the step's metrics say ref_reset,
// and with ref_reset_optimizer the AdamW moments and step count are 0, as
// a fresh optimizer's; without it they are kept. On the next step's first
// pass the reference log-probs equal the old ones token for token, so the
// KL is exactly 0, where the step before a reset has KL > 0.
func TestRefResetCopiesThePolicy(t *testing.T) {
	for _, opt := range []bool{true, false} {
		cfg := resetGRPO(opt)
		tr, err := NewGRPO(cfg, fixtureInit, "test")
		if err != nil {
			t.Fatal(err)
		}
		init := slices.Clone(tr.Ref.Data)
		kl := map[int]float64{}
		tr.stepHook = func(m *Metrics) {
			due := m.Step%2 == 0
			if m.RefReset != due {
				t.Errorf("opt %v step %d: ref_reset %v, want %v", opt, m.Step, m.RefReset, due)
			}
			if same := slices.Equal(tr.Ref.Data, tr.Params.Data); same != due {
				t.Errorf("opt %v step %d: reference equals the policy: %v, want %v", opt, m.Step, same, due)
			}
			if m.Step == 1 && !slices.Equal(tr.Ref.Data, init) {
				t.Errorf("opt %v: the reference changed before the first reset", opt)
			}
			zero := tr.Opt.Step == 0 && !slices.ContainsFunc(tr.Opt.M, func(x float32) bool { return x != 0 }) &&
				!slices.ContainsFunc(tr.Opt.V, func(x float32) bool { return x != 0 })
			if want := opt && due; zero != want {
				t.Errorf("opt %v step %d: optimizer at zero (moments and step %d): %v, want %v", opt, m.Step, tr.Opt.Step, zero, want)
			}
			if m.KL == nil {
				t.Fatalf("opt %v step %d: no kl logged at beta %v", opt, m.Step, cfg.Beta)
			}
			kl[m.Step] = *m.KL
		}
		step := 0
		tr.coefHook = func(b objective.Batch, _ []float32) {
			step++
			if step != 3 {
				return
			}
			for i, n := range b.Len {
				for j := range n {
					if k := i*b.T + j; b.RefLogP[k] != b.OldLogP[k] {
						t.Fatalf("opt %v step 3: token %d of completion %d: reference log-prob %v, old %v: want equal after the reset", opt, j, i, b.RefLogP[k], b.OldLogP[k])
					}
				}
			}
		}
		if err := tr.Train(); err != nil {
			t.Fatal(err)
		}
		tr.Close()
		if kl[3] != 0 || kl[5] != 0 || !(kl[2] > 0) || !(kl[4] > 0) {
			t.Errorf("opt %v: kl by step %v: want 0 at steps 3 and 5 (right after a reset), > 0 at 2 and 4", opt, kl)
		}
	}
}

// TestRefResetEqualsFreshStart states what a reset at step N equals: the
// step-N checkpoint, restored into a trainer of the run, gives a reference
// bitwise equal to that of a trainer freshly started (NewGRPO) from the
// step-N checkpoint, whose reference is its initial policy, and, with
// ref_reset_optimizer, AdamW state (moments, step count) equal to the fresh
// trainer's. Equal weights give equal reference log-probs: both are scored
// by the same engine. What does not equal a fresh start is the rest of the
// run's state: the step count (schedule, data and sampling streams), which
// a fresh run would restart at 0.
func TestRefResetEqualsFreshStart(t *testing.T) {
	cfg := resetGRPO(true)
	cfg.Steps = 2
	dir := filepath.Join(t.TempDir(), "run")
	runGRPO(t, dir, fixtureInit, cfg, 0)
	stepN := filepath.Join(dir, "checkpoints", checkpoints.StepFileName(2))
	ck, err := checkpoints.Load(stepN)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Header.ReferenceHash != "" || ck.NumElements("ref.") == 0 {
		t.Fatalf("step-2 checkpoint: reference hash %q, %d ref. elements: want the reference embedded after the reset", ck.Header.ReferenceHash, ck.NumElements("ref."))
	}
	restored, err := NewGRPO(cfg, fixtureInit, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	if err := restored.Restore(ck); err != nil {
		t.Fatal(err)
	}
	fresh, err := NewGRPO(cfg, stepN, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if restored.RefStep != 2 {
		t.Errorf("restored RefStep = %d, want 2", restored.RefStep)
	}
	if !slices.Equal(restored.Ref.Data, fresh.Ref.Data) || !slices.Equal(restored.Ref.Data, restored.Params.Data) {
		t.Error("restored reference differs from a fresh trainer's from the step-2 checkpoint (or from the step-2 policy)")
	}
	if !slices.Equal(restored.Opt.M, fresh.Opt.M) || !slices.Equal(restored.Opt.V, fresh.Opt.V) || restored.Opt.Step != fresh.Opt.Step {
		t.Errorf("restored AdamW (step %d) differs from a fresh trainer's (step %d)", restored.Opt.Step, fresh.Opt.Step)
	}
	// A data position whose reset lies after the checkpoint's step is refused.
	bad := *ck
	bad.Header.DataPosition = bytes.Replace(ck.Header.DataPosition, []byte(`"ref_step":2`), []byte(`"ref_step":3`), 1)
	if err := restored.Restore(&bad); err == nil || !strings.Contains(err.Error(), "reference reset at step 3: want 0, or a step of a GRPO or RFT run up to the checkpoint's 2") {
		t.Errorf("Restore of ref_step 3 at step 2: %v, want the reset step refused", err)
	}
	// Without a reset the checkpoint names the initial one by hash and a
	// restored reference is the initial policy.
	cfg.RefResetEvery, cfg.RefResetOpt = 3, false
	dir2 := filepath.Join(t.TempDir(), "run2")
	runGRPO(t, dir2, fixtureInit, cfg, 0)
	ck2, err := checkpoints.Load(filepath.Join(dir2, "checkpoints", checkpoints.StepFileName(2)))
	if err != nil {
		t.Fatal(err)
	}
	if ck2.Header.ReferenceHash == "" || ck2.NumElements("ref.") != 0 {
		t.Errorf("no reset yet: reference hash %q, %d ref. elements: want the initial checkpoint's hash and none embedded", ck2.Header.ReferenceHash, ck2.NumElements("ref."))
	}
}

// TestRefResetResumes: a run interrupted after the reset at step 2 (at step
// 3, between resets) and resumed writes the same final checkpoint, byte for
// byte, as the run that was not interrupted, which itself equals a second
// uninterrupted run (determinism); the resumed run resets again at step 4.
func TestRefResetResumes(t *testing.T) {
	root := t.TempDir()
	cfg := resetGRPO(true)
	cfg.Mu = 2 // the reference enters every pass's KL
	a, b, c := filepath.Join(root, "a"), filepath.Join(root, "b"), filepath.Join(root, "c")
	runGRPO(t, a, fixtureInit, cfg, 0)
	runGRPO(t, b, fixtureInit, cfg, 0)
	if !bytes.Equal(latestBytes(t, a), latestBytes(t, b)) {
		t.Fatal("two runs with reference resets and the same seed wrote different final checkpoints")
	}
	runGRPO(t, c, fixtureInit, cfg, 3)
	resets := 0
	resume(t, c, func() (*Trainer, error) {
		tr, err := NewGRPO(cfg, fixtureInit, "test")
		if err == nil {
			tr.stepHook = func(m *Metrics) {
				if m.RefReset {
					resets++
				}
			}
		}
		return tr, err
	})
	if resets != 1 {
		t.Errorf("resumed run (steps 4-5): %d resets, want 1 (at step 4)", resets)
	}
	for _, step := range []int{4, 5} {
		name := checkpoints.StepFileName(step)
		x, y := readFile(t, filepath.Join(a, "checkpoints", name)), readFile(t, filepath.Join(c, "checkpoints", name))
		if !bytes.Equal(x, y) {
			t.Errorf("%s: 3 steps + resume + 2 steps differs from 5 straight steps", name)
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
