package train

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"tinyr1/checkpoints"
	"tinyr1/data"
	"tinyr1/model"
	"tinyr1/rl/eval"
	"tinyr1/rl/objective"
)

// tinySFT is a CI-sized warm-start config.
func tinySFT(steps int) Config {
	c := DefaultSFTConfig()
	c.Preset = "tiny"
	c.Steps = steps
	c.BatchSize = 8
	c.MicroBatch = 4
	c.Tasks = "add:1,rev:1"
	c.EvalEvery = 3
	c.EvalProblems = 4
	c.SaveEvery = 2
	c.KeepLast = 10
	c.Workers = 1
	c.Warmup = 2
	return c
}

// tinyGRPO is a CI-sized GRPO config.
func tinyGRPO(steps int) Config {
	c := DefaultTrainConfig()
	c.Steps = steps
	c.Prompts = 4
	c.Group = 4
	c.MaxNew = 24
	c.MicroBatch = 8
	c.Tasks = "add:1,rev:1"
	c.EvalEvery = 2
	c.EvalProblems = 4
	c.SaveEvery = 2
	c.KeepLast = 10
	c.Workers = 1
	c.Beta = 0.04
	return c
}

// stopAfter sets the trainer's Stop flag once k progress lines were written:
// the run stops after step k as a signal would stop it.
type stopAfter struct {
	t    *Trainer
	k, n int
}

func (s *stopAfter) Write(p []byte) (int, error) {
	s.n += bytes.Count(p, []byte("\n"))
	if s.n >= s.k {
		s.t.Stop.Store(true)
	}
	return len(p), nil
}

