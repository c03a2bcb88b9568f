package objective

import (
	"fmt"
	"math"
)

// Token aggregations accepted by LossConfig.Agg. Every normaliser is defined on
// the whole rollout batch (see Norm), so the gradient does not depend on how
// the batch is cut into micro-batches.
const (
	AggGRPO   = "grpo"    // mean over completions of each completion's token mean
	AggDAPO   = "dapo"    // sum over tokens / tokens in the rollout batch
	AggDrGRPO = "dr_grpo" // sum over tokens / (completions in the batch * MaxNew)
	AggBNPO   = "bnpo"    // token mean; defined on the rollout batch, so equal to dapo
)

// KL estimators accepted by LossConfig.KL (Schulman 2020, "Approximating KL
// divergence"); d = ref - logp, tokens sampled from the policy pi. The three
// values estimate KL(pi || ref), but their gradients (the coefficient of
// grad logp_t, divided by beta) estimate different things:
//
//	k1 = -d              coefficient 1: the same on every token. E_pi[grad logp] = 0,
//	                     so its expected gradient is zero: with beta > 0 it adds only noise.
//	k2 = d^2 / 2         coefficient -d = logp - ref: the gradient of KL(pi || ref),
//	                     the only one of the three that is.
//	k3 = exp(d) - d - 1  coefficient 1 - exp(d) = 1 - ref/pi: E_pi of it times grad logp
//	                     is the gradient of the forward KL(ref || pi), not of KL(pi || ref).
//	k3_k2grad            k3's value (logged and in the loss) with k2's coefficient:
//	                     verl's "k3+" (low_var_kl+), a straight-through estimator.
//
// Guards as verl's kl_penalty: k3's argument d is clamped to [-20, 20] before
// exp and its value to [-10, 10]; where either clamp is active the term is
// constant in logp and its coefficient is 0 (the derivative of a clamp). k3
// reaches 10 at d ~ 2.6 or d ~ -11.0, so a policy that drifts that far from
// the reference on a token feels no k3 pull on it; k3_k2grad keeps k2's
// unclamped coefficient there.
const (
	KL1     = "k1"
	KL2     = "k2"
	KL3     = "k3" // GRPO's choice (DeepSeekMath)
	KL3K2   = "k3_k2grad"
	klNames = "k1, k2, k3 or k3_k2grad"
)

// Guards of the exponentials, as verl: a log-ratio (of the PPO ratio, and
// k3's d) is clamped to [-maxLogRatio, maxLogRatio] before exp, and k3's
// value to at most maxK3 (it is never negative).
const (
	maxLogRatio = 20
	maxK3       = 10
)

