package rl

import (
	"fmt"
	"math"
	"math/bits"
	"testing"
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
	// Vote tables; "7" is the correct answer throughout.
	tests := []struct {
		name    string
		answers []string
		k       int
		want    float64
	}{
		// 7: 2 votes, 5: 1 -> 7 wins.
		{"clear win", []string{"7", "5", "7"}, 3, 1},
		// 5: 2, 7: 1 -> 5 wins.
		{"wrong majority", []string{"5", "7", "5"}, 3, 0},
		// Only the first k = 2 vote: 5: 1, 7: 1 -> tie of 2 answers, one correct: 1/2.
		{"tie of two", []string{"5", "7", "7", "7"}, 2, 0.5},
		// Same with order swapped: the tie rule does not depend on order.
		{"tie of two swapped", []string{"7", "5", "7", "7"}, 2, 0.5},
		// 7: 2, 5: 2, 3: 2 -> three tied, one correct: 1/3.
		{"tie of three", []string{"5", "3", "7", "3", "5", "7"}, 6, 1. / 3},
		// 5: 2, 3: 2, 7: 1 -> tie of two wrong ones: 0.
		{"tie without the answer", []string{"5", "3", "7", "3", "5"}, 5, 0},
		// Empty answers do not vote: 7: 1, "" x3 -> 7 wins.
		{"empty do not vote", []string{"", " ", "7", ""}, 4, 1},
		// Nothing votes -> 0.
		{"no votes", []string{"", "", ""}, 3, 0},
		// White space normalised: " 7 " and "7" are one answer with 2 votes vs 5: 1.
		{"normalised", []string{" 7 ", "5", "7"}, 3, 1},
		// k beyond the samples uses them all.
		{"k > n", []string{"7", "5", "7"}, 16, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			correct := make([]bool, len(tc.answers))
			for i, a := range tc.answers {
				correct[i] = NormalizeAnswer(a) == "7"
			}
			if got := MajorityAtK(tc.answers, correct, tc.k); !closeTo(got, tc.want, 1e-15) {
				t.Errorf("MajorityAtK(%q, k=%d) = %v, want %v", tc.answers, tc.k, got, tc.want)
			}
		})
	}
}

func TestNormalizeAnswer(t *testing.T) {
	tests := []struct{ in, want string }{
		{"7", "7"}, {"  7\n", "7"}, {"1  2\t3", "1 2 3"}, {"A: knight,  B: knave", "A: knight, B: knave"}, {" \n ", ""},
	}
	for _, tc := range tests {
		if got := NormalizeAnswer(tc.in); got != tc.want {
			t.Errorf("NormalizeAnswer(%q) = %q, want %q", tc.in, got, tc.want)
		}
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
