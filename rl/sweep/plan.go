package sweep

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"tinyr1/rl/train"
)

// This file turns an experiment into jobs: one training job per arm and
// seed, one evaluation job per evaluation, arm and seed, each with the jobs
// it waits for, in waves (a job's wave is one more than its latest
// dependency's), and each job's command line.

// Job is one tinyr1 command of a sweep.
type Job struct {
	Index int      // position in Plan.Jobs: sweep job --index, the Slurm array index
	Name  string   // ARM-sSEED, or ARM-sSEED/eval/NAME for an evaluation
	Arm   *Arm     // the arm it trains or evaluates
	Seed  uint64   // the arm's seed
	Eval  *Eval    // the evaluation; nil for a training job
	Dir   string   // the arm's run folder for this seed
	Deps  []int    // indices of the jobs it waits for
	Wave  int      // 0 for jobs that wait for none
	Kind  string   // the tinyr1 command: sft, train or eval
	Needs []string // names of the jobs it waits for, for plan's listing
}

// Plan is an experiment's jobs, in waves, with the sweep's folder.
type Plan struct {
	Exp      *Experiment
	Out      string // the sweep's folder (the file's out unless overridden)
	Jobs     []*Job
	ReadOnly bool // Check writes nothing: it never freezes a compute-matching figure
}

// NewPlan lays out e's jobs with run folders under out ("" is e.Out).
func NewPlan(e *Experiment, out string) *Plan {
	if out == "" {
		out = e.Out
	}
	p := &Plan{Exp: e, Out: out}
	order, _ := e.armOrder() // checked by Parse
	byName := map[string]*Job{}
	for _, a := range order {
		for _, s := range e.Seeds {
			j := &Job{Name: runName(a.Name, s), Arm: a, Seed: s, Dir: filepath.Join(out, runName(a.Name, s)), Kind: e.Kind(a)}
			if a.From != "" {
				j.Needs = append(j.Needs, runName(a.From, s))
			}
			if m := a.Match; m != nil && m.Steps == nil {
				for _, d := range []string{m.Arm, m.PerStep} {
					for _, ds := range e.Seeds {
						if n := runName(d, ds); !slices.Contains(j.Needs, n) {
							j.Needs = append(j.Needs, n)
						}
					}
				}
			}
			byName[j.Name] = j
			p.Jobs = append(p.Jobs, j)
		}
	}
	for _, a := range e.Arms { // evaluations in arm order, seed, then eval order
		for _, s := range e.Seeds {
			for i := range e.Evals {
				ev := &e.Evals[i]
				if len(ev.Arms) > 0 && !slices.Contains(ev.Arms, a.Name) {
					continue
				}
				run := byName[runName(a.Name, s)]
				j := &Job{Name: run.Name + "/eval/" + ev.Name, Arm: run.Arm, Seed: s, Eval: ev, Dir: run.Dir, Kind: "eval", Needs: []string{run.Name}}
				byName[j.Name] = j
				p.Jobs = append(p.Jobs, j)
			}
		}
	}
	for _, j := range p.Jobs { // jobs come after their dependencies: one pass
		for _, n := range j.Needs {
			j.Wave = max(j.Wave, byName[n].Wave+1)
		}
	}
	sort.SliceStable(p.Jobs, func(a, b int) bool { return p.Jobs[a].Wave < p.Jobs[b].Wave })
	for i, j := range p.Jobs {
		j.Index = i
	}
	for _, j := range p.Jobs {
		for _, n := range j.Needs {
			j.Deps = append(j.Deps, byName[n].Index)
		}
	}
	return p
}

// runName names an arm's run of seed: its folder under the sweep's.
func runName(arm string, seed uint64) string { return arm + "-s" + strconv.FormatUint(seed, 10) }

// Waves returns the jobs of each wave, in order.
func (p *Plan) Waves() [][]*Job {
	var waves [][]*Job
	for _, j := range p.Jobs {
		if j.Wave == len(waves) {
			waves = append(waves, nil)
		}
		waves[j.Wave] = append(waves[j.Wave], j)
	}
	return waves
}

// Job returns the job named name, or nil.
func (p *Plan) Job(name string) *Job {
	for _, j := range p.Jobs {
		if j.Name == name {
			return j
		}
	}
	return nil
}

