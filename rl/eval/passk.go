package eval

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"tinyr1/rl/objective"
)

// PassAtK is the unbiased estimator of pass@k from n samples of which c are
// correct (Chen et al. 2021, eq. 1):
//
//	pass@k = 1 - C(n-c, k) / C(n, k) = 1 - prod_{i=n-c+1}^{n} (1 - k/i)
//
// computed as the product, which neither overflows nor cancels. For k > n the
// estimator is undefined; PassAtK then returns the n-sample value pass@n
// (1 if c > 0, else 0), which understates pass@k: evaluate with n >= k. It
// panics unless 0 <= c <= n and k >= 1. It allocates nothing.
func PassAtK(n, c, k int) float64 {
	if n < 1 || c < 0 || c > n || k < 1 {
		panic(fmt.Sprintf("rl: PassAtK: n=%d c=%d k=%d, want n >= 1, 0 <= c <= n, k >= 1", n, c, k))
	}
	k = min(k, n)
	if n-c < k {
		return 1
	}
	prod := 1.0
	for i := n - c + 1; i <= n; i++ {
		prod *= 1 - float64(k)/float64(i)
	}
	return 1 - prod
}

// maj@k over n samples is estimated as the expectation over k-subsets: the
// mean vote score of every k-subset of the n samples when there are at most
// MajExactMax of them, else of MajDraws k-subsets drawn uniformly with a
// fixed seed (so results are deterministic).
const (
	MajExactMax = 20000
	MajDraws    = 10000
	majSeed     = 0x6d616a406b // "maj@k"
)

// MajMethod says how MajorityAtK estimates maj@k for n samples and k:
// "exact" (all C(n, k) subsets) or "monte carlo" (MajDraws subsets).
func MajMethod(n, k int) string {
	if binomialAtMost(n, min(k, n), MajExactMax) {
		return "exact"
	}
	return "monte carlo"
}

// binomialAtMost reports whether C(n, k) <= limit, without overflow.
func binomialAtMost(n, k, limit int) bool {
	k = min(k, n-k)
	c := 1.0
	for i := 1; i <= k; i++ {
		c = c * float64(n-k+i) / float64(i)
		if c > float64(limit)+0.5 {
			return false
		}
	}
	return true
}

// MajorityAtK is maj@k of one problem from its n samples (docs/method.md,
// "Additions"): the expected score, over the k-subsets of the samples, of a
// majority vote among the subset's canonical answers. canon[i] is sample
// i's canonical answer (data.Canonical: the value the verifier checked,
// e.g. "A=knave,Q=knave,U=knight" for every spelling of that assignment),
// or "" when it has none (broken format, truncated, unparseable answer).
// Samples without one do not vote: they can never win, and a subset with
// no vote scores 0. This is a choice: an unreadable answer is a failure to
// answer, not an answer that a majority could agree on. correct[i] is the
// verifier's verdict on sample i; samples with one canonical answer share
// it (data's TestCanonicalDecidesCorrectness), so an answer is as correct as
// its first sample.
//
// Ties score the fraction of the tied answers that are correct (the
// expected score of a uniformly random pick among them), so maj@k does not
// depend on sample order. The expectation is exact when C(n, k) <=
// MajExactMax, else a fixed-seed Monte Carlo over MajDraws subsets
// (MajMethod). maj@1 is then the fraction of correct samples, sampled
// pass@1. k > n uses every sample.
func MajorityAtK(canon []string, correct []bool, k int) float64 {
	if len(canon) != len(correct) || k < 1 {
		panic(fmt.Sprintf("rl: MajorityAtK: len(canon) = %d, len(correct) = %d, k = %d, want equal lengths and k >= 1", len(canon), len(correct), k))
	}
	n := len(canon)
	k = min(k, n)
	if n == 0 {
		return 0
	}
	// ids[i] numbers sample i's answer among the distinct ones (-1: none);
	// right[a] is answer a's correctness. Eval is not a hot path.
	ids := make([]int, n)
	var distinct []string
	var right []bool
	for i, c := range canon {
		ids[i] = -1
		if c == "" {
			continue
		}
		a := slices.Index(distinct, c)
		if a < 0 {
			a = len(distinct)
			distinct, right = append(distinct, c), append(right, correct[i])
		}
		ids[i] = a
	}
	votes := make([]int, len(distinct))
	score := func(subset []int) float64 {
		clear(votes)
		for _, i := range subset {
			if a := ids[i]; a >= 0 {
				votes[a]++
			}
		}
		return majorityScore(votes, right)
	}
	subset := make([]int, k)
	if binomialAtMost(n, k, MajExactMax) {
		// Every k-subset in lexicographic order.
		for i := range subset {
			subset[i] = i
		}
		sum, count := 0.0, 0
		for {
			sum += score(subset)
			count++
			i := k - 1
			for i >= 0 && subset[i] == n-k+i {
				i--
			}
			if i < 0 {
				return sum / float64(count)
			}
			subset[i]++
			for j := i + 1; j < k; j++ {
				subset[j] = subset[j-1] + 1
			}
		}
	}
	rng := rand.New(rand.NewPCG(majSeed, uint64(n)<<32|uint64(k)))
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	sum := 0.0
	for range MajDraws {
		for i := range k { // partial Fisher-Yates: perm[:k] is a uniform k-subset
			j := i + rng.IntN(n-i)
			perm[i], perm[j] = perm[j], perm[i]
		}
		sum += score(perm[:k])
	}
	return sum / MajDraws
}

