package sweep

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// This file writes the Slurm batch scripts of a sweep: one per wave (the
// jobs whose dependencies all lie in earlier waves), each a job array over
// the wave's job indices, submitted with --dependency=afterok on the wave
// before. A wave and not a stage is the unit because a stage's jobs may wait
// for another stage's (the compute-matched SFT arm waits for GRPO, which
// waits for the warm start). Each array task runs
// `tinyr1 sweep job FILE --index $SLURM_ARRAY_TASK_ID`, which skips a
// finished run and resumes an interrupted one, so a requeued task (after
// preemption: SIGTERM, a checkpoint, exit, requeue) continues where it
// stopped.

// SlurmConfig says how the scripts call tinyr1.
type SlurmConfig struct {
	Bin    string // tinyr1, an absolute path: tasks run on other nodes
	File   string // the experiment file, absolute
	Out    string // the sweep's folder, absolute (passed as --out)
	Dir    string // the tasks' working directory (#SBATCH --chdir), absolute
	CPUs   int    // --cpus-per-task: the jobs' threads
	Signal int    // seconds before the time limit at which Slurm sends SIGTERM
}

// SlurmScript is one wave's batch script.
type SlurmScript struct {
	Name string // file name: wave-N-STAGES.sbatch
	Wave int
	Text string
}

// Slurm returns the batch scripts of the plan's waves, in order.
func (p *Plan) Slurm(c SlurmConfig) []SlurmScript {
	var out []SlurmScript
	for w, jobs := range p.Waves() {
		var kinds []string
		for _, j := range jobs {
			k := j.Kind
			if j.Eval == nil {
				k = j.Arm.Stage
			}
			if !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
		}
		name := fmt.Sprintf("wave-%d-%s", w+1, strings.Join(kinds, "-"))
		var b strings.Builder
		fmt.Fprintf(&b, "#!/bin/bash\n")
		fmt.Fprintf(&b, "# tinyr1 sweep %s, wave %d of %d: %d jobs (%s).\n", filepath.Base(c.File), w+1, len(p.Waves()), len(jobs), strings.Join(kinds, ", "))
		fmt.Fprintf(&b, "# Submit after the previous wave: sbatch --dependency=afterok:JOBID %s.sbatch\n", name)
		fmt.Fprintf(&b, "#SBATCH --job-name=tinyr1-%s\n", name)
		fmt.Fprintf(&b, "#SBATCH --array=%d-%d\n", jobs[0].Index, jobs[len(jobs)-1].Index)
		fmt.Fprintf(&b, "#SBATCH --cpus-per-task=%d\n", c.CPUs)
		fmt.Fprintf(&b, "#SBATCH --chdir=%s\n", c.Dir)
		fmt.Fprintf(&b, "#SBATCH --output=%s\n", filepath.Join(c.Out, "slurm", name+"-%a.log"))
		fmt.Fprintf(&b, "#SBATCH --open-mode=append\n")
		fmt.Fprintf(&b, "#SBATCH --requeue\n")
		fmt.Fprintf(&b, "#SBATCH --signal=B:TERM@%d\n", c.Signal)
		fmt.Fprintf(&b, "# index: job\n")
		for _, j := range jobs {
			fmt.Fprintf(&b, "#   %d: %s\n", j.Index, j.Name)
		}
		fmt.Fprintf(&b, "exec %s sweep job %s --out %s --index \"$SLURM_ARRAY_TASK_ID\"\n",
			ShellLine([]string{c.Bin}), ShellLine([]string{c.File}), ShellLine([]string{c.Out}))
		out = append(out, SlurmScript{Name: name + ".sbatch", Wave: w, Text: b.String()})
	}
	return out
}

// SubmitScript is a shell script that submits the waves in order, each
// after the one before succeeded (afterok), as sweep slurm --submit does.
func SubmitScript(dir string, scripts []SlurmScript) string {
	var b strings.Builder
	b.WriteString("#!/bin/bash\n# Submits the sweep's waves in order, each after the one before succeeded.\nset -euo pipefail\n")
	for i, s := range scripts {
		dep := ""
		if i > 0 {
			dep = " --dependency=afterok:$jid"
		}
		fmt.Fprintf(&b, "jid=$(sbatch --parsable%s %s)\necho \"%s: $jid\"\n", dep, ShellLine([]string{filepath.Join(dir, s.Name)}), s.Name)
	}
	return b.String()
}
