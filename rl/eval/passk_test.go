package eval

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"testing"

	"tinyr1/data"
)

func TestPassAtKHand(t *testing.T) {
	tests := []struct {
		n, c, k int
		want    float64
	}{
		{10, 0, 1, 0},
		{10, 3, 1, 0.3},             // pass@1 = c/n
		{4, 1, 2, 0.5},              // 1 - C(3,2)/C(4,2) = 1 - 3/6
		{5, 2, 2, 0.7},              // 1 - C(3,2)/C(5,2) = 1 - 3/10
		{10, 2, 4, 2. / 3},          // 1 - C(8,4)/C(10,4) = 1 - 70/210
		{4, 3, 2, 1},                // n-c = 1 < k: every pair has a correct one
		{16, 1, 16, 1},              // k = n
		{8, 2, 16, 1},               // k > n: pass@n
		{8, 0, 16, 0},               // k > n, nothing correct
		{200, 1, 1, 1. / 200},       // large n, pass@1
		{200, 10, 50, 0.9479063706}, // 1 - prod_{i=191}^{200} (1 - 50/i), the product evaluated with awk
	}
	for _, tc := range tests {
		tol := 1e-12
		if tc.n == 200 && tc.k == 50 {
			tol = 1e-9
		}
		if got := PassAtK(tc.n, tc.c, tc.k); !closeTo(got, tc.want, tol) {
			t.Errorf("PassAtK(%d, %d, %d) = %v, want %v", tc.n, tc.c, tc.k, got, tc.want)
		}
	}
}

// TestPassAtKBruteForce: for n <= 10, the estimator is the fraction of the
// C(n, k) k-subsets of the samples that contain a correct one (samples
// 0..c-1 correct), counted over every bitmask.
func TestPassAtKBruteForce(t *testing.T) {
	for n := 1; n <= 10; n++ {
		for c := 0; c <= n; c++ {
			for k := 1; k <= n; k++ {
				subsets, hit := 0, 0
				correct := uint(1)<<c - 1
				for m := uint(0); m < 1<<n; m++ {
					if bits.OnesCount(m) != k {
						continue
					}
					subsets++
					if m&correct != 0 {
						hit++
					}
				}
				want := float64(hit) / float64(subsets)
				if got := PassAtK(n, c, k); !closeTo(got, want, 1e-12) {
					t.Errorf("PassAtK(%d, %d, %d) = %v, want %d/%d = %v", n, c, k, got, hit, subsets, want)
				}
			}
		}
	}
}

func TestPassAtKAllocs(t *testing.T) {
	if n := testing.AllocsPerRun(10, func() { PassAtK(64, 10, 16) }); n != 0 {
		t.Errorf("PassAtK allocates %v times, want 0", n)
	}
}

func TestMajorityAtK(t *testing.T) {
	// Vote tables; "7" is the correct answer throughout. With k = n the
	// only subset is every sample.
	tests := []struct {
		name  string
		canon []string
		k     int
		want  float64
	}{
		// 7: 2 votes, 5: 1 -> 7 wins.
		{"clear win", []string{"7", "5", "7"}, 3, 1},
		// 5: 2, 7: 1 -> 5 wins.
		{"wrong majority", []string{"5", "7", "5"}, 3, 0},
		// 7: 2, 5: 2, 3: 2 -> three tied, one correct: 1/3.
		{"tie of three", []string{"5", "3", "7", "3", "5", "7"}, 6, 1. / 3},
		// 5: 2, 3: 2, 7: 1 -> tie of two wrong ones: 0.
		{"tie without the answer", []string{"5", "3", "7", "3", "5"}, 5, 0},
		// No canonical answer, no vote: 7: 1, none x3 -> 7 wins.
		{"unparseable do not vote", []string{"", "", "7", ""}, 4, 1},
		// Nothing votes -> 0.
		{"no votes", []string{"", "", ""}, 3, 0},
		// k beyond the samples uses them all.
		{"k > n", []string{"7", "5", "7"}, 16, 1},
		// k = 1 is the fraction of correct samples.
		{"k = 1", []string{"7", "5", "", "7"}, 1, 0.5},
		// Pairs of {7, 5, 7}: {7,5} tie 1/2, {7,7} 1, {5,7} 1/2 -> 2/3.
		{"pairs", []string{"7", "5", "7"}, 2, 2. / 3},
		// Pairs of {7, 5, ""}: {7,5} 1/2, {7,-} 1, {5,-} 0 -> 1/2.
		{"pairs with no vote", []string{"7", "5", ""}, 2, 0.5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			correct := make([]bool, len(tc.canon))
			for i, a := range tc.canon {
				correct[i] = a == "7"
			}
			if got := MajorityAtK(tc.canon, correct, tc.k); !closeTo(got, tc.want, 1e-15) {
				t.Errorf("MajorityAtK(%q, k=%d) = %v, want %v", tc.canon, tc.k, got, tc.want)
			}
		})
	}
}

