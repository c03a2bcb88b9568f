package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"tinyr1/checkpoints"
	"tinyr1/rl/report"
	"tinyr1/rl/sweep"
	"tinyr1/rl/train"
)

// This file holds `tinyr1 sweep`: an experiment file (rl/sweep) run as
// jobs on a local pool (sweep_pool.go), one job by index (a Slurm array
// task), Slurm batch scripts, and the aggregated report. Each job is a
// tinyr1 command run as a child process of this binary.

var (
	sweepOutFlag = &cli.StringFlag{Name: "out", Category: catRun,
		Usage: "the sweep's folder instead of the file's \"out\" (same run ids, other folders)"}
	sweepJobsFlag = &cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Category: catRun,
		Usage: "jobs at a time; 0: the cores divided by the jobs' threads (workers)", Value: 0}
	sweepIndexFlag = &cli.IntFlag{Name: "index", Category: catRun,
		Usage: "the job to run, by its index in 'tinyr1 sweep plan' ($SLURM_ARRAY_TASK_ID)", Value: -1}
	sweepWaitFlag = &cli.DurationFlag{Name: "wait", Category: catRun,
		Usage: "poll every `DURATION` until the jobs it waits for are done (a Kubernetes Indexed Job); 0: refuse to start"}
	sweepSubmitFlag = &cli.BoolFlag{Name: "submit", Category: catRun,
		Usage: "also submit the scripts with sbatch, each wave after the one before (afterok)", Value: false}
)

var sweepCommand = &cli.Command{
	Name:  "sweep",
	Usage: "run an experiment file's arms x seeds locally or on Slurm",
	Description: "An experiment file (JSON; see examples/experiment.json) declares stages, arms, seeds, compute " +
		"matching and evaluations. Each job is one tinyr1 sft, train or eval command: a finished run is " +
		"skipped, an interrupted one resumed.",
	Subcommands: []*cli.Command{sweepPlanCommand, sweepRunCommand, sweepJobCommand, sweepSlurmCommand, sweepReportCommand},
}

var sweepPlanCommand = &cli.Command{
	Name:      "plan",
	Usage:     "print the jobs, their dependencies, states and run ids",
	UsageText: "tinyr1 sweep plan FILE [--out DIR]",
	Flags:     []cli.Flag{sweepOutFlag},
	Action:    sweepPlanAction,
}

var sweepRunCommand = &cli.Command{
	Name:      "run",
	Usage:     "run the jobs on a local pool, skipping finished ones",
	UsageText: "tinyr1 sweep run FILE [--jobs N] [--out DIR]",
	Flags:     []cli.Flag{sweepJobsFlag, sweepOutFlag},
	Action:    sweepRunAction,
}

var sweepJobCommand = &cli.Command{
	Name:      "job",
	Usage:     "run one job by index (a Slurm array task)",
	UsageText: "tinyr1 sweep job FILE --index I [--wait 10s] [--out DIR]",
	Flags:     []cli.Flag{sweepIndexFlag, sweepWaitFlag, sweepOutFlag},
	Action:    sweepJobAction,
}

var sweepSlurmCommand = &cli.Command{
	Name:      "slurm",
	Usage:     "write a Slurm job-array script per wave (OUT/slurm/)",
	UsageText: "tinyr1 sweep slurm FILE [--submit] [--out DIR]",
	Flags:     []cli.Flag{sweepSubmitFlag, sweepOutFlag},
	Action:    sweepSlurmAction,
}

var sweepReportCommand = &cli.Command{
	Name:      "report",
	Usage:     "tables by arm (mean +- SE), plots and RESULTS.md",
	UsageText: "tinyr1 sweep report FILE [--out DIR]",
	Flags:     []cli.Flag{sweepOutFlag},
	Action:    sweepReportAction,
}

// loadPlan reads the experiment file named by the one argument; a bad file
// is a usage error (exit status 2) before any job starts.
func loadPlan(c *cli.Context) (*sweep.Plan, string, error) {
	args, err := positionalArgs(c)
	if err != nil {
		return nil, "", err
	}
	name := "sweep " + c.Command.Name
	if len(args) != 1 {
		return nil, "", usageError("%s: %d arguments: want one experiment file (see '%s')", name, len(args), c.Command.UsageText)
	}
	e, err := sweep.Load(args[0])
	if err != nil {
		return nil, "", usageError("%v", err)
	}
	return sweep.NewPlan(e, c.String(sweepOutFlag.Name)), args[0], nil
}

// jobView is what plan says of a job: its state as far as the folders
// tell, its run id when it can be known, its command line.
type jobView struct {
	state string
	id    string
	args  []string
}

