package objective

import (
	"strings"
	"testing"

	"tinyr1/data"
)

func TestOverlongPenalty(t *testing.T) {
	// L_max = 20, L_cache = 5: free up to 15, then (15 - n)/5, -1 beyond 20.
	tests := []struct {
		n    int
		want float64
	}{
		{0, 0}, {15, 0}, {16, -0.2}, {18, -0.6}, {20, -1}, {21, -1}, {100, -1},
	}
	for _, tc := range tests {
		if got := OverlongPenalty(tc.n, 20, 5); !closeTo(got, tc.want, 1e-15) {
			t.Errorf("OverlongPenalty(%d, 20, 5) = %v, want %v", tc.n, got, tc.want)
		}
	}
}

func TestScore(t *testing.T) {
	cfg := RewardConfig{Correct: 1, Format: 0.5, FormatBad: -1, Length: 0.1, LengthScale: 100,
		Overlong: 1, OverlongMax: 20, OverlongCache: 5}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		o    Outcome
		want RewardParts
	}{
		// correct 1, format 1, length -10/100, overlong 0: 1 + 0.5 - 0.01 = 1.49.
		{"correct short", Outcome{data.Verdict{Correct: true, FormatOK: true}, 10, false},
			RewardParts{1, 1, -0.1, 0, 1.49}},
		// wrong, format ok, len 18: overlong -0.6; total 0.5 - 0.018 - 0.6 = -0.118.
		{"wrong in window", Outcome{data.Verdict{FormatOK: true}, 18, false},
			RewardParts{0, 1, -0.18, -0.6, -0.118}},
		// bad format: format term -1 weighted 0.5; len 4: -0.004; total -0.504.
		{"bad format", Outcome{data.Verdict{Reason: "no answer block"}, 4, false},
			RewardParts{0, -1, -0.04, 0, -0.504}},
		// truncated at 20 with a verdict of correct: no correctness and no format reward
		// (the contract ends with EOS): -0.5 - 0.02 - 1 = -1.52.
		{"truncated", Outcome{data.Verdict{Correct: true, FormatOK: true}, 20, true},
			RewardParts{0, -1, -0.2, -1, -1.52}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := cfg.Score(tc.o)
			g := []float64{got.Correct, got.Format, got.Length, got.Overlong, got.Total}
			w := []float64{tc.want.Correct, tc.want.Format, tc.want.Length, tc.want.Overlong, tc.want.Total}
			for i := range g {
				if !closeTo(g[i], w[i], 1e-12) {
					t.Errorf("parts = %+v, want %+v", got, tc.want)
					break
				}
			}
		})
	}
}

func TestScoreDefault(t *testing.T) {
	// Defaults: correct 1, format 0.1, nothing else: 1.1, 0.1, 0.
	cfg := DefaultRewardConfig()
	outs := []Outcome{
		{Verdict: data.Verdict{Correct: true, FormatOK: true}, Len: 500},
		{Verdict: data.Verdict{FormatOK: true}, Len: 500},
		{Len: 500, Truncated: true},
	}
	dst := make([]float64, 3)
	parts := make([]RewardParts, 3)
	cfg.ScoreBatch(dst, parts, outs)
	want := []float64{1.1, 0.1, 0}
	for i := range dst {
		if !closeTo(dst[i], want[i], 1e-15) || parts[i].Total != dst[i] {
			t.Errorf("reward[%d] = %v (parts %+v), want %v", i, dst[i], parts[i], want[i])
		}
	}
	cfg.ScoreBatch(dst, nil, outs) // parts may be nil
	if n := testing.AllocsPerRun(10, func() { cfg.ScoreBatch(dst, parts, outs) }); n != 0 {
		t.Errorf("ScoreBatch allocates %v times, want 0", n)
	}
}

func TestRewardConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  RewardConfig
		want string
	}{
		{"default", DefaultRewardConfig(), ""},
		{"negative weight", RewardConfig{Correct: -1}, "reward weight correct = -1: want a finite value >= 0"},
		{"format_bad", RewardConfig{Correct: 1, FormatBad: 0.5}, "format_bad = 0.5: want a finite value <= 0"},
		{"length scale", RewardConfig{Correct: 1, Length: 0.1}, "length_scale = 0: want > 0"},
		{"overlong max", RewardConfig{Correct: 1, Overlong: 1}, "overlong_max = 0: want > 0"},
		{"overlong cache", RewardConfig{Correct: 1, Overlong: 1, OverlongMax: 10, OverlongCache: 11}, "overlong_cache = 11: want a value in [1, overlong_max = 10]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

func BenchmarkScoreBatch(b *testing.B) {
	cfg := RewardConfig{Correct: 1, Format: 0.1, Overlong: 1, OverlongMax: 256, OverlongCache: 64}
	outs := make([]Outcome, 128)
	for i := range outs {
		outs[i] = Outcome{Verdict: data.Verdict{Correct: i%3 == 0, FormatOK: i%2 == 0}, Len: 2 * i}
	}
	dst := make([]float64, len(outs))
	parts := make([]RewardParts, len(outs))
	b.ReportAllocs()
	for b.Loop() {
		cfg.ScoreBatch(dst, parts, outs)
	}
}