// TestMajorityAtKCanonical holds the two failures of issue 14 on the real
// verifiers: maj@k votes on data.Canonical, not on the answer's text.
func TestMajorityAtKCanonical(t *testing.T) {
	judge := func(p *data.Problem, answers []string) ([]string, []bool) {
		canon, correct := make([]string, len(answers)), make([]bool, len(answers))
		for i, a := range answers {
			c := "<think></think><answer>" + a + "</answer>"
			v, err := data.Verify(p, c)
			if err != nil {
				t.Fatal(err)
			}
			canon[i], _ = data.Canonical(p, c)
			correct[i] = v.Correct
		}
		return canon, correct
	}
	// sort: "1  2" is rejected by the verifier, so it does not vote with
	// the correct "1 2": 2 wrong "2 1" beat 1 correct "1 2".
	sp := &data.Problem{Family: "sort", Key: "sort:asc:1,2", Answer: "1 2"}
	canon, correct := judge(sp, []string{"1  2", "1  2", "1 2", "2 1", "2 1"})
	if got := MajorityAtK(canon, correct, 5); got != 0 {
		t.Errorf("sort: maj@5 = %v with canonical %q: want 0 (\"1  2\" is not \"1 2\")", got, canon)
	}
	// kk: three correct spellings of one assignment beat one repeated
	// wrong answer: 3 of 5 correct give maj@5 = 1.
	kp := &data.Problem{Family: "kk", Key: "kk:A:Q+ Q:Q&U+ U:Q-", Answer: "A=knave,Q=knave,U=knight"}
	wrong := "A=knight,Q=knave,U=knave"
	canon, correct = judge(kp, []string{"A=knave,Q=knave,U=knight", "U=knight,Q=knave,A=knave", "A=knave, Q=knave, U=knight", wrong, wrong})
	if got := MajorityAtK(canon, correct, 5); got != 1 {
		t.Errorf("kk: maj@5 = %v with canonical %q: want 1", got, canon)
	}
	// countdown: two expressions of one value and multiset are one answer.
	cp := &data.Problem{Family: "countdown", Key: "countdown:2,3,5,8=12", Answer: "(8-5+3)*2"}
	canon, correct = judge(cp, []string{"(8-5+3)*2", "2*(3+8-5)", "8+5-3-2", "8+5-3-2", "8/2+5+3"})
	if got := MajorityAtK(canon, correct, 5); got != 1 {
		t.Errorf("countdown: maj@5 = %v with canonical %q: want 1", got, canon)
	}
}

// TestMajorityAtKSubsets holds the estimator to a brute force over every
// k-subset on small n (exact range), and to the same brute force within
// Monte Carlo error where C(n, k) > MajExactMax.
func TestMajorityAtKSubsets(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2))
	pool := []string{"", "7", "5", "3"}
	draw := func(n int) ([]string, []bool) {
		canon, correct := make([]string, n), make([]bool, n)
		for i := range canon {
			canon[i] = pool[rng.IntN(len(pool))]
			correct[i] = canon[i] == "7"
		}
		return canon, correct
	}
	for n := 1; n <= 9; n++ {
		for k := 1; k <= n; k++ {
			for range 5 {
				canon, correct := draw(n)
				want := majBruteForce(canon, k)
				if got := MajorityAtK(canon, correct, k); !closeTo(got, want, 1e-12) {
					t.Errorf("MajorityAtK(%q, k=%d) = %v: want %v by brute force", canon, k, got, want)
				}
			}
		}
	}
	// C(20, 10) = 184,756 subsets: Monte Carlo with 10,000 draws; a
	// score's standard deviation is at most 1/2, so 5 standard errors are 0.025.
	canon, correct := draw(20)
	if MajMethod(20, 10) != "monte carlo" || MajMethod(16, 4) != "exact" || MajMethod(16, 16) != "exact" {
		t.Errorf("MajMethod(20, 10), (16, 4), (16, 16) = %s, %s, %s: want monte carlo, exact, exact",
			MajMethod(20, 10), MajMethod(16, 4), MajMethod(16, 16))
	}
	got, want := MajorityAtK(canon, correct, 10), majBruteForce(canon, 10)
	if math.Abs(got-want) > 0.025 {
		t.Errorf("Monte Carlo maj@10 of 20 = %v: want %v +- 0.025", got, want)
	}
	if again := MajorityAtK(canon, correct, 10); again != got {
		t.Errorf("Monte Carlo maj@10 = %v, then %v: want the same (fixed seed)", got, again)
	}
}

// majBruteForce is maj@k as the mean over every k-subset (bit masks),
// "7" correct, "" not voting.
func majBruteForce(canon []string, k int) float64 {
	n := len(canon)
	sum, count := 0.0, 0
	for mask := 0; mask < 1<<n; mask++ {
		if bits.OnesCount(uint(mask)) != k {
			continue
		}
		votes := map[string]int{}
		for i := range n {
			if mask>>i&1 == 1 && canon[i] != "" {
				votes[canon[i]]++
			}
		}
		best := 0
		for _, v := range votes {
			best = max(best, v)
		}
		tied, right := 0, 0
		for a, v := range votes {
			if v == best {
				tied++
				if a == "7" {
					right++
				}
			}
		}
		if tied > 0 {
			sum += float64(right) / float64(tied)
		}
		count++
	}
	return sum / float64(count)
}