// viewJobs checks every job in order; a job whose dependencies are not all
// done is "waiting" and its run id, which hashes its parent's checkpoint,
// is not known yet.
func viewJobs(p *sweep.Plan) []jobView {
	ro := p.ReadOnly
	p.ReadOnly = true // plan and report only look
	defer func() { p.ReadOnly = ro }()
	views := make([]jobView, len(p.Jobs))
	done := make([]bool, len(p.Jobs))
	for i, j := range p.Jobs {
		ready := true
		for _, d := range j.Deps {
			ready = ready && done[d]
		}
		v := &views[i]
		if !ready {
			v.state = "waiting"
			switch {
			case j.Eval != nil:
				v.args = p.EvalArgs(j)
			default:
				v.args = p.TrainArgs(j, 0, false)
				v.id = "known once " + strings.Join(j.Needs, ", ") + " finished"
				if j.Arm.Match != nil {
					v.state += " (--steps here is before the compute-matched extra steps)"
				}
			}
			continue
		}
		a, err := p.Check(j)
		if errors.Is(err, sweep.ErrNotMeasured) {
			v.state, v.args, v.id = "fresh (its extra steps are measured when it starts)", a.Args, "known once its extra steps are measured"
			continue
		}
		if err != nil {
			v.state, v.args = "error: "+err.Error(), a.Args
			continue
		}
		v.state, v.id, v.args = a.State.String(), a.RunID, a.Args
		if a.State == sweep.Resume {
			v.state = fmt.Sprintf("resume from step %d", a.Step)
		}
		if a.State == sweep.Done {
			done[i] = true
			v.args = nil
		}
	}
	return views
}

func sweepPlanAction(c *cli.Context) error {
	p, file, err := loadPlan(c)
	if err != nil {
		return err
	}
	w := c.App.Writer
	fmt.Fprintf(w, "sweep %s: %d jobs in %d waves under %s\n", file, len(p.Jobs), len(p.Waves()), p.Out)
	for i, v := range viewJobs(p) {
		j := p.Jobs[i]
		fmt.Fprintf(w, "%3d  %s  wave %d  %s\n", j.Index, j.Name, j.Wave+1, v.state)
		if len(j.Needs) > 0 {
			fmt.Fprintf(w, "     needs: %s\n", strings.Join(j.Needs, " "))
		}
		if v.id != "" {
			fmt.Fprintf(w, "     run id: %s\n", v.id)
		}
		if v.args != nil {
			fmt.Fprintf(w, "     tinyr1 %s\n", sweep.ShellLine(v.args))
		}
	}
	return nil
}

func sweepJobAction(c *cli.Context) error {
	p, _, err := loadPlan(c)
	if err != nil {
		return err
	}
	i := c.Int(sweepIndexFlag.Name)
	if !c.IsSet(sweepIndexFlag.Name) {
		return usageError("sweep job: --index is missing: want the job's index, 0 to %d (the jobs of 'tinyr1 sweep plan')", len(p.Jobs)-1)
	}
	if i < 0 || i >= len(p.Jobs) {
		return usageError("sweep job: --index %d: want 0 to %d (the jobs of 'tinyr1 sweep plan')", i, len(p.Jobs)-1)
	}
	j := p.Jobs[i]
	wait := c.Duration(sweepWaitFlag.Name)
	if wait < 0 {
		return usageError("sweep job: --wait %v: want a polling interval > 0, or 0 not to wait", wait)
	}
	if err := waitDeps(c, p, j, wait); err != nil {
		return err
	}
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	lock, err := lockJob(p, j)
	if err != nil {
		return err
	}
	defer lock.unlock()
	a, err := p.Check(j)
	if err != nil {
		return err
	}
	if a.State == sweep.Done {
		fmt.Fprintf(c.App.Writer, "sweep job %s: finished (run id %s, step %d): nothing to do\n", j.Name, a.RunID, a.Step)
		return nil
	}
	fmt.Fprintf(c.App.ErrWriter, "sweep job %s (%s): tinyr1 %s\n", j.Name, a.State, sweep.ShellLine(a.Args))
	cmd := exec.Command(bin, a.Args...)
	cmd.Stdout, cmd.Stderr, cmd.Env = c.App.Writer, c.App.ErrWriter, childEnv()
	code, err := runForwarding(cmd)
	if err != nil {
		return err
	}
	switch code {
	case 0:
		return nil
	case 130:
		return &interruptedErr{fmt.Sprintf("sweep job %s: interrupted; rerun the same command to resume it", j.Name)}
	}
	return fmt.Errorf("sweep job %s: tinyr1 %s exited with status %d", j.Name, a.Args[0], code)
}

// waitDeps returns nil once every job j waits for is done; with wait 0 a
// job not done is an error, and so is, at once, a dependency whose folder
// holds another run (sweep.IsForeign); otherwise it polls every wait (a Kubernetes
// Indexed Job starts its lowest pending indices first, and a job's
// dependencies have lower indices, so the waits end). SIGINT and SIGTERM
// stop the wait (exit status 130).
func waitDeps(c *cli.Context, p *sweep.Plan, j *sweep.Job, wait time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p.ReadOnly = true // a dependency's compute figure is frozen once it is done
	defer func() { p.ReadOnly = false }()
	said := ""
	for {
		pending := ""
		for _, d := range j.Deps {
			a, err := p.Check(p.Jobs[d])
			if sweep.IsForeign(err) { // waiting would never end
				return fmt.Errorf("sweep job %s: it waits for %s, which cannot finish: %v", j.Name, p.Jobs[d].Name, err)
			}
			if err != nil || a.State != sweep.Done {
				pending = p.Jobs[d].Name
				break
			}
		}
		if pending == "" {
			return nil
		}
		if wait == 0 {
			return fmt.Errorf("sweep job %s: it waits for %s, which is not finished: want its job to succeed first (or --wait)", j.Name, pending)
		}
		if pending != said {
			fmt.Fprintf(c.App.ErrWriter, "sweep job %s: waiting for %s\n", j.Name, pending)
			said = pending
		}
		select {
		case <-ctx.Done():
			return &interruptedErr{fmt.Sprintf("sweep job %s: interrupted while waiting for %s", j.Name, pending)}
		case <-time.After(wait):
		}
	}
}

