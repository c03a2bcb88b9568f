package objective

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestRLOOGroupOfTwoIsTheDifference(t *testing.T) {
	// G = 2: the leave-one-out baseline of each is the other's reward, so
	// A = r_i - r_j exactly (no rounding through a mean).
	r := []float64{1.1, 0.1, 0.3, 0.7, 1e20, 1, 0.5, 0.5}
	got := make([]float64, len(r))
	Advantages(got, r, nil, 2, AdvantageConfig{Estimator: EstRLOO})
	for g := 0; g < len(r); g += 2 {
		for i, j := g, g+1; i < g+2; i, j = i+1, j-1 {
			if want := r[i] - r[j]; got[i] != want {
				t.Errorf("A[%d] = %v, want r[%d] - r[%d] = %v exactly", i, got[i], i, j, want)
			}
		}
	}
}

func TestRLOOIsScaledMeanCentredReward(t *testing.T) {
	// A_i = r_i - mean_{j != i} r_j = G/(G-1) (r_i - mean): check on random
	// rewards against the second form, and against a hand computation.
	for _, G := range []int{3, 4, 8} {
		r := randomRealRewards(5*G, uint64(G))
		got := make([]float64, len(r))
		Advantages(got, r, nil, G, AdvantageConfig{Estimator: EstRLOO})
		for g := 0; g < len(r); g += G {
			mean, _ := MeanSampleStd(r[g : g+G])
			for i := g; i < g+G; i++ {
				if want := float64(G) / float64(G-1) * (r[i] - mean); !closeTo(got[i], want, 1e-12) {
					t.Errorf("G=%d: A[%d] = %v, want G/(G-1)(r - mean) = %v", G, i, got[i], want)
				}
			}
		}
		in := append([]float64(nil), r...)
		Advantages(in, in, nil, G, AdvantageConfig{Estimator: EstRLOO})
		for i := range in {
			if in[i] != got[i] {
				t.Errorf("G=%d in place: A[%d] = %v, want %v", G, i, in[i], got[i])
			}
		}
	}
	// [1, 0, 0]: 1 - 0 = 1; 0 - (1+0)/2 = -1/2.
	got := make([]float64, 3)
	Advantages(got, []float64{1, 0, 0}, nil, 3, AdvantageConfig{Estimator: EstRLOO})
	if want := []float64{1, -.5, -.5}; got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("RLOO [1 0 0] = %v, want %v", got, want)
	}
}

func TestReinforcePPHand(t *testing.T) {
	// Groups of 2: [1, 0] -> d = +1/2, -1/2; [1, 1] -> 0, 0.
	// Lengths 1, 3, 2, 2: tokens n = 8, mu = (1/2 - 3/2)/8 = -1/8.
	// d - mu: 5/8, -3/8, 1/8, 1/8; sum L (d-mu)^2 = 25/64 + 27/64 + 2/64 + 2/64 = 56/64 = 7/8;
	// s^2 = (7/8)/7 = 1/8, s = 1/sqrt(8).
	r := []float64{1, 0, 1, 1}
	lens := []int{1, 3, 2, 2}
	s := 1 / math.Sqrt(8)
	for _, eps := range []float64{0, 0.25} {
		got := make([]float64, 4)
		Advantages(got, r, lens, 2, AdvantageConfig{Estimator: EstReinforcePP, Eps: eps})
		for i, dm := range []float64{5. / 8, -3. / 8, 1. / 8, 1. / 8} {
			if want := dm / (s + eps); !closeTo(got[i], want, 1e-14) {
				t.Errorf("eps %v: A[%d] = %v, want %v", eps, i, got[i], want)
			}
		}
		in := append([]float64(nil), r...)
		Advantages(in, in, lens, 2, AdvantageConfig{Estimator: EstReinforcePP, Eps: eps})
		for i := range in {
			if in[i] != got[i] {
				t.Errorf("eps %v in place: A[%d] = %v, want %v", eps, i, in[i], got[i])
			}
		}
	}
	// Equal lengths: mu = 0 (each group's d sums to 0), so the zero-variance
	// group keeps 0 and the rest is d over the token-weighted std.
	got := make([]float64, 4)
	Advantages(got, r, []int{2, 2, 2, 2}, 2, AdvantageConfig{Estimator: EstReinforcePP})
	// sum L d^2 = 2(1/4 + 1/4) = 1 over n-1 = 7: s = 1/sqrt(7).
	for i, want := range []float64{.5 * math.Sqrt(7), -.5 * math.Sqrt(7), 0, 0} {
		if !closeTo(got[i], want, 1e-14) {
			t.Errorf("equal lengths: A[%d] = %v, want %v", i, got[i], want)
		}
	}
}