// majorityScore scores one vote: 1 if the answer with the most votes is
// correct, the fraction of correct answers among those tied for the most,
// 0 without votes.
func majorityScore(votes []int, right []bool) float64 {
	best, tied, good := 0, 0, 0
	for a, v := range votes {
		switch {
		case v == 0:
			continue
		case v > best:
			best, tied, good = v, 0, 0
		case v < best:
			continue
		}
		tied++
		if right[a] {
			good++
		}
	}
	if tied == 0 {
		return 0
	}
	return float64(good) / float64(tied)
}

// SampledInterval is the 95% interval of sampled pass@1 from per-problem
// success fractions per[i] of m samples each. Samples of one problem are
// correlated, so a Wilson interval over all P*m samples would be too
// narrow, and mean +- 1.96 SE over problems collapses to [0, 0] (or [1, 1])
// when no sample (or every sample) succeeds. It is the Wilson interval at
// the effective sample size n_eff = p(1-p)/SE^2, with SE the standard error
// over problems (the design-effect correction of Korn and Graubard 1998,
// "Confidence intervals for proportions with small expected number of
// positive counts estimated from survey data"). n_eff is clamped to
// [P, P*m]: the design effect 1 + (m-1) rho of clusters of m samples lies
// between 1 (independent samples) and m (all samples of a problem alike).
// At p = 0 or 1, where SE = 0 says nothing about the correlation, n_eff = P,
// the most cautious value: 0 successes give Wilson(0, P), never [0, 0].
func SampledInterval(per []float64, m int) Interval {
	nP := float64(len(per))
	if len(per) == 0 || m < 1 {
		return Interval{Lo: 0, Hi: 1}
	}
	p, se := MeanStdErr(per)
	neff := nP
	if v := se * se; p > 0 && p < 1 && v > 0 {
		neff = min(max(p*(1-p)/v, nP), nP*float64(m))
	} else if p > 0 && p < 1 {
		neff = nP * float64(m) // every problem has the same rate: no sign of clustering
	}
	lo, hi := wilson(p, neff, z95)
	return Interval{Value: p, Lo: lo, Hi: hi}
}

// Wilson returns the Wilson score interval (Wilson 1927) for successes out of
// n trials at normal quantile z (1.96 for 95%):
//
//	(p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n),  p = successes/n
//
// It stays inside [0, 1] and is sensible at 0 and n successes, unlike the
// normal interval. For n = 0 it returns (0, 1).
func Wilson(successes, n int, z float64) (lo, hi float64) {
	if successes < 0 || successes > n {
		panic(fmt.Sprintf("rl: Wilson: %d successes out of %d, want 0..n", successes, n))
	}
	if n == 0 {
		return 0, 1
	}
	return wilson(float64(successes)/float64(n), float64(n), z)
}

// wilson is the Wilson interval of a proportion p observed on n (possibly
// effective, not whole) trials.
func wilson(p, n, z float64) (lo, hi float64) {
	z2 := z * z
	den := 1 + z2/n
	center := (p + z2/(2*n)) / den
	half := z / den * math.Sqrt(p*(1-p)/n+z2/(4*n*n))
	return max(0, center-half), min(1, center+half)
}

// MeanStdErr returns the mean of xs and its standard error s/sqrt(n) with the
// sample (n-1) standard deviation s. The standard error is 0 for fewer than
// two values and the mean is 0 for none: these go into JSON, which has no NaN,
// so report n beside them.
func MeanStdErr(xs []float64) (mean, stderr float64) {
	mean, std := objective.MeanSampleStd(xs)
	if len(xs) < 2 {
		return mean, 0
	}
	return mean, std / math.Sqrt(float64(len(xs)))
}