// LossConfig holds the GRPO loss settings.
//
// The entropy bonus is the one term whose gradient is not of the form
// c_t grad(logp_t): it involves every vocabulary entry. EntropyCoefficients
// gives its per-token weights e_t, which the training graph applies to the
// entropy H_t of the full softmax (model.Graph.EntropyWeights).
type LossConfig struct {
	// Agg is the token aggregation: "grpo", "dapo", "dr_grpo" or "bnpo".
	// "bnpo" (TRL: token mean over each micro-batch) would change the
	// gradient with the micro-batch size; here its normaliser is the token
	// count of the whole rollout batch, which makes it identical to "dapo".
	Agg string `json:"agg"`
	// EpsLow is the lower clip range: rho is clipped below at 1-EpsLow.
	EpsLow float64 `json:"eps_low"`
	// EpsHigh is the upper clip range: rho is clipped above at 1+EpsHigh
	// (0.2 in PPO/GRPO, 0.28 for DAPO's clip-higher).
	EpsHigh float64 `json:"eps_high"`
	// DualClip is c of the dual clip for A < 0 (Ye et al. 2020; 3 in DAPO
	// style setups); 0 turns it off.
	DualClip float64 `json:"dual_clip"`
	// Beta weighs the KL penalty to the frozen reference; 0 turns it off
	// (the KL is still measured when reference log-probs are given).
	Beta float64 `json:"beta"`
	// KL is the estimator of KL(policy || reference): "k1", "k2", "k3" or
	// "k3_k2grad" (see KL1 for what each one's gradient estimates).
	KL string `json:"kl"`
	// MaskTruncated removes completions cut off at the length limit from the
	// loss and from the token and completion counts (DAPO's overlong filter).
	MaskTruncated bool `json:"mask_truncated"`
	// MaxNew is the completion length limit in tokens; "dr_grpo" divides by
	// (completions in the rollout batch) * MaxNew. Required only for dr_grpo.
	MaxNew int `json:"max_new"`
	// EntropyCoef weighs the entropy bonus: the loss subtracts EntropyCoef
	// times the policy's entropy H_t aggregated over tokens exactly like the
	// policy term (same Norm). 0 turns it off.
	EntropyCoef float64 `json:"entropy_coef"`
	// RatioLevel is where the importance ratio lives: "token" (rho_t, PPO
	// and GRPO) or "sequence" (GSPO's s_i, see RatioSequence); "" is token.
	RatioLevel string `json:"ratio_level"`
	// GSPOEpsLow and GSPOEpsHigh clip the sequence ratio s_i to
	// [1-GSPOEpsLow, 1+GSPOEpsHigh] (GSPO's 3e-4 and 4e-4); with RatioLevel
	// "sequence" they replace EpsLow and EpsHigh.
	GSPOEpsLow  float64 `json:"gspo_eps_low"`
	GSPOEpsHigh float64 `json:"gspo_eps_high"`
	// ISCorrection weighs each token's policy-gradient term by the
	// sampler/trainer importance ratio p_old/q: "none", "tis" (truncated at
	// ISCap) or "mis" (masked above ISCap); see ISTIS. "" is none.
	ISCorrection string `json:"is_correction"`
	// ISCap is C of tis and mis (verl: 2).
	ISCap float64 `json:"is_cap"`
	// EntropyTopFrac is the fraction F in (0, 1] of the rollout batch's
	// tokens, by sampling entropy, whose policy-gradient term is kept
	// (HighEntropyMask); 1, and the zero value, keep every token.
	EntropyTopFrac float64 `json:"entropy_top_frac"`
}

// Validate reports the first bad field.
func (c LossConfig) Validate() error {
	switch c.Agg {
	case AggGRPO, AggDAPO, AggDrGRPO, AggBNPO:
	default:
		return fmt.Errorf("rl: unknown loss aggregation %q: want grpo, dapo, dr_grpo or bnpo", c.Agg)
	}
	if err := checkClipRange("eps", c.EpsLow, c.EpsHigh, "", ""); err != nil {
		return err
	}
	if !(c.DualClip == 0 || c.DualClip > 1) || math.IsInf(c.DualClip, 0) {
		return fmt.Errorf("rl: dual_clip %v: want 0 (off) or a finite value > 1 (Ye et al. use 3)", c.DualClip)
	}
	if !(c.Beta >= 0) || math.IsInf(c.Beta, 0) {
		return fmt.Errorf("rl: beta %v: want a finite value >= 0", c.Beta)
	}
	switch c.KL {
	case KL1, KL2, KL3, KL3K2:
	default:
		return fmt.Errorf("rl: unknown KL estimator %q: want %s", c.KL, klNames)
	}
	if !(c.EntropyCoef >= 0) || math.IsInf(c.EntropyCoef, 0) {
		return fmt.Errorf("rl: entropy_coef %v: want a finite value >= 0 (0 is off)", c.EntropyCoef)
	}
	switch c.RatioLevel {
	case "", RatioToken, RatioSequence:
	default:
		return fmt.Errorf("rl: unknown ratio_level %q: want token or sequence", c.RatioLevel)
	}
	if err := checkClipRange("gspo_eps", c.GSPOEpsLow, c.GSPOEpsHigh, " (GSPO: 3e-4)", " (GSPO: 4e-4)"); err != nil {
		return err
	}
	switch c.ISCorrection {
	case "", ISNone, ISTIS, ISMIS:
	default:
		return fmt.Errorf("rl: unknown is_correction %q: want none, tis or mis", c.ISCorrection)
	}
	if c.isCorrection() && (!(c.ISCap > 0) || math.IsInf(c.ISCap, 0)) {
		return fmt.Errorf("rl: is_cap %v: want a finite value > 0 (verl: 2)", c.ISCap)
	}
	if !(c.EntropyTopFrac >= 0 && c.EntropyTopFrac <= 1) {
		return fmt.Errorf("rl: entropy_top_frac %v: want a fraction in (0, 1] (1 keeps every token; the paper: 0.2)", c.EntropyTopFrac)
	}
	if c.RatioLevel == RatioSequence && (c.isCorrection() || c.highEntropyOnly()) {
		return fmt.Errorf("rl: ratio_level sequence with is_correction %s and entropy_top_frac %v: want is_correction none and entropy_top_frac 1 (a per-token weight has no exact sequence-level form)",
			c.ISCorrection, c.EntropyTopFrac)
	}
	if c.MaxNew < 0 || (c.Agg == AggDrGRPO && c.MaxNew == 0) {
		return fmt.Errorf("rl: max_new %d: want > 0 (dr_grpo divides by it)", c.MaxNew)
	}
	return nil
}

