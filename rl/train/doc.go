// Package train holds the trainers of tinyr1 and everything a step needs:
// the Trainer with its engines and training graph (trainer.go) in one of
// three modes (mode.go): the supervised warm start (sft.go), rejection
// sampling (rft.go) and GRPO (grpo.go, with its rollouts in rollout.go).
// Around them: the training problem stream (problems.go), sequence packing
// (pack.go), the derivation of every random draw from the run's seed
// (seed.go), the reward controls (control.go), validation (validate.go),
// the run config (config.go) with the dataset files it pins (taskfiles.go), the
// metrics line of each step (metrics.go), the run's manifest and id
// (manifest.go) and progress lines (progress.go). The run folder those go
// into is the checkpoints package's ([checkpoints.Run]).
//
// The mathematics of the objective lives in rl/objective and takes no model;
// decoding and statistics for validation come from rl/eval. A Trainer's whole
// state goes into checkpoints, so a resumed run continues bit for bit.
package train
