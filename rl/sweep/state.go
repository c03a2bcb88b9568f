package sweep

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"tinyr1/checkpoints"
	"tinyr1/rl/report"
	"tinyr1/rl/train"
)

// This file reads what a job left on disk: whether its run is finished
// (same run id, final step present), interrupted (same run id, an earlier
// step: resume it) or not started, and the compute-matching figure, frozen
// into a file the first time it is computed.

// State is what a job needs next.
type State int

const (
	Fresh  State = iota // start the run (or evaluation)
	Resume              // continue the interrupted run from its latest checkpoint
	Done                // finished: skip
)

func (s State) String() string { return [...]string{"fresh", "resume", "done"}[s] }

// ErrNotMeasured is Check's error, with a ReadOnly plan, for a
// compute-matched job whose figure is not frozen yet: its steps, and so its
// run id, are known once the job measures them when it starts.
var ErrNotMeasured = errors.New("sweep: extra steps measured when the job starts")

// foreignError is Check's error for a folder that holds another run or
// evaluation: the job cannot finish until a person moves it away.
type foreignError struct{ msg string }

func (e *foreignError) Error() string { return e.msg }

// IsForeign reports whether err is Check's error for a job whose folder
// holds something else (another run, an unreadable manifest, another
// evaluation): unlike a job still waiting for its parents, it will not
// finish by waiting.
func IsForeign(err error) bool {
	var f *foreignError
	return errors.As(err, &f)
}

// Action is a job's state and the command line that moves it on.
type Action struct {
	State State
	Args  []string // without the program name; nil when Done
	RunID string   // the run's id (training jobs)
	Step  int      // the latest checkpoint's step (Resume, Done)
}