// checkClipRange reports a bad clip range: NAME_low must keep 1-low
// positive and NAME_high be finite and >= 0; the hints, "" or " (...)",
// end the messages with the usual values.
func checkClipRange(name string, low, high float64, lowHint, highHint string) error {
	if !(low >= 0 && low < 1) {
		return fmt.Errorf("rl: %s_low %v: want a value in [0, 1) so that 1-%s_low stays positive%s", name, low, name, lowHint)
	}
	if !(high >= 0) || math.IsInf(high, 0) {
		return fmt.Errorf("rl: %s_high %v: want a finite value >= 0%s", name, high, highHint)
	}
	return nil
}

// Batch is N completions in the padded layout of the training graph: token t
// of completion i sits at i*T+t, and positions t >= Len[i] are padding.
type Batch struct {
	T         int       // row stride in tokens (the padded completion length)
	Len       []int     // (N,) generated tokens of each completion, 0 <= Len[i] <= T
	LogP      []float32 // (N, T) log-prob of each sampled token under the current policy
	OldLogP   []float32 // (N, T) under the sampling policy; nil: equal to LogP (mu = 1, rho = 1)
	RefLogP   []float32 // (N, T) under the frozen reference; nil: no KL (needs Beta == 0)
	Adv       []float64 // (N,) advantage of each completion, shared by its tokens
	Truncated []bool    // (N,) completion hit the length limit; nil: none did
	// SamplerLogP (N, T) is the log-prob under the distribution actually
	// sampled from (top-k/top-p truncated), for ISCorrection; nil: equal to OldLogP.
	SamplerLogP []float32
	// PGMask (N, T) is true where the token's policy-gradient term is kept
	// (HighEntropyMask); nil: every token's is.
	PGMask []bool
}

// N returns the number of completions.
func (b Batch) N() int { return len(b.Len) }

// check panics if the batch's shapes disagree.
func (b Batch) check(fn string) {
	n, nt := len(b.Len), len(b.Len)*b.T
	bad := b.T < 0 || len(b.LogP) != nt || len(b.Adv) != n ||
		(b.OldLogP != nil && len(b.OldLogP) != nt) ||
		(b.RefLogP != nil && len(b.RefLogP) != nt) ||
		(b.Truncated != nil && len(b.Truncated) != n) ||
		(b.SamplerLogP != nil && len(b.SamplerLogP) != nt) || (b.PGMask != nil && len(b.PGMask) != nt)
	if bad {
		panic(fmt.Sprintf("rl: %s: batch shapes disagree: N=%d T=%d len(LogP)=%d len(OldLogP)=%d len(RefLogP)=%d len(Adv)=%d len(Truncated)=%d, want N*T, N*T or 0, N*T or 0, N, N or 0",
			fn, n, b.T, len(b.LogP), len(b.OldLogP), len(b.RefLogP), len(b.Adv), len(b.Truncated)))
	}
	for i, l := range b.Len {
		if l < 0 || l > b.T {
			panic(fmt.Sprintf("rl: %s: Len[%d] = %d, want 0..%d", fn, i, l, b.T))
		}
	}
}

// counts reports whether completion i takes part in the loss.
func (b Batch) counts(i int, maskTruncated bool) bool {
	return b.Len[i] > 0 && !(maskTruncated && b.Truncated != nil && b.Truncated[i])
}