// TestSampledInterval: the sampled pass@1 interval never collapses to a
// point at 0 or at every success, lies between the Wilson intervals of the
// problems and of all samples, and is Wilson(0, P) at zero successes.
func TestSampledInterval(t *testing.T) {
	const m = 8
	zero, all := make([]float64, 20), make([]float64, 20)
	for i := range all {
		all[i] = 1
	}
	iv := SampledInterval(zero, m)
	if lo, hi := Wilson(0, 20, z95); iv.Value != 0 || iv.Lo != lo || iv.Hi != hi || iv.Hi <= 0 {
		t.Errorf("0 successes: %+v, want 0 in Wilson(0, 20) = [%g, %g], not [0, 0]", iv, lo, hi)
	}
	iv = SampledInterval(all, m)
	if lo, hi := Wilson(20, 20, z95); iv.Value != 1 || iv.Lo != lo || iv.Hi != hi || iv.Lo >= 1 {
		t.Errorf("every sample right: %+v, want 1 in Wilson(20, 20) = [%g, %g], not [1, 1]", iv, lo, hi)
	}
	// Half the problems always right, half never: fully clustered, n_eff = P.
	split := make([]float64, 20)
	for i := range 10 {
		split[i] = 1
	}
	iv = SampledInterval(split, m)
	if lo, hi := Wilson(10, 20, z95); iv.Value != 0.5 || !closeTo(iv.Lo, lo, 1e-12) || !closeTo(iv.Hi, hi, 1e-12) {
		t.Errorf("fully clustered: %+v, want 0.5 in Wilson(10, 20) = [%g, %g]", iv, lo, hi)
	}
	// Every problem 4 of 8: no sign of clustering, n_eff = P*m.
	half := make([]float64, 20)
	for i := range half {
		half[i] = 0.5
	}
	iv = SampledInterval(half, m)
	if lo, hi := Wilson(80, 160, z95); !closeTo(iv.Lo, lo, 1e-12) || !closeTo(iv.Hi, hi, 1e-12) {
		t.Errorf("unclustered: [%g, %g], want Wilson(80, 160) = [%g, %g]", iv.Lo, iv.Hi, lo, hi)
	}
}

// TestWilson against published 95% intervals (Newcombe 1998, Statistics in
// Medicine 17:857, table I, method 3) and a hand computation for 8/10:
// p = 0.8, z^2 = 3.8416, den = 1.38416, center = (0.8 + 0.19208)/den = 0.716738,
// half = (1.96/den) sqrt(0.016 + 0.009604) = 0.226581 -> (0.490157, 0.943319)
// (awk to 8 digits: 0.49015685, 0.94331905). 0/10: center = half = 0.19208/den
// = 0.138770 -> upper 0.277540 (awk: 0.27754017); 10/10 mirrors it.
func TestWilson(t *testing.T) {
	tests := []struct {
		s, n   int
		lo, hi float64
		tol    float64
	}{
		{81, 263, 0.2553, 0.3662, 1e-4},
		{15, 148, 0.0624, 0.1605, 1e-4},
		{0, 20, 0, 0.1611, 1e-4},
		{1, 29, 0.0061, 0.1718, 1e-4},
		{8, 10, 0.49015685, 0.94331905, 1e-7},
		{10, 10, 1 - 0.27754017, 1, 1e-7}, // mirror of 0/10
		{0, 0, 0, 1, 0},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d/%d", tc.s, tc.n), func(t *testing.T) {
			lo, hi := Wilson(tc.s, tc.n, 1.96)
			if math.Abs(lo-tc.lo) > tc.tol || math.Abs(hi-tc.hi) > tc.tol {
				t.Errorf("Wilson(%d, %d) = (%.6f, %.6f), want (%.6f, %.6f) +- %v", tc.s, tc.n, lo, hi, tc.lo, tc.hi, tc.tol)
			}
		})
	}
}

func TestMeanStdErr(t *testing.T) {
	// [1, 2, 3, 6]: mean 3, squares 4+1+0+9 = 14, s^2 = 14/3, se = sqrt(14/3)/2.
	tests := []struct {
		xs       []float64
		mean, se float64
	}{
		{[]float64{1, 2, 3, 6}, 3, math.Sqrt(14.0/3) / 2},
		{[]float64{0.5}, 0.5, 0},
		{nil, 0, 0},
	}
	for _, tc := range tests {
		m, se := MeanStdErr(tc.xs)
		if !closeTo(m, tc.mean, 1e-15) || !closeTo(se, tc.se, 1e-15) {
			t.Errorf("MeanStdErr(%v) = %v, %v, want %v, %v", tc.xs, m, se, tc.mean, tc.se)
		}
	}
}

func BenchmarkPassAtK(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		PassAtK(64, 10, 16)
	}
}

// closeTo reports whether got is within tol of want, relative above 1.
func closeTo(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}
