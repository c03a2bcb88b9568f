package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sync/atomic"
	"time"

	"tinyr1/checkpoints"
	"tinyr1/data"
	"tinyr1/model"
	"tinyr1/rl"
	"tinyr1/rl/objective"
)

// Trainer holds the whole state of a run: the policy, its optimizer, the
// frozen reference (GRPO), the data position and the curriculum. Everything
// in it is saved in checkpoints; a resumed Trainer continues exactly.
type Trainer struct {
	Mode   Mode // SFT, RFT or GRPO
	Cfg    Config
	Tok    *data.Tokenizer
	Params *model.Params // the policy, trained in place
	Ref    *model.Params // GRPO: the frozen reference policy; RFT: the frozen sampler (both the initial checkpoint, or the policy at its last reference reset); nil for SFT
	Opt    *model.AdamW
	Sched  model.Schedule
	Mix    data.Mixture
	Cur    *objective.Curriculum // nil unless Cfg.Curriculum

	Step      int     // optimizer steps done
	DataPos   uint64  // problems drawn from the train split so far
	BestVal   float64 // best validation pass@1 so far (NaN before the first)
	LastVal   float64 // last validation pass@1 (NaN before the first)
	ValStep   int     // the step LastVal was measured at
	NonFinite int     // non-finite steps in a row
	Skipped   int     // non-finite steps skipped in all
	RefStep   int     // GRPO, RFT: the step of the last reference (sampler) reset (refreset.go); 0: Ref is the initial checkpoint

	RunID      string
	ParentHash string // content hash of the initial checkpoint (GRPO, RFT)
	InitPath   string // the initial checkpoint (GRPO, RFT)

	Run       *checkpoints.Run // the run folder, opened for writing: checkpoints and metrics go there; nil in tests that only step
	Progress  io.Writer        // progress lines; nil for none
	Warn      io.Writer        // warnings, each printed once per process (worked solutions cut); nil for none
	warnedCut bool
	Stop      *atomic.Bool

	gradHook func(grads []float32)                         // tests: sees the gradient before each update
	stepHook func(m *Metrics)                              // tests: sees each step's metrics
	advHook  func(seqs [][]int, plen []int, adv []float64) // tests: sees each GRPO batch before its update
	coefHook func(b objective.Batch, coef []float32)       // tests: sees each pass's batch and coefficients

	graph  *model.Graph
	graphT int
	pack   packing // placement of the step's sequences in the graph's rows
	// minGraphT is the graph width a resumed run starts from (dataPosition.GraphT).
	minGraphT int
	policy    engine // the policy's rollout engine (GRPO rollouts and log-probs, validation)
	frozen    engine // the reference's (GRPO; built only when Cfg.ScoresReference) or the sampler's (RFT)
	roll      *model.Rollout
	start     time.Time
	startStep int // t.Step when Train began: a resumed run's rate counts from here
}

// ErrInterrupted is returned by Train when Stop was set: the current step
// finished and a checkpoint was written.
var ErrInterrupted = errors.New("interrupted")

// dataPosition is the part of the trainer state saved as the checkpoint's
// data position.
type dataPosition struct {
	DataPos    uint64                `json:"data_pos"`
	BestVal    *float64              `json:"best_val,omitempty"`
	LastVal    *float64              `json:"last_val,omitempty"`
	ValStep    int                   `json:"val_step,omitempty"`
	Skipped    int                   `json:"skipped"`
	NonFinite  int                   `json:"nonfinite"`
	Curriculum *objective.Curriculum `json:"curriculum,omitempty"`
	// GraphT is the training graph's row width. Packing depends on it, and
	// GRPO widens the graph when a batch needs more room, so a resumed run
	// must start at the width the interrupted one had reached.
	GraphT int `json:"graph_t,omitempty"`
	// RefStep is the step of the last reference reset (refreset.go); the
	// checkpoint then embeds the reference as "ref.<param>" tensors.
	RefStep int `json:"ref_step,omitempty"`
}

