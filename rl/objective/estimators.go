package objective

import (
	"fmt"
	"math"
)

// This file holds the advantage estimators other than GRPO's; Advantages
// (advantage.go) dispatches to them. Each takes rewards (P*G,) in groups of
// G consecutive completions, writes dst (P*G,) and allocates nothing.

// rlooAdvantages writes the REINFORCE leave-one-out advantages (Ahmadian et
// al. 2024, "Back to Basics: Revisiting REINFORCE Style Optimization for
// Learning from Human Feedback in LLMs", arXiv:2402.14740; verl's rloo):
//
//	A_i = r_i - (1/(G-1)) sum_{j != i} r_j  =  G/(G-1) (r_i - mean_g)
//
// The baseline of each completion is the mean of the others', so it does
// not depend on r_i and the estimator is unbiased; nothing divides it. The
// leave-one-out sum is summed literally (a running prefix of the rewards
// already read plus the rest), so that G = 2 gives r_i - r_j exactly and dst
// may alias rewards. A group whose rewards are all equal gets exactly 0.
func rlooAdvantages(dst, rewards []float64, G int) {
	for g := 0; g < len(rewards); g += G {
		r, a := rewards[g:g+G], dst[g:g+G] // (G,)
		if constant(r) {
			clear(a)
			continue
		}
		var prefix float64 // sum of r[:i], read before a[:i] was written
		for i := range r {
			var rest float64 // sum of r[i+1:], not yet written
			for _, x := range r[i+1:] {
				rest += x
			}
			ri := r[i]
			a[i] = ri - (prefix+rest)/float64(G-1)
			prefix += ri
		}
	}
}

// reinforcePPAdvantages writes REINFORCE++-baseline's advantages (Hu et al.
// 2025, "REINFORCE++: Stabilizing Critic-Free Policy Optimization with Global
// Advantage Normalization", arXiv:2501.03262; verl's
// reinforce_plus_plus_baseline): the group mean is subtracted, then the
// result is whitened over the whole batch, as verl does it, over the
// completion tokens (each completion counts lens[i] times):
//
//	d_i = r_i - mean_g                 (0 for a group whose rewards are all equal)
//	mu  = sum_i L_i d_i / sum_i L_i
//	s^2 = sum_i L_i (d_i - mu)^2 / (sum_i L_i - 1)
//	A_i = (d_i - mu) / (s + eps)
//
// Like verl's masked_whiten, the batch mean mu is subtracted again, so a
// zero-variance group gets -mu/(s+eps), not 0, when lengths differ between
// completions. verl adds its 1e-8 inside the square root, 1/sqrt(s^2 + 1e-8);
// here eps is added to s as for the grpo scales (adv_eps = 1e-4 = sqrt(1e-8)
// by default). A batch whose d are all equal, or that holds fewer than two
// tokens, gets exactly 0. dst may alias rewards.
func reinforcePPAdvantages(dst, rewards []float64, lens []int, G int, eps float64) {
	if len(lens) != len(rewards) {
		panic(fmt.Sprintf("rl: Advantages: reinforce_pp: len(lens) = %d, want len(rewards) = %d", len(lens), len(rewards)))
	}
	for g := 0; g < len(rewards); g += G {
		r, a := rewards[g:g+G], dst[g:g+G] // (G,)
		if constant(r) {
			clear(a)
			continue
		}
		var mean float64
		for _, x := range r {
			mean += x
		}
		mean /= float64(G)
		for i, x := range r {
			a[i] = x - mean
		}
	}
	var n, mu float64
	for i, d := range dst {
		n += float64(lens[i])
		mu += float64(lens[i]) * d
	}
	if n < 2 {
		clear(dst)
		return
	}
	mu /= n
	var ss float64
	for i, d := range dst {
		ss += float64(lens[i]) * (d - mu) * (d - mu)
	}
	if ss == 0 { // every d equal (all groups constant), or only empty completions differ
		clear(dst)
		return
	}
	inv := 1 / (math.Sqrt(ss/(n-1)) + eps)
	for i, d := range dst {
		dst[i] = (d - mu) * inv
	}
}

