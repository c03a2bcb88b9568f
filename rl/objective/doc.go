// Package objective is the model-free mathematics of GRPO training in tinyr1:
// advantages, per-token loss coefficients, rewards and the reward controls,
// and the curriculum. It imports data (verdicts) and never model (only its
// finite-difference test runs the graph, from the test package): the trainer
// (rl/train) owns the graph and hands over rewards and log-probabilities.
//
// # Advantages (advantage.go)
//
// GRPO (Shao et al. 2024, DeepSeekMath, arXiv:2402.03300) samples G completions
// per prompt and uses the group as its own baseline:
//
//	A_i = (r_i - mean(r_group)) / (std(r_group) + eps)
//
// where std is the sample (Bessel-corrected, n-1) standard deviation, as in
// TRL's GRPOTrainer (torch .std()). Dr. GRPO (Liu et al. 2025,
// arXiv:2503.20783) drops the division ("none"); "batch" divides by the std
// of all rewards of the rollout batch.
//
// The other estimators (estimators.go, each with its formula and paper):
// rloo, the leave-one-out baseline A_i = r_i - mean_{j != i} r_j (Ahmadian et
// al. 2024); reinforce_pp, the group mean subtracted then whitened over the
// batch's tokens (REINFORCE++-baseline, Hu et al. 2025); passk, the mean over
// the k-subsets holding a completion of the subset's normalised best reward
// (Chen et al. 2025, "Pass@k Training").
//
// # Loss coefficients (loss.go)
//
// With rho_t = exp(logp_t - logp_old_t) and d_t = ref_t - logp_t the token loss is
// (PPO, Schulman et al. 2017; GRPO; DAPO, Yu et al. 2025, arXiv:2503.14476)
//
//	l_t = -min(rho_t A, clip(rho_t, 1-eps_low, 1+eps_high) A) + beta KL_t
//	KL_t: k1 = -d, k2 = d^2/2, k3 = exp(d) - d - 1   (Schulman 2020, "Approximating KL")
//
// and k3_k2grad, k3's value with k2's gradient (verl's k3+). Only k2's gradient
// is that of KL(pi || ref): k1's is zero in expectation, k3's is the forward
// KL(ref || pi)'s. As verl, log(rho_t) and d_t are clamped to [-20, 20] before
// exp and k3 to at most 10, with coefficient 0 where a clamp is active.
//
// optionally with the dual clip of Ye et al. 2020 (arXiv:1912.09729) for A < 0:
// the objective max(min(...), c A). Every term's gradient is
// (dl_t/dlogp_t) grad(logp_t), so the training graph computes
// L = sum_t w_t logp_t with w_t = norm_t dl_t/dlogp_t computed here, outside the
// graph. The same graph serves SFT with w_t = -1/N on target tokens.
//
// Three variants change the policy-gradient term only (the KL term and the
// normaliser stay as above), each exactly differentiated (variants.go,
// entropymask.go):
//
//	GSPO (RatioSequence, Zheng et al. 2025, arXiv:2507.18071): one ratio
//	  s_i = exp(mean_t(logp_t - old_t)) per completion, clipped by its own
//	  epsilons; w_t = -z_i A_i s_i unclipped.
//	TIS/MIS (ISTIS, Yao et al. 2025): the term times min(p_old/q, C), or
//	  p_old/q masked above C, q the top-k/top-p sampler's probability.
//	High-entropy tokens (HighEntropyMask, Wang et al. 2025, arXiv:2506.01939):
//	  the term kept on the ceil(F m) tokens of largest sampling entropy.
//
// # Rewards (reward.go, control.go)
//
// Rule-based rewards as in DeepSeek-R1 (arXiv:2501.12948): correctness and
// format, plus DAPO's soft overlong penalty. The control arms (shuffle,
// bernoulli) replace the verifier's rewards to tell its signal apart from
// the update's own effects.
//
// # Curriculum (curriculum.go)
//
// Each family's level moves up or down with its rolling success rate.
package objective
