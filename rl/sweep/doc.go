// Package sweep turns an experiment file into jobs: the runs of a study
// (arms x seeds), their evaluations, and the order they must run in. It
// holds the pure parts of `tinyr1 sweep`: parsing and checking the file
// (file.go), the job graph, run folders and command lines (plan.go), which
// jobs are finished or interrupted and the frozen compute-matching figure
// (state.go), the Slurm batch scripts (slurm.go) and RESULTS.md
// (results.go). Running the jobs is the command line's (cmd/tinyr1).
//
// A job is exactly one `tinyr1 sft|train|eval` command line, so that a
// sweep's runs are the runs a person would start by hand: the same run ids
// (train.RunID hashes the resolved config and the initial checkpoint's
// content) and the same bytes, on a laptop or in a Slurm job array.
//
// An experiment file is one JSON object (unknown keys, a key given twice in
// one object and anything after the object are refused; the comments below
// explain, a file has none):
//
//	{
//	  "out": "runs/experiment",            // the sweep's folder: one run folder per arm and seed
//	  "seeds": [1, 2, 3],
//	  "stages": {                          // named base settings of a training command
//	    "warm": {"command": "sft", "config": {"tasks": "add:1-2", "steps": 1000}},
//	    "grpo": {"command": "train", "config": {"steps": 100, "dynamic": true}}
//	  },
//	  "arms": [                            // in order; each is a stage plus an overlay
//	    {"name": "sft", "stage": "warm"},
//	    {"name": "sftx", "stage": "warm", "match": {"arm": "grpo", "per_step": "sft"}},
//	    {"name": "grpo", "stage": "grpo", "from": "sft"},
//	    {"name": "shuffle", "stage": "grpo", "from": "sft", "config": {"reward": "shuffle"}}
//	  ],
//	  "evals": [                           // each: RUN/eval/NAME.json for the arms named (all by default)
//	    {"name": "test", "config": {"tasks": "add:1-2", "problems": 128, "n": 16, "ks": [1, 4, 16]}}
//	  ]
//	}
//
// command is sft, train (GRPO) or rft (sft --from-samples); config objects
// hold config.json keys (eval's: the keys of its JSON output's config), the
// arm's over the stage's, and the seed comes from seeds. from names the
// parent arm of the same seed (train: --init; rft: --from-samples). match
// gives the arm as many extra steps as the matched arm's measured seconds
// (the sum of its metrics' time_step, mean over seeds) buy at the per_step
// arm's measured seconds per step (the mean of its time_step for a train
// or rft arm, their sampling included, of its time_update for an sft arm;
// mean over seeds), rounded; "steps" there fixes the extra steps instead. The figure
// is frozen into OUT/compute-ARM.json the first time it is computed, so
// that reruns and Slurm tasks use the same number.
// A matched arm may set "steps": 0, so that all its steps are the matched
// ones: an iterated rejection-sampling arm (rft with ref_reset_every) given
// GRPO's seconds at the price of its own steps, measured on a short rft arm.
package sweep
