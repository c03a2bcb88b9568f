package train

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"tinyr1/rl/objective"
)

// controlTrainer is a trainer with only what controlRewards reads.
func controlTrainer(reward string, p float64, step int) *Trainer {
	cfg := DefaultTrainConfig()
	cfg.Seed = 7
	cfg.Reward, cfg.RandomP = reward, p
	return &Trainer{Cfg: cfg, Step: step}
}

// distinctGroups returns n groups of G rewards 1000*i + s, all distinct.
func distinctGroups(n, G int) []group {
	gs := make([]group, n)
	for i := range gs {
		gs[i] = group{index: i, rewards: make([]float64, G), parts: make([]objective.RewardParts, G)}
		for s := range G {
			gs[i].rewards[s] = float64(1000*i + s)
		}
	}
	return gs
}

// TestShuffleRewardsWithinGroups: every group keeps its own multiset (so a
// shuffle across groups fails), and the permutation is uniform: over 4,000
// groups of 4, reward s lands at position k a quarter of the time. 1,000 is
// expected per cell with a standard deviation of 27; the tolerance is 150
// (5.5 sd). A no-op (every reward stays: 4,000 and 0) and a fixed rotation
// fail by far.
func TestShuffleRewardsWithinGroups(t *testing.T) {
	const n, G = 4000, 4
	tr := controlTrainer(objective.RewardShuffle, DefaultRandomP, 3)
	gs := distinctGroups(n, G)
	var count [G][G]int // [reward s][position k]
	for i := range gs {
		tr.controlRewards(&gs[i])
		got := slices.Clone(gs[i].rewards)
		slices.Sort(got)
		for s := range G {
			if got[s] != float64(1000*i+s) {
				t.Fatalf("group %d after the shuffle holds %v, want a permutation of its own rewards %d..%d", i, gs[i].rewards, 1000*i, 1000*i+G-1)
			}
		}
		for k, r := range gs[i].rewards {
			count[int(r)-1000*i][k]++
		}
	}
	for s := range G {
		for k := range G {
			if c := count[s][k]; math.Abs(float64(c)-n/G) > 150 {
				t.Errorf("reward %d landed at position %d in %d of %d groups, want %d +- 150 (uniform permutation)", s, k, c, n, n/G)
			}
		}
	}
}

// bernoulliGroups: n groups of G outcomes whose real terms vary: correct on
// every other completion, format valid on every third, a length term.
func bernoulliGroups(n, G int) []group {
	gs := distinctGroups(n, G)
	for i := range gs {
		for s := range G {
			p := objective.RewardParts{Format: -1, Length: -float64(s) / 10}
			if (i+s)%2 == 0 {
				p.Correct = 1
			}
			if (i+s)%3 == 0 {
				p.Format = 1
			}
			gs[i].parts[s] = p
		}
	}
	return gs
}

// TestBernoulliRewards: each completion's correctness term is an
// independent Bernoulli(p) draw and the other terms are the real ones.
// Over 1,000 groups of 8 at p = 0.3, the rate has a standard deviation of
// 0.005 (0.007 for each half split by the real correctness); the tolerance
// 0.025 is 3.5 sd of a half and half of 0.05, the smallest error in p it
// must catch. The fraction of groups with both draws is 1 - p^8 - (1-p)^8 =
// 0.942, sd 0.0074, tolerance 0.03: a draw shared by a group gives 0.
func TestBernoulliRewards(t *testing.T) {
	const n, G, p = 1000, 8, 0.3
	tr := controlTrainer(objective.RewardBernoulli, p, 5)
	tr.Cfg.RewardFormat, tr.Cfg.RewardLength, tr.Cfg.MaxNew = 0.1, 0.5, 48
	rc := tr.Cfg.RewardConfig()
	gs := bernoulliGroups(n, G)
	var ones, mixed int
	var onesBy, nBy [2]int // by the real correctness
	for i := range gs {
		tr.controlRewards(&gs[i])
		groupOnes := 0
		for s, r := range gs[i].rewards {
			zero, one := gs[i].parts[s], gs[i].parts[s]
			zero.Correct, one.Correct = 0, 1
			real := int(gs[i].parts[s].Correct)
			nBy[real]++
			switch r {
			case rc.Total(zero):
			case rc.Total(one):
				ones++
				onesBy[real]++
				groupOnes++
			default:
				t.Fatalf("group %d completion %d: reward %v, want %v or %v (the real format and length terms with a correctness of 0 or 1)", i, s, r, rc.Total(zero), rc.Total(one))
			}
		}
		if groupOnes > 0 && groupOnes < G {
			mixed++
		}
	}
	if rate := float64(ones) / (n * G); math.Abs(rate-p) > 0.025 {
		t.Errorf("correctness rate %.4f over %d completions, want p = %v +- 0.025", rate, n*G, p)
	}
	for real := range 2 {
		if rate := float64(onesBy[real]) / float64(nBy[real]); math.Abs(rate-p) > 0.025 {
			t.Errorf("correctness rate %.4f among completions the verifier scored %d, want p = %v +- 0.025 (independent of the answer)", rate, real, p)
		}
	}
	want := 1 - math.Pow(p, G) - math.Pow(1-p, G)
	if frac := float64(mixed) / n; math.Abs(frac-want) > 0.03 {
		t.Errorf("groups with both rewards: %.3f, want 1 - p^G - (1-p)^G = %.3f +- 0.03 (independent draws)", frac, want)
	}
	for _, edge := range []float64{0, 1} {
		tr.Cfg.RandomP = edge
		g := bernoulliGroups(1, G)[0]
		tr.controlRewards(&g)
		for s, r := range g.rewards {
			q := g.parts[s]
			q.Correct = edge
			if r != rc.Total(q) {
				t.Errorf("p = %v: reward %v, want %v", edge, r, rc.Total(q))
			}
		}
	}
}