// Check says what job j needs, given what its folder holds. It needs the
// jobs j waits for to be done (their checkpoints and measurements); a
// folder holding another run, or an evaluation of another checkpoint or
// config, is an error: the sweep never overwrites it.
func (p *Plan) Check(j *Job) (Action, error) {
	if j.Eval != nil {
		return p.checkEval(j)
	}
	extra := 0
	if j.Arm.Match != nil {
		freeze := p.FreezeCompute
		if p.ReadOnly {
			freeze = p.ReadCompute
		}
		c, err := freeze(j.Arm)
		if err != nil {
			return Action{}, err
		}
		if c == nil {
			return Action{State: Fresh, Args: p.TrainArgs(j, 0, false)}, ErrNotMeasured
		}
		extra = c.Extra
	}
	id, cfg, err := p.RunID(j, extra)
	if err != nil {
		return Action{}, err
	}
	if cfg.Steps < 1 { // an arm of steps 0 whose measured figure is 0
		return Action{}, fmt.Errorf("sweep: job %s: arm %q sets steps 0 and compute matching gives it %d extra steps (%s): want at least 1 step (steps in the arm's config, or \"steps\" in its match)",
			j.Name, j.Arm.Name, extra, p.ComputeFile(j.Arm.Name))
	}
	a := Action{RunID: id}
	var man train.Manifest
	raw, err := os.ReadFile(filepath.Join(j.Dir, checkpoints.ManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		entries, _ := os.ReadDir(j.Dir)
		a.Args = p.TrainArgs(j, extra, len(entries) > 0)
		return a, nil
	}
	if err != nil || json.Unmarshal(raw, &man) != nil {
		return a, &foreignError{fmt.Sprintf("sweep: job %s: %s: unreadable manifest.json: want the file a run writes when it starts (move the folder away to rerun)", j.Name, j.Dir)}
	}
	if man.RunID != id {
		return a, &foreignError{fmt.Sprintf("sweep: job %s: %s holds run %s: want %s; the experiment file or a parent run changed (move the folder away, or change out)", j.Name, j.Dir, man.RunID, id)}
	}
	step, ok := LatestStep(j.Dir)
	switch {
	case !ok: // stopped before its first checkpoint: nothing to keep
		a.Args = p.TrainArgs(j, extra, true)
	case step == cfg.Steps:
		a.State, a.Step = Done, step
	case step < cfg.Steps:
		a.State, a.Step, a.Args = Resume, step, p.ResumeArgs(j)
	default:
		return a, fmt.Errorf("sweep: job %s: %s is at step %d: want at most %d steps", j.Name, j.Dir, step, cfg.Steps)
	}
	return a, nil
}

// RunID is the id tinyr1 gives a training job's run (train.RunID): it
// needs the parent's latest checkpoint (its content hash).
func (p *Plan) RunID(j *Job, extra int) (string, train.Config, error) {
	cfg, err := p.Exp.TrainConfig(j.Arm, j.Seed, extra)
	if err != nil {
		return "", cfg, fmt.Errorf("sweep: job %s: %v", j.Name, err)
	}
	if err := cfg.PinTaskFiles(); err != nil {
		return "", cfg, fmt.Errorf("sweep: job %s: %v", j.Name, err)
	}
	hash := ""
	if j.Arm.From != "" {
		parent := p.Run(j.Arm.From, j.Seed)
		path, err := checkpoints.ResolvePath(parent.Dir)
		if err != nil {
			return "", cfg, fmt.Errorf("sweep: job %s: parent %s has no checkpoint: %v", j.Name, parent.Name, err)
		}
		if real, err := filepath.EvalSymlinks(path); err == nil {
			path = real
		}
		if hash, err = checkpoints.ContentHash(path); err != nil {
			return "", cfg, err
		}
	}
	return train.RunID(j.Kind, cfg, hash), cfg, nil
}

// LatestStep returns the step of a run folder's latest checkpoint.
func LatestStep(dir string) (int, bool) {
	latest, err := checkpoints.OpenRun(dir).Latest()
	if err != nil {
		return 0, false
	}
	var step int
	if _, err := fmt.Sscanf(filepath.Base(latest), "step-%d.ckpt", &step); err != nil {
		return 0, false
	}
	return step, true
}

// checkEval says whether an evaluation job's file holds the evaluation of
// the run's latest checkpoint with the job's config.
func (p *Plan) checkEval(j *Job) (Action, error) {
	a := Action{Args: p.EvalArgs(j)}
	raw, err := os.ReadFile(j.EvalFile())
	if errors.Is(err, fs.ErrNotExist) {
		return a, nil
	}
	var got report.EvalFile
	if err != nil || json.Unmarshal(raw, &got) != nil || len(got.Checkpoints) != 1 {
		return a, fmt.Errorf("sweep: job %s: %s is not one checkpoint's evaluation (tinyr1 eval --out): move it away to rerun", j.Name, j.EvalFile())
	}
	latest, err := checkpoints.OpenRun(j.Dir).Latest()
	if err != nil {
		return a, fmt.Errorf("sweep: job %s: %v", j.Name, err)
	}
	hash, err := checkpoints.ContentHash(latest)
	if err != nil {
		return a, err
	}
	want, _ := EvalConfig(j.Eval)
	want.TaskFiles = got.Config.TaskFiles // recorded by eval from the files; the experiment cannot say them
	if got.Checkpoints[0].Hash != hash || !reflect.DeepEqual(got.Config, want) {
		return a, &foreignError{fmt.Sprintf("sweep: job %s: %s evaluates another checkpoint or config than the job's (%s): move it away to rerun", j.Name, j.EvalFile(), latest)}
	}
	a.State, a.Step = Done, got.Checkpoints[0].Step
	return a, nil
}

// Compute is an arm's compute-matching figure, as frozen in
// OUT/compute-ARM.json.
type Compute struct {
	Arm            string    `json:"arm"`              // the arm that gets the extra steps
	Matched        string    `json:"matched"`          // whose seconds are matched
	PerStep        string    `json:"per_step"`         // whose seconds per step price a step
	Seeds          []uint64  `json:"seeds"`            // one figure of each per seed
	Seconds        []float64 `json:"seconds"`          // per seed: the matched run's sum of time_step
	SecondsPerStep []float64 `json:"seconds_per_step"` // per seed: the per_step run's mean time_step (train, rft), or time_update (sft)
	Extra          int       `json:"extra_steps"`      // round(mean seconds / mean seconds per step), or the fixed steps
	Fixed          bool      `json:"fixed"`            // Extra was given ("steps"), not measured
}

// ComputeFile is where an arm's figure is frozen.
func (p *Plan) ComputeFile(arm string) string {
	return filepath.Join(p.Out, "compute-"+arm+".json")
}

// ReadCompute returns the frozen figure of arm a, or nil when none was
// computed yet (a fixed one is never missing).
func (p *Plan) ReadCompute(a *Arm) (*Compute, error) {
	m := a.Match
	if m.Steps != nil {
		return &Compute{Arm: a.Name, Extra: *m.Steps, Fixed: true}, nil
	}
	raw, err := os.ReadFile(p.ComputeFile(a.Name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var c Compute
	if err != nil || json.Unmarshal(raw, &c) != nil {
		return nil, fmt.Errorf("sweep: %s: unreadable: want the compute-matching figure the sweep wrote (delete it to measure again)", p.ComputeFile(a.Name))
	}
	if c.Matched != m.Arm || c.PerStep != m.PerStep {
		return nil, fmt.Errorf("sweep: %s matches %s at %s's cost per step: want %s at %s's (the experiment file changed; delete the file to measure again)",
			p.ComputeFile(a.Name), c.Matched, c.PerStep, m.Arm, m.PerStep)
	}
	return &c, nil
}

// FreezeCompute returns arm a's figure, measuring it from the finished
// runs and writing it the first time. Two processes that measure at once
// measure the same files; the first file written wins and both use it.
func (p *Plan) FreezeCompute(a *Arm) (*Compute, error) {
	if c, err := p.ReadCompute(a); c != nil || err != nil {
		return c, err
	}
	m := a.Match
	c := &Compute{Arm: a.Name, Matched: m.Arm, PerStep: m.PerStep, Seeds: p.Exp.Seeds}
	var sumSec, sumPer float64
	for _, s := range p.Exp.Seeds {
		sec, _, err := metricStat(p.Run(m.Arm, s), "time_step")
		if err != nil {
			return nil, err
		}
		_, per, err := stepPrice(p.Run(m.PerStep, s), p.Exp.Mode(p.Exp.Arm(m.PerStep)))
		if err != nil {
			return nil, err
		}
		c.Seconds, c.SecondsPerStep = append(c.Seconds, sec), append(c.SecondsPerStep, per)
		sumSec += sec
		sumPer += per
	}
	if !(sumPer > 0) {
		return nil, fmt.Errorf("sweep: arm %q: %s's seconds per step are %g: want > 0 to price a step", a.Name, m.PerStep, sumPer)
	}
	c.Extra = int(math.Floor(sumSec/sumPer + 0.5)) // mean over seeds / mean over seeds
	raw, _ := json.MarshalIndent(c, "", "  ")
	if err := writeOnce(p.ComputeFile(a.Name), append(raw, '\n')); err != nil {
		return nil, err
	}
	return p.ReadCompute(a)
}

// stepPrice is what a step of a finished run of mode costs: the mean of
// its time_step in train and rft, whose steps sample (an rft run written
// before rft logged time_step is refused, not priced by its update alone),
// the mean of its time_update in sft, whose step is its update.
func stepPrice(j *Job, mode train.Mode) (sum, mean float64, err error) {
	if mode == train.SFT {
		return metricStat(j, "time_update")
	}
	return metricStat(j, "time_step")
}

// metricStat returns the sum and the mean of a key over the lines of a
// finished run's metrics.jsonl that have it.
func metricStat(j *Job, key string) (sum, mean float64, err error) {
	if _, ok := LatestStep(j.Dir); !ok {
		return 0, 0, fmt.Errorf("sweep: compute matching needs %s finished: %s has no checkpoint", j.Name, j.Dir)
	}
	f, err := os.Open(filepath.Join(j.Dir, checkpoints.MetricsFile))
	if err != nil {
		return 0, 0, fmt.Errorf("sweep: compute matching: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	n := 0
	for sc.Scan() {
		var line map[string]json.RawMessage
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			return 0, 0, fmt.Errorf("sweep: compute matching: %s: a line is not a JSON object", f.Name())
		}
		v, ok := line[key]
		if !ok {
			continue
		}
		var x float64
		if err := json.Unmarshal(v, &x); err != nil {
			return 0, 0, fmt.Errorf("sweep: compute matching: %s: %s = %s: want a number", f.Name(), key, v)
		}
		sum += x
		n++
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("sweep: compute matching: %w", err)
	}
	if n == 0 {
		return 0, 0, fmt.Errorf("sweep: compute matching: %s has no %s: want a run that measures it (time_step: train, rft; time_update: any)", f.Name(), key)
	}
	return sum, sum / float64(n), nil
}

// writeOnce writes b to path unless path exists: a temporary file linked
// into place, so that a reader never sees half a file and a second writer
// leaves the first one's bytes.
func writeOnce(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("sweep: %w", err)
	}
	return nil
}

// LogName is a job's log file name: its name with / as _.
func (j *Job) LogName() string { return strings.ReplaceAll(j.Name, "/", "_") + ".log" }