// passKAdvantages writes the pass@k advantages of Chen et al. 2025 ("Pass@k
// Training for Adaptively Balancing Exploration and Exploitation of Large
// Reasoning Models", arXiv:2508.10751, the analytic derivation). The reward
// of a k-subset S of the group is its best reward, max_{j in S} r_j (for 0/1
// rewards: whether S passes); over all C(G,k) subsets it has mean R and
// population std sigma, and a completion's advantage is the mean over the
// C(G-1,k-1) subsets that hold it of the subset's normalised advantage:
//
//	R     = (1/C(G,k)) sum_S max_S r
//	sigma = sqrt((1/C(G,k)) sum_S (max_S r - R)^2)
//	A_i   = ((1/C(G-1,k-1)) sum_{S containing i} max_S r - R) / (sigma + eps)
//
// For 0/1 rewards with N_neg failures this is the paper's closed form,
// R = 1 - C(N_neg,k)/C(G,k), sigma = sqrt(R(1-R)), A_pos = (1-R)/sigma and
// A_neg = (1 - R - C(N_neg-1,k-1)/C(G-1,k-1))/sigma; for other rewards it is
// the same expectation with max in place of "any passes". k = 1 is GRPO with
// the population std. When more than G-k completions share the best reward
// (k = G always), every subset scores the same, sigma = 0 and every
// advantage is 0. verl's grpo_passk is another estimator: it gives only the
// best completion r_max - r_second (Tang et al. 2025, arXiv:2503.19595, the
// k = G objective with a leave-one-out baseline).
//
// With completions ranked by reward (ties by index), rank p_j, the sums are
// O(G^2) without enumerating subsets: the best of a subset is its top-ranked
// member, so sum_S max_S r = sum_j r_j C(G-1-p_j, k-1), and a subset holding
// i whose best is j above i counts C(G-2-p_j, k-2) times. Two things keep it
// accurate in floating point at any group size (TestPassKLargeGroup): the
// counts enter only as ratios below 1 (keep), never as C(G,k), which
// overflows float64 near G = 1024; and everything is summed in the shortfall
// y_j = best - r_j >= 0 (D = best - R = E[min_S y], A_i = (D - E[min_S y |
// i in S])/(sigma+eps)), sums of terms >= 0, so a group where almost every
// subset holds the best (1 - R below rounding of R) keeps its advantages.
// A group whose rewards are all equal gets exactly 0. dst is scratch: it
// must not alias rewards.
func passKAdvantages(dst, rewards []float64, G, k int, eps float64) {
	if k < 1 || k > G {
		panic(fmt.Sprintf("rl: Advantages: passk k = %d: want 1 to the group size %d", k, G))
	}
	if len(dst) > 0 && &dst[0] == &rewards[0] {
		panic("rl: Advantages: passk: dst aliases rewards: want a separate dst")
	}
	// C(G-1-p, k-1)/C(G, k) = fk keep(G, k, p); C(G-2-p, k-2)/C(G-1, k-1) =
	// fk1 keep(G-1, k-1, p); C(m-1, k-1)/C(G-1, k-1) = keep(G, k, G-m).
	fk, fk1 := float64(k)/float64(G), float64(k-1)/float64(G-1)
	for g := 0; g < len(rewards); g += G {
		r, a := rewards[g:g+G], dst[g:g+G] // (G,)
		if constant(r) || passKConstant(r, k) {
			clear(a)
			continue
		}
		best := math.Inf(-1)
		for _, x := range r {
			best = math.Max(best, x)
		}
		// D, and a[j] = y_j C(G-2-p_j, k-2)/C(G-1, k-1): j's part in the
		// subsets holding a completion below j that j tops.
		var d float64
		for j, x := range r {
			p := rank(r, j)
			d += (best - x) * keep(G, k, p)
			a[j] = 0
			if k > 1 {
				a[j] = (best - x) * fk1 * keep(G-1, k-1, p)
			}
		}
		d *= fk
		var ss float64
		for j, x := range r {
			dev := d - (best - x) // max_S r - R for the subsets j tops
			ss += keep(G, k, rank(r, j)) * dev * dev
		}
		sigma := math.Sqrt(fk * ss) // > 0: some subset misses the best reward
		// Rewards from the lowest up: a[j] of the rewards above v is still
		// j's part when v's completions are written.
		for v := math.Inf(-1); ; {
			next := math.Inf(1)
			for _, x := range r {
				if x > v && x < next {
					next = x
				}
			}
			if math.IsInf(next, 1) {
				break
			}
			var above float64
			atMost := 0 // completions with a reward <= next, one of them i
			for j, x := range r {
				if x > next {
					above += a[j]
				} else {
					atMost++
				}
			}
			adv := (d - ((best-next)*keep(G, k, G-atMost) + above)) / (sigma + eps)
			for j, x := range r {
				if x == next {
					a[j] = adv
				}
			}
			v = next
		}
	}
}

// keep returns C(n-1-p, k-1)/C(n-1, k-1), the fraction of the (k-1)-subsets
// of n-1 items that avoid p given ones, as the product of p ratios below 1:
// prod_{i<p} (n-k-i)/(n-1-i), 0 once p > n-k. k >= 1.
func keep(n, k, p int) float64 {
	q := 1.0
	for i := range p {
		if n-k-i <= 0 {
			return 0
		}
		q *= float64(n-k-i) / float64(n-1-i)
	}
	return q
}

// GroupHasSignal reports whether the estimator of cfg can give the group
// rewards (G,) a nonzero advantage of its own: its rewards differ and, for
// passk, some k-subset misses the group's best reward (else every subset
// scores the same and every advantage is 0, see passKConstant). DAPO's
// dynamic sampling keeps the groups for which it is true. (reinforce_pp
// gives a group of equal rewards -mu/(s+eps), the other groups' batch mean,
// not a signal of its own.)
func GroupHasSignal(rewards []float64, cfg AdvantageConfig) bool {
	if constant(rewards) {
		return false
	}
	return cfg.Estimator != EstPassK || !passKConstant(rewards, cfg.K)
}

// passKConstant reports whether every k-subset of r holds a best reward of
// the group, so that all subsets score the same and sigma is 0: more than
// G-k completions share the best reward (k = G always). Deciding it by
// counting, not by sigma == 0, gives such a group exactly 0 where rounding
// would leave sigma near 1e-17 and the advantages near 1e-12.
func passKConstant(r []float64, k int) bool {
	best := math.Inf(-1)
	for _, x := range r {
		best = math.Max(best, x)
	}
	top := 0
	for _, x := range r {
		if x == best {
			top++
		}
	}
	return top > len(r)-k
}

// rank returns the place of r[j] when r is sorted from the highest reward
// down, equal rewards by index: 0 is the best.
func rank(r []float64, j int) int {
	p := 0
	for l, x := range r {
		if x > r[j] || (x == r[j] && l < j) {
			p++
		}
	}
	return p
}