// Run returns the training job of arm and seed.
func (p *Plan) Run(arm string, seed uint64) *Job { return p.Job(runName(arm, seed)) }

// EvalFile is where an evaluation job writes its JSON.
func (j *Job) EvalFile() string { return filepath.Join(j.Dir, "eval", j.Eval.Name+".json") }

// Threads is how many goroutines a job's command runs its rollouts on (the
// workers setting), which sweep run divides the cores by.
func (p *Plan) Threads(j *Job) int {
	if j.Eval != nil {
		cfg, _ := EvalConfig(j.Eval)
		return cfg.Workers
	}
	cfg, _ := p.Exp.TrainConfig(j.Arm, j.Seed, 0)
	return cfg.Workers
}

// TrainArgs is the command line (without the program name) that starts a
// training job afresh with extra steps: the command's flags for the keys the
// overlay sets and the seed, in config field order; force adds --force (a
// folder left by a run stopped before its first checkpoint).
func (p *Plan) TrainArgs(j *Job, extra int, force bool) []string {
	a := j.Arm
	cfg, _ := p.Exp.TrainConfig(a, j.Seed, extra)
	args := []string{j.Kind}
	if a.From != "" {
		parent := p.Run(a.From, j.Seed).Dir
		if p.Exp.Mode(a) == train.RFT {
			args = append(args, "--from-samples", parent)
		} else {
			args = append(args, "--init", parent)
		}
	}
	args = append(args, "--out", j.Dir)
	if force {
		args = append(args, "--force")
	}
	set := p.Exp.Overlay(a)
	set["seed"] = nil
	if extra != 0 {
		set["steps"] = nil
	}
	args = append(args, flagArgs(cfg, set)...)
	return append(args, "--quiet")
}

// ResumeArgs is the command line that resumes a training job's run.
func (p *Plan) ResumeArgs(j *Job) []string {
	return []string{j.Kind, "--resume", j.Dir, "--quiet"}
}

// EvalArgs is an evaluation job's command line: tinyr1 eval of the run's
// latest checkpoint, writing RUN/eval/NAME.json.
func (p *Plan) EvalArgs(j *Job) []string {
	cfg, _ := EvalConfig(j.Eval)
	ov, _ := overlayKeys(j.Eval.Config)
	args := append([]string{"eval", j.Dir}, flagArgs(cfg, ov)...)
	return append(args, "--quiet", "--out", j.EvalFile())
}

// flagArgs returns the flags of cfg's fields whose json keys are in set,
// in field order, with the values cfg holds.
func flagArgs(cfg any, set map[string]json.RawMessage) []string {
	var args []string
	v := reflect.ValueOf(cfg)
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		key := strings.Split(f.Tag.Get("json"), ",")[0]
		if _, ok := set[key]; !ok {
			continue
		}
		name := f.Tag.Get("flag")
		if name == "" {
			name = strings.ReplaceAll(key, "_", "-")
		}
		fv := v.Field(i)
		switch fv.Kind() {
		case reflect.Bool:
			if fv.Bool() {
				args = append(args, "--"+name)
			} else {
				args = append(args, "--"+name+"=false")
			}
		case reflect.Uint64:
			args = append(args, "--"+name, strconv.FormatUint(fv.Uint(), 10))
		case reflect.Int:
			args = append(args, "--"+name, strconv.FormatInt(fv.Int(), 10))
		case reflect.Float64:
			args = append(args, "--"+name, strconv.FormatFloat(fv.Float(), 'g', -1, 64))
		case reflect.String:
			args = append(args, "--"+name, fv.String())
		case reflect.Slice:
			xs := fv.Interface().([]int)
			s := make([]string, len(xs))
			for i, x := range xs {
				s[i] = strconv.Itoa(x)
			}
			args = append(args, "--"+name, strings.Join(s, ","))
		default:
			panic(fmt.Sprintf("sweep: config field %s of type %s has no flag form", key, fv.Type()))
		}
	}
	return args
}

// ShellLine quotes args for a shell, for listings and scripts.
func ShellLine(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.,:/+@%") == "" {
			out[i] = a
		} else {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}