func sweepSlurmAction(c *cli.Context) error {
	p, file, err := loadPlan(c)
	if err != nil {
		return err
	}
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	absFile, err1 := filepath.Abs(file)
	absOut, err2 := filepath.Abs(p.Out)
	cwd, err3 := os.Getwd()
	if err := firstErr(err1, err2, err3); err != nil {
		return err
	}
	cpus := 1
	for _, j := range p.Jobs {
		cpus = max(cpus, p.Threads(j))
	}
	scripts := p.Slurm(sweep.SlurmConfig{Bin: bin, File: absFile, Out: absOut, Dir: cwd, CPUs: cpus, Signal: 120})
	dir := filepath.Join(absOut, "slurm")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, s := range scripts {
		if err := os.WriteFile(filepath.Join(dir, s.Name), []byte(s.Text), 0o755); err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "%s\n", filepath.Join(dir, s.Name))
	}
	submit := filepath.Join(dir, "submit.sh")
	if err := os.WriteFile(submit, []byte(sweep.SubmitScript(dir, scripts)), 0o755); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "%s (submits the waves in order)\n", submit)
	if !c.Bool(sweepSubmitFlag.Name) {
		return nil
	}
	prev := ""
	for _, s := range scripts {
		args := []string{"--parsable"}
		if prev != "" {
			args = append(args, "--dependency=afterok:"+prev)
		}
		out, err := exec.Command("sbatch", append(args, filepath.Join(dir, s.Name))...).Output()
		if err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				return fmt.Errorf("sweep slurm: sbatch %s: %v: %s", s.Name, err, strings.TrimSpace(string(ee.Stderr)))
			}
			return fmt.Errorf("sweep slurm: sbatch: %w (is Slurm installed?)", err)
		}
		prev, _, _ = strings.Cut(strings.TrimSpace(string(out)), ";")
		fmt.Fprintf(c.App.Writer, "submitted %s: job %s\n", s.Name, prev)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func sweepReportAction(c *cli.Context) error {
	p, file, err := loadPlan(c)
	if err != nil {
		return err
	}
	views := viewJobs(p)
	var runs, skipped []string
	for i, j := range p.Jobs {
		if j.Eval != nil {
			continue
		}
		if views[i].state == sweep.Done.String() {
			runs = append(runs, j.Dir)
		} else {
			skipped = append(skipped, j.Name)
		}
	}
	// rl/report orders groups as its runs come: arms in file order, then seeds.
	ordered := make([]string, 0, len(runs))
	for _, a := range p.Exp.Arms {
		for _, s := range p.Exp.Seeds {
			if d := p.Run(a.Name, s).Dir; slices.Contains(runs, d) {
				ordered = append(ordered, d)
			}
		}
	}
	if len(ordered) == 0 {
		return fmt.Errorf("sweep report: no finished run under %s: want 'tinyr1 sweep run %s' first", p.Out, file)
	}
	cfg := report.DefaultReportConfig()
	cfg.Runs, cfg.Out = ordered, filepath.Join(p.Out, "report")
	res, err := report.Report(cfg)
	if err != nil {
		return err
	}
	summary, err := os.ReadFile(res.Summary)
	if err != nil {
		return err
	}
	var computes []*sweep.Compute
	for i := range p.Exp.Arms {
		if a := &p.Exp.Arms[i]; a.Match != nil {
			if cp, err := p.ReadCompute(a); err == nil && cp != nil {
				computes = append(computes, cp)
			}
		}
	}
	b := checkpoints.BuildInfo(train.Backend)
	facts := sweep.Facts{Revision: b.Revision, Machine: fmt.Sprintf("%s, %d cores", train.NewManifest("", nil).CPU, runtime.NumCPU()),
		File: file, Summary: string(summary), Skipped: skipped}
	if facts.Revision == "" {
		facts.Revision = "unknown"
	}
	out := filepath.Join(p.Out, "RESULTS.md")
	if err := writeFileAtomic(out, []byte(p.Results(facts, computes))); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "sweep report: %d runs in %d groups; tables %s and %s; plots in %s; %s\n",
		len(ordered), len(res.Groups), res.Summary, res.EvalCSV, cfg.Out, out)
	return nil
}

// writeFileAtomic writes b to path through a temporary file and a rename.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
