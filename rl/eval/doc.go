// Package eval measures a policy apart from its reward: batched greedy and
// sampled decoding with a verdict for each completion (Decoder, the code
// path of `tinyr1 eval` and `tinyr1 sample`; GreedyCorrect, the trainer's
// validation), the evaluation protocol with its statistics (pass@k with the
// unbiased estimator 1 - C(n-c, k)/C(n, k) of Chen et al. 2021,
// arXiv:2107.03374; maj@k on canonical answers; Wilson score intervals,
// Wilson 1927) and the per-sample log of `eval --log-samples`.
//
// It imports model, data and rl/objective (the sample standard deviation),
// never the trainer.
package eval