// TestControlRewardsDeterministic: the same (seed, step, prompt) gives the
// same rewards in a fresh trainer; another step or seed gives other ones.
func TestControlRewardsDeterministic(t *testing.T) {
	for _, reward := range []string{objective.RewardShuffle, objective.RewardBernoulli} {
		t.Run(reward, func(t *testing.T) {
			run := func(step int, seed uint64) []float64 {
				tr := controlTrainer(reward, 0.5, step)
				tr.Cfg.Seed = seed
				var out []float64
				gs := bernoulliGroups(64, 8)
				for i := range gs {
					tr.controlRewards(&gs[i])
					out = append(out, gs[i].rewards...)
				}
				return out
			}
			a := run(2, 7)
			if b := run(2, 7); !slices.Equal(a, b) {
				t.Fatal("the same seed and step gave different rewards")
			}
			if slices.Equal(a, run(3, 7)) || slices.Equal(a, run(2, 8)) {
				t.Fatal("another step or seed gave the same rewards: the draws do not depend on them")
			}
		})
	}
}

// TestVerifierRewardsUntouched: the real arm's rewards pass unchanged.
func TestVerifierRewardsUntouched(t *testing.T) {
	tr := controlTrainer(objective.RewardVerifier, DefaultRandomP, 1)
	g := distinctGroups(1, 8)[0]
	want := slices.Clone(g.rewards)
	tr.controlRewards(&g)
	if !slices.Equal(g.rewards, want) {
		t.Fatalf("verifier rewards %v, want %v", g.rewards, want)
	}
}

func TestRewardConfigKeys(t *testing.T) {
	mod := func(reward string, p float64) Config {
		c := DefaultTrainConfig()
		c.Reward, c.RandomP = reward, p
		return c
	}
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{mod(objective.RewardVerifier, DefaultRandomP), ""},
		{mod(objective.RewardShuffle, DefaultRandomP), ""},
		{mod(objective.RewardBernoulli, 0.3), ""},
		{mod(objective.RewardBernoulli, 0), ""},
		{mod(objective.RewardBernoulli, 1), ""},
		{mod("random", DefaultRandomP), "rl: config reward = random: want verifier, shuffle or bernoulli (random, a batch-wide shuffle, is gone"},
		{mod("coin", DefaultRandomP), "rl: config reward = coin: want verifier, shuffle or bernoulli"},
		{mod(objective.RewardBernoulli, 1.5), "rl: config random_p = 1.5: want a probability in [0, 1]"},
		{mod(objective.RewardBernoulli, math.NaN()), "rl: config random_p = NaN: want a probability in [0, 1]"},
		{mod(objective.RewardShuffle, -0.5), "rl: config random_p = -0.5: want a probability in [0, 1]"},
		{mod(objective.RewardVerifier, 0.3), "rl: config random_p = 0.3: want reward bernoulli to use it (reward = verifier)"},
	} {
		t.Run(fmt.Sprintf("%s/%v", tc.cfg.Reward, tc.cfg.RandomP), func(t *testing.T) {
			err := tc.cfg.Validate()
			if (err == nil) != (tc.want == "") || (err != nil && (!strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n"))) {
				t.Errorf("Validate() = %v, want one error starting %q", err, tc.want)
			}
		})
	}
}

// TestBernoulliDrawIsNewRands: the allocation-free draw is bit for bit the
// first Float64 of the stream newRand gives (so runs made before it keep
// their bits), and the bernoulli control allocates nothing per group.
func TestBernoulliDrawIsNewRands(t *testing.T) {
	for s := range uint64(2000) {
		p := float64(s%101) / 100
		want := newRand(7, streamBernoulli, s/8, s%8, s%3).Float64() < p
		if got := uniform(7, streamBernoulli, s/8, s%8, s%3) < p; got != want {
			t.Fatalf("draw %d at p %v: %v, newRand's %v", s, p, got, want)
		}
	}
	tr := controlTrainer(objective.RewardBernoulli, 0.5, 3)
	g := distinctGroups(1, 8)[0]
	if n := testing.AllocsPerRun(100, func() { tr.controlRewards(&g) }); n != 0 {
		t.Errorf("bernoulli control: %v allocations per group: want 0", n)
	}
}