// passKBrute is the pass@k advantage by enumerating every k-subset of the
// group: the mean and population std of the subsets' best rewards, and each
// completion's mean over the subsets that hold it.
func passKBrute(r []float64, k int, eps float64) []float64 {
	G := len(r)
	var best []float64  // per subset
	var members [][]int // per subset
	for mask := 0; mask < 1<<G; mask++ {
		var m []int
		for i := range G {
			if mask&(1<<i) != 0 {
				m = append(m, i)
			}
		}
		if len(m) != k {
			continue
		}
		b := math.Inf(-1)
		for _, i := range m {
			b = math.Max(b, r[i])
		}
		best, members = append(best, b), append(members, m)
	}
	var mean, ss float64
	for _, b := range best {
		mean += b
	}
	mean /= float64(len(best))
	for _, b := range best {
		ss += (b - mean) * (b - mean)
	}
	sigma := math.Sqrt(ss / float64(len(best)))
	a := make([]float64, G)
	if sigma == 0 {
		return a
	}
	for i := range G {
		var sum float64
		n := 0
		for s, m := range members {
			for _, j := range m {
				if j == i {
					sum += best[s]
					n++
				}
			}
		}
		a[i] = (sum/float64(n) - mean) / (sigma + eps)
	}
	return a
}

func TestPassKAgainstEnumeration(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 0))
	for _, G := range []int{2, 3, 5, 8} {
		for k := 1; k <= G; k++ {
			for trial := range 4 {
				r := make([]float64, G)
				for i := range r {
					// Few distinct values, so ties are common; trial 3 is 0/1.
					r[i] = []float64{0, 0.1, 1, 1.1}[rng.IntN(4)]
					if trial == 3 {
						r[i] = float64(rng.IntN(2))
					}
				}
				got := make([]float64, G)
				Advantages(got, r, nil, G, AdvantageConfig{Estimator: EstPassK, K: k, Eps: 1e-3})
				want := passKBrute(r, k, 1e-3)
				for i := range got {
					if !closeTo(got[i], want[i], 1e-12) {
						t.Errorf("G=%d k=%d r=%v: A[%d] = %v, want %v (enumeration)", G, k, r, i, got[i], want[i])
					}
				}
			}
		}
	}
}

func TestPassKClosedForm(t *testing.T) {
	// Chen et al. 2025's closed form for 0/1 rewards, G = 8, k = 4, N_neg = 5:
	// R = 1 - C(5,4)/C(8,4) = 1 - 5/70 = 13/14, sigma = sqrt(R(1-R)),
	// A_pos = (1-R)/sigma, A_neg = (1 - R - C(4,3)/C(7,3))/sigma = (1/14 - 4/35)/sigma.
	r := []float64{1, 0, 0, 1, 0, 0, 1, 0}
	R := 13.0 / 14
	sigma := math.Sqrt(R * (1 - R))
	pos, neg := (1-R)/sigma, (1-R-4.0/35)/sigma
	got := make([]float64, 8)
	Advantages(got, r, nil, 8, AdvantageConfig{Estimator: EstPassK, K: 4})
	for i, x := range r {
		want := neg
		if x == 1 {
			want = pos
		}
		if !closeTo(got[i], want, 1e-13) {
			t.Errorf("A[%d] = %v, want %v", i, got[i], want)
		}
	}
	// k = 1 is GRPO with the population std: [1, 0, 0, 0] has mean 1/4 and
	// population std sqrt(3)/4, so A = (3/4)/(sqrt3/4) = sqrt3 and -1/sqrt3.
	got = got[:4]
	Advantages(got, []float64{1, 0, 0, 0}, nil, 4, AdvantageConfig{Estimator: EstPassK, K: 1})
	for i, want := range []float64{math.Sqrt(3), -1 / math.Sqrt(3), -1 / math.Sqrt(3), -1 / math.Sqrt(3)} {
		if !closeTo(got[i], want, 1e-13) {
			t.Errorf("k=1: A[%d] = %v, want %v", i, got[i], want)
		}
	}
}