// NewSFT makes a trainer for a supervised warm start from a random model.
func NewSFT(cfg Config, runID string) (*Trainer, error) {
	if err := cfg.ValidateFor(SFT); err != nil {
		return nil, err
	}
	tok := data.NewTokenizer()
	mcfg, err := model.Preset(cfg.Preset, tok.VocabSize())
	if err != nil {
		return nil, err
	}
	p := model.NewParams(mcfg)
	p.Init(DeriveSeed(cfg.Seed, streamInit))
	return newTrainer(SFT, cfg, tok, p, nil, runID)
}

// NewGRPO makes a GRPO trainer starting from the checkpoint at initPath,
// which is also the frozen reference policy.
func NewGRPO(cfg Config, initPath, runID string) (*Trainer, error) {
	return trainerFrom(GRPO, "--init", cfg, initPath, runID)
}

// trainerFrom makes a trainer of mode GRPO or RFT whose policy starts from
// the checkpoint at path and whose Ref is a frozen copy of it (GRPO's
// reference, or RFT's sampler); flag names path in errors.
func trainerFrom(mode Mode, flag string, cfg Config, path, runID string) (*Trainer, error) {
	if err := cfg.ValidateFor(mode); err != nil {
		return nil, err
	}
	ck, err := checkpoints.Load(path)
	if err != nil {
		return nil, err
	}
	tok := data.NewTokenizer()
	if err := tok.CheckTokens(ck.Header.Vocab); err != nil {
		return nil, fmt.Errorf("rl: %s %s: %w", flag, path, err)
	}
	p, err := rl.ParamsFromCheckpoint(ck)
	if err != nil {
		return nil, err
	}
	t, err := newTrainer(mode, cfg, tok, p, p.Clone(), runID)
	if err != nil {
		return nil, err
	}
	t.ParentHash, t.InitPath = ck.Hash, path
	return t, nil
}

func newTrainer(mode Mode, cfg Config, tok *data.Tokenizer, p, ref *model.Params, runID string) (*Trainer, error) {
	mix, err := data.ParseMixture(cfg.Tasks)
	if err != nil {
		return nil, fmt.Errorf("rl: --tasks: %w", err)
	}
	if err := mix.CheckContext(tok, p.Cfg.Context); err != nil {
		return nil, fmt.Errorf("rl: --tasks: %w", err)
	}
	if err := cfg.PinTaskFiles(); err != nil {
		return nil, err
	}
	opt, err := model.NewAdamW(p, model.AdamWConfig{LR: cfg.LR, Beta1: cfg.Beta1, Beta2: cfg.Beta2, Eps: cfg.AdamEps,
		WeightDecay: cfg.WeightDecay, ClipNorm: cfg.ClipNorm})
	if err != nil {
		return nil, err
	}
	sched := model.Schedule{Kind: cfg.Schedule, Warmup: cfg.Warmup, Total: max(cfg.Steps, cfg.Warmup+1), MinLR: cfg.MinLR}
	if err := sched.Validate(); err != nil {
		return nil, err
	}
	t := &Trainer{Mode: mode, Cfg: cfg, Tok: tok, Params: p, Ref: ref, Opt: opt, Sched: sched, Mix: mix,
		BestVal: math.NaN(), LastVal: math.NaN(), RunID: runID, Stop: new(atomic.Bool)}
	if cfg.Curriculum && mode == GRPO {
		var fams []string
		for _, it := range mix {
			fams = append(fams, it.Family)
		}
		if t.Cur, err = objective.NewCurriculum(cfg.CurriculumConfig(), fams...); err != nil {
			return nil, err
		}
	}
	if err := t.checkFileSplits(); err != nil {
		return nil, err
	}
	return t, nil
}

