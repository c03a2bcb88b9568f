package objective

import "math"

// This file holds the loss's variants that change the policy-gradient term
// of Coefficients (loss.go): GSPO's sequence ratio and the sampler/trainer
// correction (TIS/MIS), and the switches of the high-entropy token mask
// (entropymask.go). docs: doc.go, "Loss coefficients".

// Ratio levels accepted by LossConfig.RatioLevel.
//
// RatioSequence is GSPO (Zheng et al. 2025, "Group Sequence Policy
// Optimization", arXiv:2507.18071): completion i of n_i tokens has one ratio
//
//	s_i = exp((1/n_i) sum_t (logp_t - old_t)),  l_i = -min(s_i A_i, clip(s_i, 1-e_l, 1+e_h) A_i)
//
// (and the dual clip max(., c A_i) for A_i < 0 when DualClip > 0), and
// every token of the completion carries l_i, aggregated like any token
// loss: L = sum_i z_i n_i l_i with z_i the per-token factor of Norm. Since
// ds_i/dlogp_t = s_i/n_i, the coefficient is w_t = z_i n_i dl_i/dlogp_t / n_i
// = -z_i A_i s_i where unclipped and 0 where clipped. TRL
// (importance_sampling_level="sequence": the per-token loss is the
// sequence's, broadcast) and verl (policy_loss "gspo": the straight-through
// s_i,t = sg[s_i] pi_t/sg[pi_t]) both have exactly this gradient; with the
// grpo aggregation z_i n_i = 1/completions, the paper's (1/G) sum_i. The
// mean log-ratio is clamped to [-20, 20] before exp like rho's, with
// coefficient 0 where the clamp is active. With mu = 1, s_i == 1 and the
// coefficients equal the token level's.
const (
	RatioToken    = "token"
	RatioSequence = "sequence"
)

// Sampler/trainer mismatch corrections accepted by LossConfig.ISCorrection
// (Yao et al. 2025, "Your efficient RL framework secretly brings you
// off-policy RL training"; verl's tis_imp_ratio_cap and rollout_is). With q
// the sampler's probability of the token (after top-k/top-p truncation and
// renormalisation: Batch.SamplerLogP) and p_old the full distribution's
// (Batch.OldLogP), r_t = p_old/q and the token's policy-gradient term
// (loss and coefficient, not the KL) is multiplied by
//
//	tis: min(r_t, C)
//	mis: r_t where r_t <= C, else 0 (the token's policy gradient is masked)
//
// r_t is a constant (neither log-prob is the current policy's), as verl's
// detached weight, so the coefficient is exactly the derivative of the
// weighted loss. Norm is unchanged: masked tokens still count in the
// normaliser and carry their KL term (verl's mask mode removes them from the
// loss mask instead). Without truncation q == p_old bitwise, r_t == 1 and,
// for C >= 1, the weight is exactly 1. With truncation to a set of mass Z,
// q = p_old/Z, so r_t = Z <= 1: in tinyr1 the cap binds only for C < 1
// and mis masks nothing for C >= 1.
const (
	ISNone = "none"
	ISTIS  = "tis"
	ISMIS  = "mis"
)

// sequence returns GSPO's loss l_i of completion i (tokens k0..k0+n-1 of
// b), its derivative with respect to log s_i (-s_i A where unclipped, 0
// where clipped or where the mean log-ratio's clamp is active), s_i and the
// clip that was active. The mean log-ratio is summed in float64.
func (c *LossConfig) sequence(b Batch, k0, n int, adv float64) (loss, grad, s float64, clip int) {
	var lr float64
	if b.OldLogP != nil {
		for k := k0; k < k0+n; k++ {
			lr += float64(b.LogP[k]) - float64(b.OldLogP[k])
		}
		lr /= float64(n)
	}
	s = math.Exp(math.Max(-maxLogRatio, math.Min(lr, maxLogRatio)))
	loss, grad, clip = c.surrogate(s, adv, c.GSPOEpsLow, c.GSPOEpsHigh)
	if lr < -maxLogRatio || lr > maxLogRatio {
		grad = 0
	}
	return loss, grad, s, clip
}

// highEntropyOnly reports whether the policy gradient is restricted to the
// high-entropy tokens (0 < EntropyTopFrac < 1; 0 is the zero value: off).
func (c *LossConfig) highEntropyOnly() bool { return c.EntropyTopFrac > 0 && c.EntropyTopFrac < 1 }

// HighEntropyOnly reports whether the batch needs a PGMask (HighEntropyMask).
func (c LossConfig) HighEntropyOnly() bool { return c.highEntropyOnly() }

// IsCorrection reports whether the batch needs SamplerLogP (tis or mis).
func (c LossConfig) IsCorrection() bool { return c.isCorrection() }

// isCorrection reports whether a sampler/trainer correction is on.
func (c *LossConfig) isCorrection() bool { return c.ISCorrection == ISTIS || c.ISCorrection == ISMIS }

// isWeight returns the weight of token k's policy-gradient term under
// ISCorrection (see ISTIS), and whether mis masked it. r = p_old/q is
// exp(old - sampler) with the log-ratio clamped like rho's; it is exactly 1
// where the two log-probs are equal or SamplerLogP is nil.
func (c *LossConfig) isWeight(b Batch, k int) (w float64, masked bool) {
	if !c.isCorrection() {
		return 1, false
	}
	r := 1.0
	if b.SamplerLogP != nil {
		old := b.LogP[k]
		if b.OldLogP != nil {
			old = b.OldLogP[k]
		}
		lr := float64(old) - float64(b.SamplerLogP[k])
		r = math.Exp(math.Max(-maxLogRatio, math.Min(lr, maxLogRatio)))
	}
	if c.ISCorrection == ISTIS {
		return math.Min(r, c.ISCap), false
	}
	if r > c.ISCap {
		return 0, true
	}
	return r, false
}