// runSFT trains a tiny warm start in dir, stopping after stopAt steps when
// stopAt > 0, and returns the trainer.
func runSFT(t *testing.T, dir string, cfg Config, stopAt int) *Trainer {
	t.Helper()
	tr, err := NewSFT(cfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	run, err := checkpoints.CreateRun(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.WriteJSON(checkpoints.ConfigFile, cfg); err != nil {
		t.Fatal(err)
	}
	tr.Run = run
	if stopAt > 0 {
		tr.Progress = &stopAfter{t: tr, k: stopAt}
	}
	err = tr.Train()
	if stopAt > 0 && err != ErrInterrupted {
		t.Fatalf("Train with a stop after %d steps: got %v, want ErrInterrupted", stopAt, err)
	}
	if stopAt == 0 && err != nil {
		t.Fatal(err)
	}
	tr.Close()
	run.Close()
	return tr
}

// resume reopens dir, restores the latest checkpoint into a fresh trainer
// made by mk and trains to the end.
func resume(t *testing.T, dir string, mk func() (*Trainer, error)) *Trainer {
	t.Helper()
	run, err := checkpoints.ResumeRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	latest, err := run.Latest()
	if err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoints.Load(latest)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := mk()
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if err := tr.Restore(ck); err != nil {
		t.Fatal(err)
	}
	if err := run.TruncateMetrics(tr.Step); err != nil {
		t.Fatal(err)
	}
	tr.Run = run
	if err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	return tr
}

func latestBytes(t *testing.T, dir string) []byte {
	t.Helper()
	p, err := checkpoints.OpenRun(dir).Latest()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSFTDeterministicAndResumable(t *testing.T) {
	cfg := tinySFT(6)
	root := t.TempDir()
	a, b, c := filepath.Join(root, "a"), filepath.Join(root, "b"), filepath.Join(root, "c")
	runSFT(t, a, cfg, 0)
	runSFT(t, b, cfg, 0)
	if !bytes.Equal(latestBytes(t, a), latestBytes(t, b)) {
		t.Fatal("two SFT runs with the same seed and config wrote different final checkpoints")
	}
	// 3 steps, interrupted, then resumed to 6.
	runSFT(t, c, cfg, 3)
	resume(t, c, func() (*Trainer, error) { return NewSFT(cfg, "test") })
	if !bytes.Equal(latestBytes(t, a), latestBytes(t, c)) {
		t.Fatal("SFT 3 steps + resume + 3 steps differs from 6 straight steps")
	}
	ma, _ := os.ReadFile(filepath.Join(a, "metrics.jsonl"))
	mc, _ := os.ReadFile(filepath.Join(c, "metrics.jsonl"))
	if got, want := bytes.Count(mc, []byte("\n")), bytes.Count(ma, []byte("\n")); got != want {
		t.Fatalf("resumed metrics.jsonl has %d lines, want %d", got, want)
	}
}

// warmStart writes a tiny SFT checkpoint and returns its path.
func warmStart(t *testing.T, dir string, steps int) string {
	t.Helper()
	cfg := tinySFT(steps)
	cfg.EvalEvery = 0
	runSFT(t, dir, cfg, 0)
	p, err := checkpoints.OpenRun(dir).Latest()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func runGRPO(t *testing.T, dir, init string, cfg Config, stopAt int) *Trainer {
	t.Helper()
	tr, err := NewGRPO(cfg, init, "test")
	if err != nil {
		t.Fatal(err)
	}
	runIn(t, dir, tr, stopAt)
	return tr
}

// runIn trains tr in a new run folder dir (closing tr), stopping after
// stopAt steps as a signal would when stopAt > 0.
func runIn(t *testing.T, dir string, tr *Trainer, stopAt int) {
	t.Helper()
	defer tr.Close()
	run, err := checkpoints.CreateRun(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	if err := run.WriteJSON(checkpoints.ConfigFile, tr.Cfg); err != nil {
		t.Fatal(err)
	}
	tr.Run = run
	if stopAt > 0 {
		tr.Progress = &stopAfter{t: tr, k: stopAt}
	}
	err = tr.Train()
	if (stopAt > 0) != (err == ErrInterrupted) || (stopAt == 0 && err != nil) {
		t.Fatalf("Train: %v (stop after %d)", err, stopAt)
	}
}

func TestGRPODeterministicAndResumable(t *testing.T) {
	root := t.TempDir()
	init := warmStart(t, filepath.Join(root, "sft"), 4)
	for _, variant := range []struct {
		name string
		edit func(*Config)
	}{
		{"grpo", func(*Config) {}},
		{"dapo-dynamic-mu2", func(c *Config) { c.Loss = objective.AggDAPO; c.EpsHigh = 0.28; c.Dynamic = true; c.Mu = 2; c.Beta = 0 }},
		{"drgrpo-shuffle", func(c *Config) {
			c.Loss = objective.AggDrGRPO
			c.Scale = objective.ScaleNone
			c.Reward = objective.RewardShuffle
			c.Curriculum = true
		}},
		{"bernoulli-k3k2", func(c *Config) {
			c.Reward = objective.RewardBernoulli
			c.RandomP = 0.3
			c.KL = objective.KL3K2
			c.Mu = 2
		}},
	} {
		t.Run(variant.name, func(t *testing.T) {
			cfg := tinyGRPO(4)
			variant.edit(&cfg)
			d := filepath.Join(root, variant.name)
			a, b, c := d+"-a", d+"-b", d+"-c"
			runGRPO(t, a, init, cfg, 0)
			runGRPO(t, b, init, cfg, 0)
			if !bytes.Equal(latestBytes(t, a), latestBytes(t, b)) {
				t.Fatal("two GRPO runs with the same seed and config wrote different final checkpoints")
			}
			runGRPO(t, c, init, cfg, 2)
			resume(t, c, func() (*Trainer, error) { return NewGRPO(cfg, init, "test") })
			if !bytes.Equal(latestBytes(t, a), latestBytes(t, c)) {
				t.Fatal("GRPO 2 steps + resume + 2 steps differs from 4 straight steps")
			}
		})
	}
}

// TestGRPOGradientIndependentOfMicroBatch checks docs/method.md's rule: the
// normaliser is defined on the whole rollout batch, so running the packed
// rows in passes of 16, 2 or 1 rows (one pass, several, one per row) gives
// the same gradient.
func TestGRPOGradientIndependentOfMicroBatch(t *testing.T) {
	root := t.TempDir()
	init := warmStart(t, filepath.Join(root, "sft"), 4)
	for _, agg := range []string{objective.AggGRPO, objective.AggDAPO, objective.AggDrGRPO, objective.AggBNPO} {
		var grads [][]float32
		for _, mb := range []int{16, 2, 1} {
			cfg := tinyGRPO(1)
			cfg.Loss = agg
			cfg.MicroBatch = mb
			cfg.EvalEvery = 0
			cfg.RewardLength = 1 // a gradient even when the warm start is always wrong
			tr, err := NewGRPO(cfg, init, "test")
			if err != nil {
				t.Fatal(err)
			}
			tr.gradHook = func(g []float32) { grads = append(grads, append([]float32(nil), g...)) }
			if err := tr.Train(); err != nil {
				t.Fatal(err)
			}
			tr.Close()
		}
		if len(grads) != 3 {
			t.Fatalf("%s: got %d gradients, want 3 (one per micro-batch size)", agg, len(grads))
		}
		norm := 0.0
		for _, v := range grads[0] {
			norm = math.Max(norm, math.Abs(float64(v)))
		}
		if norm == 0 {
			t.Fatalf("%s: zero gradient: the test needs a batch with signal", agg)
		}
		for k := 1; k < 3; k++ {
			for i := range grads[0] {
				if d := math.Abs(float64(grads[k][i] - grads[0][i])); d > 1e-5*norm {
					t.Fatalf("%s: gradient %d differs between micro-batch sizes: %g vs %g (max |g| %g, tolerance 1e-5 relative)", agg, i, grads[k][i], grads[0][i], norm)
				}
			}
		}
	}
}

func TestConfigRejectsUnknownKey(t *testing.T) {
	_, err := DecodeConfig([]byte(`{"lr": 0.1, "learning_rate": 3}`), DefaultTrainConfig(), "x.json")
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte(`"learning_rate"`)) {
		t.Fatalf("unknown key: got %v, want an error naming \"learning_rate\"", err)
	}
	c, err := DecodeConfig([]byte(`{"lr": 0.1}`), DefaultTrainConfig(), "x.json")
	if err != nil || c.LR != 0.1 || c.Group != DefaultTrainConfig().Group {
		t.Fatalf("file over defaults: got %+v, %v", c.LR, err)
	}
}

// TestGRPOUpdateDirection checks the sign of the whole update path (rollout,
// rewards, advantages, coefficients, graph, optimizer): after one GRPO step
// the log-probability of each completion moves with its advantage, i.e.
// sum_i A_i * (logp_after_i - logp_before_i) > 0.
func TestGRPOUpdateDirection(t *testing.T) {
	root := t.TempDir()
	init := warmStart(t, filepath.Join(root, "sft"), 4)
	cfg := tinyGRPO(1)
	cfg.EvalEvery = 0
	cfg.RewardLength = 1 // signal even when every answer is wrong
	cfg.LR = 1e-3
	tr, err := NewGRPO(cfg, init, "dir")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var seqs [][]int
	var plen []int
	var adv []float64
	var before []float64
	score := func() []float64 {
		e := model.NewEngine(tr.Params, len(seqs), tr.Params.Cfg.Context, 1)
		defer e.Close()
		out := make([][]float32, len(seqs))
		for i, s := range seqs {
			out[i] = make([]float32, len(s)-1)
		}
		if err := e.Score(out, seqs, float32(cfg.Temperature)); err != nil {
			t.Fatal(err)
		}
		lp := make([]float64, len(seqs))
		for i := range seqs {
			for _, v := range out[i][plen[i]-1:] {
				lp[i] += float64(v)
			}
		}
		return lp
	}
	tr.advHook = func(s [][]int, p []int, a []float64) {
		seqs, plen, adv = s, p, a
		before = score()
	}
	if err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	after := score()
	dot, nz := 0.0, 0
	for i := range adv {
		dot += adv[i] * (after[i] - before[i])
		if adv[i] != 0 {
			nz++
		}
	}
	t.Logf("sum_i A_i * delta logp_i = %.4g over %d completions with a non-zero advantage", dot, nz)
	if nz == 0 || !(dot > 0) {
		t.Fatalf("GRPO update moves log-probs against the advantages: sum A*dlogp = %g (%d non-zero advantages)", dot, nz)
	}
}

// TestGRPOImprovesReward is the smoke test of the whole loop: from a tiny
// warm start (testdata/tiny-add1.ckpt: the tiny preset after 600 SFT steps
// on add:1, a copy of cmd/tinyr1/testdata's fixture), 60 GRPO steps sampling
// at temperature 1.5 raise the mean training reward (correctness + format).
// The run is deterministic; the margin is what GRPO gains over the noise of
// the first steps, not a tuned threshold.
func TestGRPOImprovesReward(t *testing.T) {
	if testing.Short() {
		t.Skip("60 GRPO steps")
	}
	cfg := DefaultTrainConfig()
	cfg.Tasks = "add:1"
	cfg.Steps = 60
	cfg.Prompts, cfg.Group, cfg.MaxNew = 16, 8, 32
	cfg.Temperature = 1.5
	cfg.RewardFormat = 1
	cfg.LR = 1e-4
	cfg.EvalEvery = 0
	cfg.Workers = 1
	tr, err := NewGRPO(cfg, "testdata/tiny-add1.ckpt", "smoke")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var rewards []float64
	tr.stepHook = func(m *Metrics) { rewards = append(rewards, m.RewardMean) }
	if err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	first, se1 := eval.MeanStdErr(rewards[:15])
	last, se2 := eval.MeanStdErr(rewards[len(rewards)-15:])
	t.Logf("mean reward: first 15 steps %.3f +- %.3f, last 15 steps %.3f +- %.3f", first, se1, last, se2)
	if !(last-first > 2*(se1+se2)) {
		t.Fatalf("GRPO did not raise the reward beyond noise: first 15 steps %.3f +- %.3f, last 15 %.3f +- %.3f", first, se1, last, se2)
	}
}

// TestRewardControlsInRollout: the controls act where the real rewards are
// made (rolloutGroups), on the same completions. Against the verifier arm
// of the same seed and step, shuffle keeps each group's reward multiset (so
// zero_variance_frac and reward_mean are the real ones) and moves some
// rewards; bernoulli with p = 1 gives every completion the correctness term.
func TestRewardControlsInRollout(t *testing.T) {
	rollout := func(reward string, p float64) ([]group, *RolloutMetrics, objective.RewardConfig) {
		cfg := rolloutConfig("add:1")
		cfg.Reward, cfg.RandomP = reward, p
		gs, m, _ := rolloutOnce(t, cfg)
		return gs, m, cfg.RewardConfig()
	}
	real, mReal, rc := rollout(objective.RewardVerifier, DefaultRandomP)
	shuf, mShuf, _ := rollout(objective.RewardShuffle, DefaultRandomP)
	moved := 0
	for i := range real {
		if !slices.EqualFunc(real[i].comps, shuf[i].comps, slices.Equal) {
			t.Fatalf("group %d: the arms sampled different completions", i)
		}
		a, b := slices.Clone(real[i].rewards), slices.Clone(shuf[i].rewards)
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			t.Fatalf("group %d: shuffled rewards %v are not a permutation of the group's own %v", i, shuf[i].rewards, real[i].rewards)
		}
		for s := range real[i].rewards {
			if real[i].rewards[s] != shuf[i].rewards[s] {
				moved++
			}
		}
	}
	if moved == 0 {
		t.Fatal("shuffle moved no reward")
	}
	for _, f := range []struct {
		key        string
		real, shuf float64
	}{
		{"zero_variance_frac", mReal.ZeroVarianceFrac, mShuf.ZeroVarianceFrac},
		{"reward_mean", mReal.RewardMean, mShuf.RewardMean},
		{"accuracy", mReal.Accuracy, mShuf.Accuracy},
	} {
		// Equal up to the order of a float sum: a permutation inside a
		// group may change the last bit of reward_mean.
		if math.Abs(f.real-f.shuf) > 1e-12 {
			t.Errorf("%s: shuffle %v, verifier %v: want equal", f.key, f.shuf, f.real)
		}
	}
	t.Logf("zero_variance_frac %v, %d of %d rewards moved", mReal.ZeroVarianceFrac, moved, 16*4)
	if zv := mReal.ZeroVarianceFrac; zv == 0 || zv == 1 {
		t.Errorf("zero_variance_frac %v: the test needs both kinds of groups", zv)
	}
	always, _, _ := rollout(objective.RewardBernoulli, 1)
	for i, g := range always {
		for s, r := range g.rewards {
			q := g.parts[s]
			q.Correct = 1
			if r != rc.Total(q) {
				t.Fatalf("bernoulli p=1: group %d completion %d reward %v, want %v", i, s, r, rc.Total(q))
			}
		}
	}
}

// TestBestUsesOnlyCurrentScores: a checkpoint saved at a step without a
// validation carries no score, so "best" never names unevaluated weights.
func TestBestUsesOnlyCurrentScores(t *testing.T) {
	tr := &Trainer{LastVal: 0.5, ValStep: 3, Step: 3}
	if got := tr.currentVal(); got != 0.5 {
		t.Fatalf("score at the validated step: got %v, want 0.5", got)
	}
	tr.Step = 4
	if got := tr.currentVal(); !math.IsNaN(got) {
		t.Fatalf("score one step after validation: got %v, want NaN (unknown)", got)
	}
}

// TestGRPOEntropyBonus: with dapo aggregation the bonus term of the loss,
// sum_t e_t H_t computed by the graph on packed rows, is -entropy_coef times
// the token-mean entropy the engine measured while sampling (within 1e-3
// relative: float32 softmaxes in two implementations), and the bonus
// changes the gradient.
func TestGRPOEntropyBonus(t *testing.T) {
	init := warmStart(t, filepath.Join(t.TempDir(), "sft"), 4)
	var grads [][]float32
	for _, coef := range []float64{0, 0.5} {
		cfg := tinyGRPO(1)
		cfg.Loss = objective.AggDAPO
		cfg.EntropyCoef = coef
		cfg.EvalEvery = 0
		tr, err := NewGRPO(cfg, init, "test")
		if err != nil {
			t.Fatal(err)
		}
		var m *Metrics
		tr.stepHook = func(mm *Metrics) { m = mm }
		tr.gradHook = func(g []float32) { grads = append(grads, append([]float32(nil), g...)) }
		if err := tr.Train(); err != nil {
			t.Fatal(err)
		}
		tr.Close()
		if coef == 0 {
			if m.LossEntropy != nil {
				t.Error("entropy_coef 0 logged loss_entropy")
			}
			continue
		}
		got, want := *m.LossEntropy, -coef**m.Entropy
		if want == 0 || math.Abs(got-want) > 1e-3*math.Abs(want) {
			t.Errorf("loss_entropy = %v, want -%v * entropy %v = %v", got, coef, *m.Entropy, want)
		}
	}
	same := true
	for i := range grads[0] {
		same = same && grads[0][i] == grads[1][i]
	}
	if same {
		t.Error("the entropy bonus left the gradient unchanged")
	}
}

// TestRolloutLogPEqualsScore: without top-k or top-p the sampler's log-probs,
// which GRPO uses as the old policy's, are bitwise the engine's Score of the
// same completions at the same temperature; with top-k they are not (and
// GRPO scores instead).
func TestRolloutLogPEqualsScore(t *testing.T) {
	init := warmStart(t, filepath.Join(t.TempDir(), "sft"), 4)
	for _, topK := range []int{0, 3} {
		cfg := tinyGRPO(1)
		cfg.Temperature = 0.7
		cfg.TopK = topK
		tr, err := NewGRPO(cfg, init, "test")
		if err != nil {
			t.Fatal(err)
		}
		gs, err := tr.rolloutGroups(0, 2)
		if err != nil {
			t.Fatal(err)
		}
		equal, n := true, 0
		for _, g := range gs {
			for s, comp := range g.comps {
				seq := append(append([]int(nil), g.prompt...), comp...)
				dst := [][]float32{make([]float32, len(seq)-1)}
				if err := tr.policy.Score(dst, [][]int{seq}, float32(cfg.Temperature)); err != nil {
					t.Fatal(err)
				}
				for j, lp := range g.logp[s] {
					equal = equal && lp == dst[0][len(g.prompt)-1+j]
					n++
				}
			}
		}
		tr.Close()
		if n == 0 {
			t.Fatal("no tokens sampled")
		}
		if want := topK == 0; equal != want {
			t.Errorf("top_k %d: sampler log-probs equal to Score: %v, want %v", topK, equal, want)
		}
	}
}

// TestSFTDataCyclesAFixedSet: with sft_data n the warm start sees at most n
// distinct problems per task however long it trains; 0 keeps drawing fresh
// ones. The cap does not apply to GRPO's prompts.
func TestSFTDataCyclesAFixedSet(t *testing.T) {
	for _, n := range []int{0, 3} {
		cfg := tinySFT(1)
		cfg.SFTData = n
		tr, err := NewSFT(cfg, "test")
		if err != nil {
			t.Fatal(err)
		}
		keys := map[string]map[string]bool{}
		for i := range 200 {
			it := tr.Mix[i%len(tr.Mix)]
			p, err := tr.drawProblem(it)
			if err != nil {
				t.Fatal(err)
			}
			if keys[it.Family] == nil {
				keys[it.Family] = map[string]bool{}
			}
			keys[it.Family][p.Key] = true
		}
		for fam, ks := range keys {
			if n > 0 && len(ks) > n {
				t.Errorf("sft_data %d: %d distinct %s problems drawn, want at most %d", n, len(ks), fam, n)
			}
			if n == 0 && len(ks) < 20 {
				t.Errorf("sft_data 0: only %d distinct %s problems in 100 draws", len(ks), fam)
			}
		}
		tr.Close()
	}
	bad := tinySFT(1)
	bad.SFTData = -1
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "sft_data") {
		t.Errorf("sft_data -1: Validate() = %v, want an error naming sft_data", err)
	}
}

// TestResumeKeepsGraphWidth: the graph width (which packing depends on) is
// saved with the data position and a restored trainer builds its graph at
// least that wide, even where its own first batch would need less.
func TestResumeKeepsGraphWidth(t *testing.T) {
	init := warmStart(t, filepath.Join(t.TempDir(), "sft"), 2)
	cfg := tinyGRPO(1)
	cfg.EvalEvery = 0
	tr, err := NewGRPO(cfg, init, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	tr.graphT += 9 // as if a long batch had widened the graph
	ck, err := tr.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	again, err := NewGRPO(cfg, init, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if err := again.Restore(ck); err != nil {
		t.Fatal(err)
	}
	if err := again.ensureGraph(1); err != nil {
		t.Fatal(err)
	}
	if again.graphT != tr.graphT {
		t.Fatalf("restored graph width %d, want the saved %d", again.graphT, tr.graphT)
	}
}

// TestRolloutLengthMetrics: the length figures the study's Dr. GRPO and
// "aha" curves read, recomputed from the groups: the mean length of the
// correct and of the other completions, the mean length per task, and the
// think block's length (tokens between the first <think> and the first
// </think> after it, over the completions that have both: eval's rule).
func TestRolloutLengthMetrics(t *testing.T) {
	gs, m, tok := rolloutOnce(t, rolloutConfig("add:1,add:2"))
	var right, wrong []float64
	byTask, think := map[string][]float64{}, map[string][]float64{}
	for _, g := range gs {
		key := fmt.Sprintf("add:%d", g.prob.Level)
		for s, o := range g.outs {
			l := float64(len(g.comps[s]))
			if o.Correct && g.stopped[s] {
				right = append(right, l)
			} else {
				wrong = append(wrong, l)
			}
			byTask[key] = append(byTask[key], l)
			text, _, err := tok.DecodeCompletion(g.comps[s])
			if err != nil {
				continue
			}
			if _, body, ok := strings.Cut(text, data.TagThinkOpen); ok {
				if i := strings.Index(body, data.TagThinkClose); i >= 0 {
					ids, err := tok.Encode(body[:i])
					if err != nil {
						t.Fatal(err)
					}
					think[key] = append(think[key], float64(len(ids)))
				}
			}
		}
	}
	if len(right) == 0 || len(wrong) == 0 || len(think) == 0 {
		t.Fatalf("%d correct, %d other completions, think blocks in %d tasks: the test needs all", len(right), len(wrong), len(think))
	}
	mean := func(xs []float64) float64 { m, _ := eval.MeanStdErr(xs); return m }
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	if m.CompletionLenRight == nil || !near(*m.CompletionLenRight, mean(right)) {
		t.Errorf("completion_len_correct %v: want %v", m.CompletionLenRight, mean(right))
	}
	if m.CompletionLenWrong == nil || !near(*m.CompletionLenWrong, mean(wrong)) {
		t.Errorf("completion_len_wrong %v: want %v", m.CompletionLenWrong, mean(wrong))
	}
	for key, xs := range byTask {
		if !near(m.CompletionLenTask[key], mean(xs)) {
			t.Errorf("completion_len_by_task[%s] = %v: want %v", key, m.CompletionLenTask[key], mean(xs))
		}
	}
	for key, xs := range think {
		if !near(m.ThinkLenByTask[key], mean(xs)) {
			t.Errorf("think_len_by_task[%s] = %v: want %v", key, m.ThinkLenByTask[key], mean(xs))
		}
	}
	if len(m.ThinkLenByTask) != len(think) || len(m.CompletionLenTask) != len(byTask) {
		t.Errorf("tasks: think %v, length %v: want %d and %d", m.ThinkLenByTask, m.CompletionLenTask, len(think), len(byTask))
	}
	t.Logf("correct %.1f (%d), other %.1f (%d), think %v", mean(right), len(right), mean(wrong), len(wrong), m.ThinkLenByTask)
}

// rolloutConfig is a GRPO config of 16 prompts x 4 completions of tasks
// from the tiny add:1 fixture, on one worker.
func rolloutConfig(tasks string) Config {
	cfg := DefaultTrainConfig()
	cfg.Tasks = tasks
	cfg.Prompts, cfg.Group, cfg.MaxNew = 16, 4, 32
	cfg.Workers = 1
	return cfg
}

// rolloutOnce samples and scores the first step's groups of cfg from the
// tiny add:1 fixture and returns them with their metrics and the tokenizer.
func rolloutOnce(t *testing.T, cfg Config) ([]group, *RolloutMetrics, *data.Tokenizer) {
	t.Helper()
	tr, err := NewGRPO(cfg, "testdata/tiny-add1.ckpt", "test")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	gs, err := tr.rolloutGroups(0, cfg.Prompts)
	if err != nil {
		t.Fatal(err)
	}
	return gs, tr.rolloutMetrics(gs), tr.Tok
}