// Norm is the normaliser of the loss, computed once over the whole rollout
// batch by NewNorm and handed to every micro-batch's Coefficients call.
// The per-token factor for completion i with n_i tokens is
//
//	grpo:        1 / (Completions * n_i)
//	dapo, bnpo:  1 / Tokens
//	dr_grpo:     1 / (All * MaxNew)
//
// Masked and empty completions count in All only: Dr. GRPO's constant does
// not move with the truncation rate, while GRPO's mean is over the
// completions that take part.
type Norm struct {
	Agg         string `json:"agg"`         // aggregation it was built for
	Completions int    `json:"completions"` // completions that take part (not masked, Len > 0)
	Tokens      int    `json:"tokens"`      // tokens that take part
	All         int    `json:"all"`         // every completion of the rollout batch
	MaxNew      int    `json:"max_new"`     // completion length limit (dr_grpo)
}

// NewNorm computes the normaliser of cfg.Agg over the whole rollout batch b.
func NewNorm(b Batch, cfg LossConfig) Norm {
	n := Norm{Agg: cfg.Agg, All: b.N(), MaxNew: cfg.MaxNew}
	for i, l := range b.Len {
		if b.counts(i, cfg.MaskTruncated) {
			n.Completions++
			n.Tokens += l
		}
	}
	return n
}

// scale returns the per-token factor of a completion with n tokens taking part.
func (n Norm) scale(tokens int) float64 {
	var z int
	switch n.Agg {
	case AggGRPO:
		z = n.Completions * tokens
	case AggDAPO, AggBNPO:
		z = n.Tokens
	case AggDrGRPO:
		z = n.All * n.MaxNew
	default:
		panic(fmt.Sprintf("rl: unknown loss aggregation %q: want grpo, dapo, dr_grpo or bnpo", n.Agg))
	}
	if z <= 0 {
		return 0
	}
	return 1 / float64(z)
}

// LossStats are sums over the tokens taking part, so that the stats of
// micro-batches add up (Add) to those of the rollout batch.
type LossStats struct {
	Loss     float64 `json:"loss"`      // this part's share of the aggregated loss
	Tokens   int     `json:"tokens"`    // tokens taking part
	KLSum    float64 `json:"kl_sum"`    // sum of KL_t (0 without reference log-probs)
	RatioSum float64 `json:"ratio_sum"` // sum of rho_t
	ClipLow  int     `json:"clip_low"`  // tokens with A < 0 and rho < 1-EpsLow: zero gradient
	ClipHigh int     `json:"clip_high"` // tokens with A > 0 and rho > 1+EpsHigh: zero gradient
	DualClip int     `json:"dual_clip"` // tokens with A < 0 and rho > DualClip: zero gradient
	// Sequence ratio (GSPO), ISCorrection and PGMask.
	Completions   int     `json:"completions"`    // completions taking part
	SeqClip       int     `json:"seq_clip"`       // completions whose s_i was clipped (any side, dual included)
	ISWeightSum   float64 `json:"is_weight_sum"`  // sum of the IS weights (tis, mis) of tokens with a kept policy-gradient term
	ISMasked      int     `json:"is_masked"`      // tokens whose ratio p_old/q exceeded ISCap under mis
	EntropyMasked int     `json:"entropy_masked"` // tokens outside PGMask
}

// Add accumulates o into s.
func (s *LossStats) Add(o LossStats) {
	s.Loss += o.Loss
	s.Tokens += o.Tokens
	s.KLSum += o.KLSum
	s.RatioSum += o.RatioSum
	s.ClipLow += o.ClipLow
	s.ClipHigh += o.ClipHigh
	s.DualClip += o.DualClip
	s.Completions += o.Completions
	s.SeqClip += o.SeqClip
	s.ISWeightSum += o.ISWeightSum
	s.ISMasked += o.ISMasked
	s.EntropyMasked += o.EntropyMasked
}

// KLMean is the token mean of KL_t.
func (s LossStats) KLMean() float64 { return perToken(s.KLSum, s.Tokens) }

// RatioMean is the token mean of rho_t.
func (s LossStats) RatioMean() float64 { return perToken(s.RatioSum, s.Tokens) }

