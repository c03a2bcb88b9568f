// Package rl is tinyr1's reinforcement learning, split by concept into
// sub-packages that depend one way (each only on those before it):
//
//	rl/objective  advantages, per-token loss coefficients, rewards and their controls, curriculum; no model
//	rl/eval       decoding for evaluation, pass@k, maj@k, intervals, the sample log
//	rl/train      the trainers (SFT, rejection sampling, GRPO), packing, seeds, validation, config, metrics
//	rl/report     plots and summary tables from run folders and eval files
//	rl/sweep      experiment files: arms x seeds as jobs, run folders, Slurm scripts, RESULTS.md
//
// (Among the rl packages rl/report depends on rl/eval only; it also reads
// checkpoints.) The package itself holds only what
// the trainer and the command line (eval, sample, checkpoint) share: the
// policy in a checkpoint ([LoadPolicy], [ParamsFromCheckpoint],
// [ModelConfig], [CopyTensors]), checked against its model config before
// anything is sized from it (policy.go). It imports model, data and
// checkpoints, and no sub-package. The run folder a training run writes is
// the checkpoints package's.
package rl
