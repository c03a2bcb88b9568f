package rl

import (
	"fmt"
	"math"
	"strings"
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

// MajorityAtK is maj@k of one problem: the majority vote over the first k
// samples' normalised answers (NormalizeAnswer), scored by whether the
// winning answer is correct. answers[i] is "" when sample i has no readable
// answer; such samples do not vote. correct[i] is the verifier's verdict on
// sample i; an answer's correctness is that of its first sample (the verifier
// is deterministic, so all its samples agree).
//
// Ties: the result is the expected score of a uniformly random pick among
// the tied answers, i.e. the fraction of tied answers that are correct, so
// that maj@k does not depend on sample order. With no votes it is 0. k > len
// uses every sample.
func MajorityAtK(answers []string, correct []bool, k int) float64 {
	if len(answers) != len(correct) || k < 1 {
		panic(fmt.Sprintf("rl: MajorityAtK: len(answers) = %d, len(correct) = %d, k = %d, want equal lengths and k >= 1", len(answers), len(correct), k))
	}
	k = min(k, len(answers))
	type vote struct {
		answer  string
		n       int
		correct bool
	}
	var votes []vote // at most k distinct answers; eval is not a hot path
	for i, a := range answers[:k] {
		a = NormalizeAnswer(a)
		if a == "" {
			continue
		}
		j := 0
		for j < len(votes) && votes[j].answer != a {
			j++
		}
		if j == len(votes) {
			votes = append(votes, vote{answer: a, correct: correct[i]})
		}
		votes[j].n++
	}
	best, tied, right := 0, 0, 0
	for _, v := range votes {
		switch {
		case v.n > best:
			best, tied, right = v.n, 0, 0
			fallthrough
		case v.n == best:
			tied++
			if v.correct {
				right++
			}
		}
	}
	if tied == 0 {
		return 0
	}
	return float64(right) / float64(tied)
}

// NormalizeAnswer trims an answer and collapses runs of white space to one
// space. Anything beyond that (number formats, role order) is the verifier's
// canonical form, which callers should pass in.
func NormalizeAnswer(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, " \t\n\r\v\f") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
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
	nf := float64(n)
	p := float64(successes) / nf
	z2 := z * z
	den := 1 + z2/nf
	center := (p + z2/(2*nf)) / den
	half := z / den * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	return max(0, center-half), min(1, center+half)
}

// MeanStdErr returns the mean of xs and its standard error s/sqrt(n) with the
// sample (n-1) standard deviation s. The standard error is 0 for fewer than
// two values and the mean is 0 for none: these go into JSON, which has no NaN,
// so report n beside them.
func MeanStdErr(xs []float64) (mean, stderr float64) {
	mean, std := meanSampleStd(xs)
	if len(xs) < 2 {
		return mean, 0
	}
	return mean, std / math.Sqrt(float64(len(xs)))
}