// ClipLowFrac is the fraction of tokens clipped on the low side.
func (s LossStats) ClipLowFrac() float64 { return perToken(float64(s.ClipLow), s.Tokens) }

// ClipHighFrac is the fraction of tokens clipped on the high side.
func (s LossStats) ClipHighFrac() float64 { return perToken(float64(s.ClipHigh), s.Tokens) }

// DualClipFrac is the fraction of tokens stopped by the dual clip.
func (s LossStats) DualClipFrac() float64 { return perToken(float64(s.DualClip), s.Tokens) }

// SeqClipFrac is the fraction of completions whose sequence ratio was clipped.
func (s LossStats) SeqClipFrac() float64 { return perToken(float64(s.SeqClip), s.Completions) }

// ISWeightMean is the mean IS weight over the tokens whose policy-gradient
// term was not masked (by mis or PGMask).
func (s LossStats) ISWeightMean() float64 {
	return perToken(s.ISWeightSum, s.Tokens-s.ISMasked-s.EntropyMasked)
}

// ISMaskedFrac is the fraction of tokens masked by mis.
func (s LossStats) ISMaskedFrac() float64 { return perToken(float64(s.ISMasked), s.Tokens) }

// EntropyMaskedFrac is the fraction of tokens outside PGMask.
func (s LossStats) EntropyMaskedFrac() float64 { return perToken(float64(s.EntropyMasked), s.Tokens) }

