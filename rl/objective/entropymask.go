package objective

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// HighEntropyMask fills dst (N, T), the batch's PGMask, for the
// high-entropy-token update of Wang et al. 2025 ("Beyond the 80/20 Rule:
// High-Entropy Minority Tokens Drive Effective Reinforcement Learning for
// LLM Reasoning", arXiv:2506.01939): of the m tokens of b that take part in
// the loss (Len, and MaskTruncated as in Norm), the k = ceil(frac*m) with
// the largest sampling entropy H (N, T) keep their policy-gradient term
// (dst true); every other position is false. Ties are broken by position:
// tokens are ranked by (H descending, completion index, token index), so
// the mask depends on nothing but b and H. A NaN entropy ranks lowest.
// frac 1 keeps every token taking part. It returns k.
//
// What the mask leaves alone, as TRL's top_entropy_quantile: the KL term
// and the entropy bonus of every token, and the normaliser (Norm counts
// every token taking part, so the selected tokens' coefficients are
// exactly those without the mask). The paper and TRL rank by the current
// policy's entropy in the update's forward pass; here it is the rollout's
// sampling entropy (model.Rollout.Entropy), fixed for the step's mu passes:
// with mu = 1 and no top-k/top-p the two are the same distribution.
//
// idx is scratch space of at least N*T ints. It allocates nothing.
func HighEntropyMask(dst []bool, idx []int32, b Batch, H []float32, frac float64, maskTruncated bool) int {
	b.check("HighEntropyMask")
	nt := len(b.Len) * b.T
	if len(dst) != nt || len(H) != nt || len(idx) < nt {
		panic(fmt.Sprintf("rl: HighEntropyMask: len(dst) = %d, len(H) = %d, len(idx) = %d: want N*T = %d, N*T, >= N*T",
			len(dst), len(H), len(idx), nt))
	}
	if !(frac > 0 && frac <= 1) {
		panic(fmt.Sprintf("rl: HighEntropyMask: frac = %v, want a fraction in (0, 1]", frac))
	}
	clear(dst)
	m := 0
	for i, n := range b.Len {
		if !b.counts(i, maskTruncated) {
			continue
		}
		for t := range n {
			idx[m] = int32(i*b.T + t)
			m++
		}
	}
	// ceil(frac*m); the slack keeps a product such as 0.28*25 that rounds
	// just above an integer from taking one token more.
	k := min(max(int(math.Ceil(frac*float64(m)-1e-9)), 1), m)
	if k < m {
		key := func(j int32) float64 {
			if h := float64(H[j]); !math.IsNaN(h) {
				return h
			}
			return math.Inf(-1)
		}
		slices.SortFunc(idx[:m], func(a, c int32) int {
			if r := cmp.Compare(key(c), key(a)); r != 0 { // entropy descending
				return r
			}
			return cmp.Compare(a, c) // then (completion, token) ascending
		})
	}
	for _, j := range idx[:k] {
		dst[j] = true
	}
	return k
}