// Checkpoint captures the whole trainer state.
func (t *Trainer) Checkpoint() (*checkpoints.Checkpoint, error) {
	mc, err := json.Marshal(t.Params.Cfg)
	if err != nil {
		return nil, err
	}
	tc, err := json.Marshal(t.Cfg)
	if err != nil {
		return nil, err
	}
	dp := dataPosition{DataPos: t.DataPos, Skipped: t.Skipped, NonFinite: t.NonFinite, Curriculum: t.Cur, ValStep: t.ValStep, GraphT: t.graphT, RefStep: t.RefStep}
	if !math.IsNaN(t.BestVal) {
		dp.BestVal = &t.BestVal
	}
	if !math.IsNaN(t.LastVal) {
		dp.LastVal = &t.LastVal
	}
	pos, err := json.Marshal(dp)
	if err != nil {
		return nil, err
	}
	h := checkpoints.Header{
		RunID: t.RunID, Step: t.Step, OptimizerStep: t.Opt.Step,
		ModelConfig: mc, TrainConfig: tc, Vocab: t.Tok.Tokens(),
		// Every generator is derived from (seed, purpose, step, prompt,
		// sample); the seed lives in the training config, so the only
		// generator state is the seed itself.
		RNG:          map[string][]byte{"seed": []byte(fmt.Sprint(t.Cfg.Seed))},
		DataPosition: pos,
		ParentHash:   t.ParentHash,
		Build:        checkpoints.BuildInfo(Backend),
	}
	if t.Mode != SFT && t.RefStep == 0 { // GRPO's reference, or RFT's sampler; after a reset it is embedded below
		h.ReferenceHash = t.ParentHash
	}
	if v := t.currentVal(); !math.IsNaN(v) {
		h.Metrics = map[string]float64{"val_pass1": v}
	}
	ck := &checkpoints.Checkpoint{Header: h}
	for _, pt := range t.Params.Tensors {
		ck.Tensors = append(ck.Tensors, checkpoints.Tensor{Name: "model." + pt.Name, Shape: pt.Shape, Data: pt.Data})
	}
	for _, pt := range t.Params.Tensors {
		ck.Tensors = append(ck.Tensors, checkpoints.Tensor{Name: "adam.m." + pt.Name, Shape: pt.Shape,
			Data: t.Opt.M[pt.Offset : pt.Offset+len(pt.Data)]})
	}
	for _, pt := range t.Params.Tensors {
		ck.Tensors = append(ck.Tensors, checkpoints.Tensor{Name: "adam.v." + pt.Name, Shape: pt.Shape,
			Data: t.Opt.V[pt.Offset : pt.Offset+len(pt.Data)]})
	}
	if t.RefStep > 0 {
		for _, pt := range t.Ref.Tensors {
			ck.Tensors = append(ck.Tensors, checkpoints.Tensor{Name: "ref." + pt.Name, Shape: pt.Shape, Data: pt.Data})
		}
	}
	return ck, nil
}