func TestEstimatorsZeroVarianceGroup(t *testing.T) {
	// 0.1*3/3 != 0.1: a naive r - mean is not 0. RLOO and passk give a
	// constant group exactly 0; reinforce_pp does too when lengths are
	// equal (the batch mean is then 0, see its doc), and a batch of only
	// constant groups gets 0 whatever the lengths.
	r := []float64{0.1, 0.1, 0.1, 0.1, 1, 0, 0.5, 0.5}
	lens := []int{3, 3, 3, 3, 3, 3, 3, 3}
	for _, cfg := range []AdvantageConfig{{Estimator: EstRLOO}, {Estimator: EstReinforcePP}, {Estimator: EstPassK, K: 2}, {Estimator: EstPassK, K: 4}} {
		got := make([]float64, len(r))
		Advantages(got, r, lens, 4, cfg)
		for i := range 4 {
			if got[i] != 0 {
				t.Errorf("%s k=%d: A[%d] = %v, want 0", cfg.Estimator, cfg.K, i, got[i])
			}
		}
		if cfg.K == 4 { // k = G: one subset, no signal
			for i := 4; i < 8; i++ {
				if got[i] != 0 {
					t.Errorf("passk k=G: A[%d] = %v, want 0", i, got[i])
				}
			}
		} else if got[4] <= 0 {
			t.Errorf("%s k=%d: the best completion of a mixed group has A = %v, want > 0", cfg.Estimator, cfg.K, got[4])
		}
	}
	got := make([]float64, 4)
	Advantages(got, []float64{0.1, 0.1, 1, 1}, []int{1, 5, 2, 9}, 2, AdvantageConfig{Estimator: EstReinforcePP})
	for i, a := range got {
		if a != 0 {
			t.Errorf("reinforce_pp, all groups constant: A[%d] = %v, want 0", i, a)
		}
	}
	// passk: three of four share the best reward, so every 2-subset holds
	// one: all subsets score the same and the group carries no pass@2
	// signal. Exactly 0, though 1.1, 0.1 leave sigma at rounding level.
	Advantages(got, []float64{1.1, 1.1, 0.1, 1.1}, nil, 4, AdvantageConfig{Estimator: EstPassK, K: 2, Eps: 1e-4})
	for i, a := range got {
		if a != 0 {
			t.Errorf("passk, every subset holds the best: A[%d] = %v, want 0", i, a)
		}
	}
	// No tokens at all: nothing to whiten over (not 0/0).
	Advantages(got, []float64{1, 0, 0, 1}, []int{0, 0, 0, 0}, 2, AdvantageConfig{Estimator: EstReinforcePP})
	for i, a := range got {
		if a != 0 {
			t.Errorf("reinforce_pp, no tokens: A[%d] = %v, want 0", i, a)
		}
	}
}