func perToken(sum float64, n int) float64 {
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// clip kinds of one token.
const (
	clipNone = iota
	clipLow
	clipHigh
	clipDual
)

// token returns the loss l_t of one token and its derivative dl/dlogp, with
// the clip that was active. Ties at a clip boundary take the unclipped branch.
// The log-ratio is clamped to [-maxLogRatio, maxLogRatio] before exp (verl);
// where the clamp is active rho is constant in logp and the derivative is 0.
func (c *LossConfig) token(logp, old, adv float64) (loss, grad, rho float64, clip int) {
	lr := logp - old
	rho = math.Exp(math.Max(-maxLogRatio, math.Min(lr, maxLogRatio)))
	loss, grad, clip = c.surrogate(rho, adv, c.EpsLow, c.EpsHigh)
	if lr < -maxLogRatio || lr > maxLogRatio {
		grad = 0
	}
	return loss, grad, rho, clip
}

// surrogate returns the clipped surrogate's loss at ratio rho, clipped to
// [1-epsLow, 1+epsHigh], and its derivative with respect to log rho (rho's
// derivative is rho itself).
func (c *LossConfig) surrogate(rho, adv, epsLow, epsHigh float64) (loss, grad float64, clip int) {
	switch {
	case adv > 0: // objective A*min(rho, clip(rho)): capped above
		if rho > 1+epsHigh {
			return -(1 + epsHigh) * adv, 0, clipHigh
		}
		return -rho * adv, -rho * adv, clipNone
	case adv < 0: // objective A*max(rho, clip(rho)), then max(., c*A)
		if rho < 1-epsLow {
			return -(1 - epsLow) * adv, 0, clipLow
		}
		if c.DualClip > 0 && rho > c.DualClip {
			return -c.DualClip * adv, 0, clipDual
		}
		return -rho * adv, -rho * adv, clipNone
	}
	return 0, 0, clipNone
}

// kl returns the estimator KL_t and its derivative with respect to logp.
// These are pathwise derivatives with the sampled token held fixed, as in
// GRPO/TRL: for k3, d/dlogp [exp(d) - d - 1] = 1 - exp(d). k3_k2grad returns
// k3's value with k2's derivative -d.
func (c *LossConfig) kl(logp, ref float64) (kl, grad float64) {
	d := ref - logp
	switch c.KL {
	case KL1:
		return -d, 1
	case KL2:
		return d * d / 2, -d
	case KL3:
		return k3(d)
	case KL3K2:
		kl, _ = k3(d)
		return kl, -d
	}
	panic(fmt.Sprintf("rl: unknown KL estimator %q: want %s", c.KL, klNames))
}

// k3 returns exp(d) - d - 1 and its derivative with respect to logp,
// 1 - exp(d), with verl's guards: d clamped to [-20, 20] before exp and the
// value to at most 10; where a clamp is active the derivative is 0.
func k3(d float64) (kl, grad float64) {
	if d < -maxLogRatio || d > maxLogRatio {
		return maxK3, 0 // exp(20) - 21 and 20 - 1 + exp(-20) both exceed maxK3
	}
	e := math.Exp(d)
	if kl = e - d - 1; kl > maxK3 {
		return maxK3, 0
	}
	return kl, 1 - e
}

// Coefficients fills dst (N, T) with w_t = norm_i * dl_t/dlogp_t for the
// batch b, so that the graph's L = sum_t w_t logp_t has the gradient of the
// GRPO loss; padding and masked completions get 0. The trainer passes the
// whole rollout batch and norm = NewNorm of it; the graph's micro-batches
// then only split the sum over tokens (TestGRPOGradientIndependentOfMicroBatch).
// It returns the batch's statistics. It allocates nothing.
//
// It panics on mismatched shapes, on Beta > 0 without RefLogP, and if norm
// was built for another aggregation.
func Coefficients(dst []float32, b Batch, norm Norm, cfg LossConfig) LossStats {
	b.check("Coefficients")
	if len(dst) != len(b.LogP) {
		panic(fmt.Sprintf("rl: Coefficients: len(dst) = %d, want N*T = %d", len(dst), len(b.LogP)))
	}
	checkNorm("Coefficients", b, norm, cfg)
	var s LossStats
	for i, n := range b.Len {
		row := dst[i*b.T : (i+1)*b.T] // (T,)
		clear(row)
		if !b.counts(i, cfg.MaskTruncated) {
			continue
		}
		z := norm.scale(n)
		adv := b.Adv[i]
		seq := cfg.RatioLevel == RatioSequence
		var sLoss, sGrad, sRatio float64
		var sClip int
		if seq { // one ratio for the completion; each token carries its loss
			sLoss, sGrad, sRatio, sClip = cfg.sequence(b, i*b.T, n, adv)
			if sClip != clipNone {
				s.SeqClip++
			}
		}
		for t := range n {
			k := i*b.T + t
			logp := float64(b.LogP[k])
			old := logp
			if b.OldLogP != nil {
				old = float64(b.OldLogP[k])
			}
			var loss, grad, rho float64
			var clip int
			if seq {
				loss, grad, rho, clip = sLoss, sGrad, sRatio, sClip
			} else {
				loss, grad, rho, clip = cfg.token(logp, old, adv)
			}
			// The policy-gradient term's weight: the IS correction, and
			// 0 outside PGMask. The KL term below keeps weight 1.
			w, masked := cfg.isWeight(b, k)
			switch {
			case b.PGMask != nil && !b.PGMask[k]:
				w = 0
				s.EntropyMasked++
			case masked:
				s.ISMasked++
			default:
				s.ISWeightSum += w
			}
			loss, grad = w*loss, w*grad
			if b.RefLogP != nil {
				kl, dkl := cfg.kl(logp, float64(b.RefLogP[k]))
				loss += cfg.Beta * kl
				grad += cfg.Beta * dkl
				s.KLSum += kl
			}
			row[t] = float32(z * grad)
			s.Loss += z * loss
			s.RatioSum += rho
			switch clip {
			case clipLow:
				s.ClipLow++
			case clipHigh:
				s.ClipHigh++
			case clipDual:
				s.DualClip++
			}
		}
		s.Tokens += n
		s.Completions++
	}
	return s
}

// EntropyCoefficients fills dst (N, T) with the entropy bonus's weights
// e_t = -EntropyCoef * norm_i on the tokens that take part (0 elsewhere), so
// that adding sum_t e_t H_t to the loss subtracts EntropyCoef times the
// entropy aggregated like the policy term. It allocates nothing.
func EntropyCoefficients(dst []float32, b Batch, norm Norm, cfg LossConfig) {
	b.check("EntropyCoefficients")
	if len(dst) != len(b.LogP) {
		panic(fmt.Sprintf("rl: EntropyCoefficients: len(dst) = %d, want N*T = %d", len(dst), len(b.LogP)))
	}
	checkNorm("EntropyCoefficients", b, norm, cfg)
	for i, n := range b.Len {
		row := dst[i*b.T : (i+1)*b.T]
		clear(row)
		if !b.counts(i, cfg.MaskTruncated) {
			continue
		}
		e := float32(-cfg.EntropyCoef * norm.scale(n))
		for t := range n {
			row[t] = e
		}
	}
}

// Objective returns the micro-batch's share of the aggregated loss written
// straight from the formula (min, clip, max), in float64. It is the reference
// that Coefficients is tested against, and what the trainer may log.
func Objective(b Batch, norm Norm, cfg LossConfig) float64 {
	return objective(b, norm, cfg, -1, 0)
}

// objective is Objective with logp of flat token index shift moved by h.
func objective(b Batch, norm Norm, cfg LossConfig, shift int, h float64) float64 {
	b.check("Objective")
	checkNorm("Objective", b, norm, cfg)
	var sum float64
	for i, n := range b.Len {
		if !b.counts(i, cfg.MaskTruncated) {
			continue
		}
		a := b.Adv[i]
		epsLow, epsHigh := cfg.EpsLow, cfg.EpsHigh
		var lrSeq float64 // GSPO: the mean log-ratio of the completion
		if cfg.RatioLevel == RatioSequence {
			epsLow, epsHigh = cfg.GSPOEpsLow, cfg.GSPOEpsHigh
			for t := range n {
				k := i*b.T + t
				logp, old := float64(b.LogP[k]), float64(b.LogP[k])
				if b.OldLogP != nil {
					old = float64(b.OldLogP[k])
				}
				if k == shift {
					logp += h
				}
				lrSeq += logp - old
			}
			lrSeq /= float64(n)
		}
		var row float64
		for t := range n {
			k := i*b.T + t
			logp := float64(b.LogP[k])
			old := logp
			if b.OldLogP != nil {
				old = float64(b.OldLogP[k])
			}
			if k == shift {
				logp += h
			}
			lr := logp - old
			if cfg.RatioLevel == RatioSequence {
				lr = lrSeq // every token carries its completion's loss
			}
			rho := math.Exp(math.Max(-maxLogRatio, math.Min(lr, maxLogRatio)))
			obj := math.Min(rho*a, math.Max(1-epsLow, math.Min(rho, 1+epsHigh))*a)
			if cfg.DualClip > 0 && a < 0 {
				obj = math.Max(obj, cfg.DualClip*a)
			}
			// The policy-gradient term's weight, a constant: written out
			// here rather than through isWeight.
			if b.PGMask != nil && !b.PGMask[k] {
				obj = 0
			} else if cfg.isCorrection() {
				r := 1.0
				if b.SamplerLogP != nil {
					r = math.Exp(math.Max(-maxLogRatio, math.Min(old-float64(b.SamplerLogP[k]), maxLogRatio)))
				}
				switch {
				case cfg.ISCorrection == ISTIS:
					obj *= math.Min(r, cfg.ISCap)
				case r > cfg.ISCap: // mis
					obj = 0
				default:
					obj *= r
				}
			}
			l := -obj
			if b.RefLogP != nil {
				d := float64(b.RefLogP[k]) - logp
				switch cfg.KL {
				case KL1:
					l += cfg.Beta * -d
				case KL2:
					l += cfg.Beta * d * d / 2
				case KL3, KL3K2: // k3_k2grad's value is k3's; its gradient is not this one's
					dc := math.Max(-maxLogRatio, math.Min(d, maxLogRatio))
					l += cfg.Beta * math.Min(math.Exp(dc)-dc-1, maxK3)
				}
			}
			row += l
		}
		sum += norm.scale(n) * row
	}
	return sum
}

func checkNorm(fn string, b Batch, norm Norm, cfg LossConfig) {
	if norm.Agg != cfg.Agg {
		panic(fmt.Sprintf("rl: %s: norm built for aggregation %q, want %q", fn, norm.Agg, cfg.Agg))
	}
	if cfg.Beta > 0 && b.RefLogP == nil {
		panic(fmt.Sprintf("rl: %s: beta = %v needs reference log-probs, found none", fn, cfg.Beta))
	}
}