// Restore loads the trainer state of a checkpoint written by Checkpoint.
// The model config must match exactly.
func (t *Trainer) Restore(ck *checkpoints.Checkpoint) error {
	mc, _ := json.Marshal(t.Params.Cfg)
	if err := checkpoints.CheckConfig(ck, mc); err != nil {
		return err
	}
	if err := rl.CopyTensors(t.Params, ck, "model.", t.Params.Data); err != nil {
		return err
	}
	if err := rl.CopyTensors(t.Params, ck, "adam.m.", t.Opt.M); err != nil {
		return err
	}
	if err := rl.CopyTensors(t.Params, ck, "adam.v.", t.Opt.V); err != nil {
		return err
	}
	t.Opt.Step = ck.Header.OptimizerStep
	t.Step = ck.Header.Step
	var dp dataPosition
	if len(ck.Header.DataPosition) > 0 {
		if err := json.Unmarshal(ck.Header.DataPosition, &dp); err != nil {
			return fmt.Errorf("rl: checkpoint %s: data position: %v", ck.File, err)
		}
	}
	t.DataPos, t.Skipped, t.NonFinite, t.ValStep = dp.DataPos, dp.Skipped, dp.NonFinite, dp.ValStep
	if dp.GraphT < 0 || dp.GraphT > t.Params.Cfg.Context {
		return fmt.Errorf("rl: checkpoint %s: graph width %d: want 0 to the context %d", ck.File, dp.GraphT, t.Params.Cfg.Context)
	}
	t.minGraphT = dp.GraphT
	if dp.RefStep < 0 || dp.RefStep > t.Step || (dp.RefStep > 0 && t.Mode == SFT) {
		return fmt.Errorf("rl: checkpoint %s: reference reset at step %d: want 0, or a step of a GRPO or RFT run up to the checkpoint's %d", ck.File, dp.RefStep, t.Step)
	}
	if t.RefStep = dp.RefStep; t.RefStep > 0 {
		if err := rl.CopyTensors(t.Ref, ck, "ref.", t.Ref.Data); err != nil {
			return err
		}
	}
	t.BestVal, t.LastVal = math.NaN(), math.NaN()
	if dp.BestVal != nil {
		t.BestVal = *dp.BestVal
	}
	if dp.LastVal != nil {
		t.LastVal = *dp.LastVal
	}
	if t.Cur != nil && dp.Curriculum != nil {
		if err := dp.Curriculum.Validate(); err != nil {
			return fmt.Errorf("rl: checkpoint %s: curriculum: %w", ck.File, err)
		}
		t.Cur = dp.Curriculum
	}
	return nil
}

// currentVal is the validation score of the current weights: LastVal when
// it was measured at this step, NaN otherwise (so that "best" never points
// at weights that were not evaluated).
func (t *Trainer) currentVal() float64 {
	if t.ValStep == t.Step {
		return t.LastVal
	}
	return math.NaN()
}

// Save writes a checkpoint of the current state into the run folder. It
// refuses to write non-finite weights.
func (t *Trainer) Save() (string, error) {
	for _, v := range t.Params.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return "", fmt.Errorf("rl: step %d: non-finite weights: refusing to write a checkpoint", t.Step)
		}
	}
	ck, err := t.Checkpoint()
	if err != nil {
		return "", err
	}
	return t.Run.SaveStep(ck, t.currentVal(), checkpoints.Retention{KeepLast: t.Cfg.KeepLast, KeepEvery: t.Cfg.KeepEvery})
}

// Train runs steps until Cfg.Steps, writing metrics, validations and
// checkpoints. It returns ErrInterrupted after a checkpoint when Stop is set.
func (t *Trainer) Train() error {
	t.start, t.startStep = time.Now(), t.Step
	for t.Step < t.Cfg.Steps {
		var m *Metrics
		var err error
		if t.Mode.supervised() {
			m, err = t.sftStep()
		} else {
			m, err = t.grpoStep()
		}
		if err != nil {
			return err
		}
		t.Step++
		m.Step = t.Step
		if t.resetDue() {
			t.resetReference()
			m.RefReset = true
		}
		if t.Cfg.EvalEvery > 0 && (t.Step%t.Cfg.EvalEvery == 0 || t.Step == t.Cfg.Steps) {
			t0 := time.Now()
			v, per, err := t.Validate()
			if err != nil {
				return err
			}
			t.LastVal, t.ValStep = v, t.Step
			if math.IsNaN(t.BestVal) || v > t.BestVal {
				t.BestVal = v
			}
			m.ValidationMetrics = &ValidationMetrics{ValPass1: v, ValPass1ByTask: per, TimeEval: time.Since(t0).Seconds()}
		}
		if bad := m.finite(); len(bad) > 0 && !m.Nonfinite {
			// A loss and gradient norm can stay finite while the rollout's
			// log-probabilities (kl, entropy) are not: count the step.
			t.NonFinite++
			m.Nonfinite = true
		}
		if t.stepHook != nil {
			t.stepHook(m)
		}
		if t.Run != nil {
			if err := t.Run.AppendMetrics(m); err != nil {
				return err
			}
		}
		t.progress(m)
		if t.NonFinite >= t.Cfg.MaxNonFinite {
			kept := "no checkpoint was written"
			if t.Run != nil {
				if latest, err := t.Run.Latest(); err == nil {
					kept = "the last good checkpoint, " + latest + ", is kept"
				}
			}
			return fmt.Errorf("rl: %d non-finite steps in a row at step %d: want finite losses and gradients (lower --lr?); %s", t.NonFinite, t.Step, kept)
		}
		stopping := t.Stop.Load()
		if t.Run != nil && (t.Step%t.Cfg.SaveEvery == 0 || t.Step == t.Cfg.Steps || stopping) {
			if _, err := t.Save(); err != nil {
				return err
			}
		}
		if stopping && t.Step < t.Cfg.Steps {
			return ErrInterrupted
		}
	}
	return nil
}