func TestEstimatorsConfigAndPanics(t *testing.T) {
	for _, tc := range []struct {
		cfg  AdvantageConfig
		want string
	}{
		{AdvantageConfig{Estimator: EstRLOO, Scale: ScaleGroup}, ""},
		{AdvantageConfig{Estimator: EstPassK, Scale: ScaleGroup, K: 1}, ""},
		{AdvantageConfig{Estimator: EstPassK, Scale: ScaleGroup, K: 0}, "passk k 0: want 1 to the group size"},
		{AdvantageConfig{Estimator: "ppo", Scale: ScaleGroup}, `unknown advantage estimator "ppo": want grpo, rloo, reinforce_pp or passk`},
	} {
		err := tc.cfg.Validate()
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: Validate() = %v, want %q", tc.cfg, err, tc.want)
		}
	}
	r := []float64{1, 0, 0, 1}
	for name, f := range map[string]func(){
		"passk k > G":          func() { Advantages(make([]float64, 4), r, nil, 2, AdvantageConfig{Estimator: EstPassK, K: 3}) },
		"passk aliased":        func() { Advantages(r, r, nil, 2, AdvantageConfig{Estimator: EstPassK, K: 1}) },
		"reinforce_pp no lens": func() { Advantages(make([]float64, 4), r, nil, 2, AdvantageConfig{Estimator: EstReinforcePP}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestEstimatorsAllocs(t *testing.T) {
	r := randomRealRewards(64*8, 1)
	lens := make([]int, len(r))
	for i := range lens {
		lens[i] = 1 + i%7
	}
	dst := make([]float64, len(r))
	for _, cfg := range []AdvantageConfig{{Estimator: EstRLOO}, {Estimator: EstReinforcePP, Eps: 1e-4}, {Estimator: EstPassK, K: 4, Eps: 1e-4}} {
		if n := testing.AllocsPerRun(10, func() { Advantages(dst, r, lens, 8, cfg) }); n != 0 {
			t.Errorf("%s: Advantages allocates %v times, want 0", cfg.Estimator, n)
		}
	}
}

// randomRealRewards returns n rewards from a few values, as the verifier
// with a format bonus gives them (ties are common).
func randomRealRewards(n int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	r := make([]float64, n)
	for i := range r {
		r[i] = []float64{0, 0.1, 1.1, -0.5, 0.37}[rng.IntN(5)]
	}
	return r
}

func TestGroupHasSignal(t *testing.T) {
	for _, tc := range []struct {
		r    []float64
		cfg  AdvantageConfig
		want bool
	}{
		{[]float64{1, 1, 1, 1}, AdvantageConfig{Estimator: EstGRPO, Scale: ScaleGroup}, false},
		{[]float64{1, 0, 1, 1}, AdvantageConfig{Estimator: EstGRPO, Scale: ScaleGroup}, true},
		{[]float64{1, 0, 1, 1}, AdvantageConfig{Estimator: EstRLOO}, true},
		{[]float64{1, 0, 1, 1}, AdvantageConfig{Estimator: EstReinforcePP}, true},
		{[]float64{0.1, 0.1, 0.1, 0.1}, AdvantageConfig{Estimator: EstPassK, K: 2}, false},
		{[]float64{1, 0, 0, 1}, AdvantageConfig{Estimator: EstPassK, K: 2}, true},    // {0, 0} misses
		{[]float64{1, 0, 1, 1}, AdvantageConfig{Estimator: EstPassK, K: 2}, false},   // every pair holds a 1
		{[]float64{1, 0, 1, 1}, AdvantageConfig{Estimator: EstPassK, K: 1}, true},    // k = 1: GRPO
		{[]float64{1.1, 0, 1, 0}, AdvantageConfig{Estimator: EstPassK, K: 4}, false}, // k = G: one subset
	} {
		if got := GroupHasSignal(tc.r, tc.cfg); got != tc.want {
			t.Errorf("%s k=%d %v: GroupHasSignal = %v, want %v", tc.cfg.Estimator, tc.cfg.K, tc.r, got, tc.want)
		}
		// It says whether the estimator gives the group a nonzero advantage.
		if tc.cfg.Estimator == EstReinforcePP {
			continue // its advantages depend on the batch
		}
		a := make([]float64, len(tc.r))
		Advantages(a, tc.r, nil, len(tc.r), tc.cfg)
		if nonzero := slices.ContainsFunc(a, func(x float64) bool { return x != 0 }); nonzero != tc.want {
			t.Errorf("%s k=%d %v: advantages %v, GroupHasSignal %v", tc.cfg.Estimator, tc.cfg.K, tc.r, a, tc.want)
		}
	}
}

// TestPassKLargeGroup: passk stays finite and accurate for large groups.
// At G = 1024, C(G, k) near k = G/2 is about 4.5e306 and its running
// product overflows float64 (a reward above 1 times such a count sooner);
// and where almost every k-subset passes (G = 64, k = 32, half correct:
// 1 - R = 1/C(64,32), about 5e-19) R rounds to 1, so R and sigma must not
// come from sums that cancel. For rewards {0, c} and eps 0 the advantages
// do not depend on c: the paper's closed form, with 1 - R = C(N_neg,k)/C(G,k)
// taken as a product of ratios, to 1e-9 relative.
func TestPassKLargeGroup(t *testing.T) {
	for _, tc := range []struct{ G, k, every int }{
		{1024, 2, 4}, {1024, 300, 4}, {1024, 512, 4}, {1024, 700, 4}, {1024, 512, 2}, {64, 32, 2}, {64, 10, 3}, {8, 4, 2},
	} {
		G, k := tc.G, tc.k
		for _, c := range []float64{1, 50} {
			r := make([]float64, G)
			nNeg := 0
			for i := range r {
				if i%tc.every == tc.every-1 {
					r[i] = c
				} else {
					nNeg++
				}
			}
			got := make([]float64, G)
			Advantages(got, r, nil, G, AdvantageConfig{Estimator: EstPassK, K: k})
			miss, missI := 1.0, 1.0 // C(nNeg,k)/C(G,k) = 1 - R, C(nNeg-1,k-1)/C(G-1,k-1)
			for i := range k {
				miss *= float64(nNeg-i) / float64(G-i)
			}
			for i := range k - 1 {
				missI *= float64(nNeg-1-i) / float64(G-1-i)
			}
			sigma := math.Sqrt((1 - miss) * miss)
			pos, neg := miss/sigma, (miss-missI)/sigma
			for i, x := range r {
				want := neg
				if x == c {
					want = pos
				}
				if !(math.Abs(got[i]-want) <= 1e-9*math.Abs(want)) {
					t.Fatalf("G=%d k=%d c=%v: A[%d] = %v, want %v", G, k, c, i, got[i], want)
				}
			}
		}
	}
}