// checkFinite counts a non-finite loss or gradient of step m, which has
// UpdateMetrics (the update was skipped by AdamW for a non-finite gradient
// norm).
func (t *Trainer) checkFinite(m *Metrics, loss, gradNorm float64) {
	if math.IsNaN(loss) || math.IsInf(loss, 0) || math.IsNaN(gradNorm) || math.IsInf(gradNorm, 0) {
		t.NonFinite++
		t.Skipped++
		m.Nonfinite = true
	} else {
		t.NonFinite = 0
	}
	m.SkippedSteps = t.Skipped
}

// progress reports the step to t.Progress (progress.go): one line, or a
// StepBar's update.
func (t *Trainer) progress(m *Metrics) {
	if t.Progress == nil {
		return
	}
	sp := StepProgress{Kind: t.Mode.Kind(), Step: t.Step, Steps: t.Cfg.Steps, First: t.startStep,
		Elapsed: time.Since(t.start), Metrics: stepMetrics(m, t.LastVal)}
	if b, ok := t.Progress.(StepBar); ok {
		b.StepDone(sp)
		return
	}
	fmt.Fprintln(t.Progress, sp.Line())
}

// engine is a rollout engine over one set of parameters with its batch
// capacity B.
type engine struct {
	*model.Engine
	B int
}

// ensureEngine returns e's engine over p, built (or rebuilt, closing the
// old one) when e has none or room for fewer than n sequences.
func (t *Trainer) ensureEngine(e *engine, p *model.Params, n int) *model.Engine {
	if e.Engine == nil || e.B < n {
		if e.Engine != nil {
			e.Close()
		}
		e.Engine = model.NewEngine(p, n, p.Cfg.Context, t.Cfg.Workers)
		e.B = n
	}
	return e.Engine
}

// update applies AdamW with the step's learning rate and returns the
// gradient norm.
func (t *Trainer) update(lr float64) float64 {
	if t.gradHook != nil {
		t.gradHook(t.graph.Grads())
	}
	return t.Opt.Update(t.Params.Data, t.graph.Grads(), lr)
}

// Close stops the engines' and the graph's workers.
func (t *Trainer) Close() {
	if t.graph != nil {
		t.graph.Close()
		t.graph = nil
	}
	for _, e := range []*engine{&t.policy, &t.frozen} {
		if e.Engine != nil {
			e.Close()
			*e = engine{}
		}
	}
}

// ensureGraph builds the training graph for micro-batches of T tokens.
func (t *Trainer) ensureGraph(T int) error {
	T = max(T, t.minGraphT)
	if t.graph != nil && t.graphT >= T {
		return nil
	}
	opts := model.GraphOptions{Temperature: float32(t.graphTemperature())}
	opts.Entropy = t.Mode == GRPO && t.Cfg.EntropyCoef > 0 // the loss metric adds the bonus term
	g, err := model.NewGraph(t.Params, t.Cfg.MicroBatch, T, opts)
	if err != nil {
		return err
	}
	if t.graph != nil {
		t.graph.Close()
	}
	t.graph, t.graphT = g, T
	return nil
}

func (t *Trainer) graphTemperature() float64 {
	if t.Mode.supervised() {
		return 1
	}
	return t.Cfg.Temperature
}
