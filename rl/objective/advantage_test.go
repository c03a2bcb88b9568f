package objective

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func closeTo(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

func TestAdvantages(t *testing.T) {
	// Hand computation, sample std (n-1):
	//   [1,0,0,0]: mean 1/4, deviations 3/4, -1/4 x3, sum of squares 9/16+3/16 = 3/4,
	//              var = (3/4)/3 = 1/4, std = 1/2 -> A = 3/2, -1/2, -1/2, -1/2.
	//   [1,1,0,0]: mean 1/2, deviations +-1/2, sum of squares 1, var 1/3,
	//              std = 1/sqrt(3) -> A = +-(1/2)sqrt(3) = +-sqrt(3)/2.
	//   [1,1,1,1]: zero variance -> exactly 0.
	// Batch of all 12: three ones in the first two groups plus four = 7 ones,
	//   5 zeros, mean 7/12; sum of squares 7*(5/12)^2 + 5*(7/12)^2 = (175+245)/144
	//   = 420/144 = 35/12; var = (35/12)/11 = 35/132; std = sqrt(35/132).
	r := []float64{1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1}
	s3 := math.Sqrt(3) / 2
	bs := math.Sqrt(35.0 / 132)
	tests := []struct {
		name string
		cfg  AdvantageConfig
		want []float64
	}{
		{"group eps 0", AdvantageConfig{Scale: ScaleGroup}, []float64{1.5, -.5, -.5, -.5, s3, s3, -s3, -s3, 0, 0, 0, 0}},
		{"group eps 0.5", AdvantageConfig{Scale: ScaleGroup, Eps: 0.5},
			// 3/4 / (1/2 + 1/2) = 3/4; 1/2 / (1/sqrt3 + 1/2)
			[]float64{.75, -.25, -.25, -.25, .5 / (1/math.Sqrt(3) + .5), .5 / (1/math.Sqrt(3) + .5), -.5 / (1/math.Sqrt(3) + .5), -.5 / (1/math.Sqrt(3) + .5), 0, 0, 0, 0}},
		{"batch", AdvantageConfig{Scale: ScaleBatch}, []float64{.75 / bs, -.25 / bs, -.25 / bs, -.25 / bs, .5 / bs, .5 / bs, -.5 / bs, -.5 / bs, 0, 0, 0, 0}},
		{"none", AdvantageConfig{Scale: ScaleNone, Eps: 1}, []float64{.75, -.25, -.25, -.25, .5, .5, -.5, -.5, 0, 0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := make([]float64, len(r))
			Advantages(got, r, nil, 4, tc.cfg)
			for i := range got {
				if !closeTo(got[i], tc.want[i], 1e-12) {
					t.Errorf("A[%d] = %v, want %v", i, got[i], tc.want[i])
				}
			}
			// In place gives the same.
			in := append([]float64(nil), r...)
			Advantages(in, in, nil, 4, tc.cfg)
			for i := range in {
				if in[i] != got[i] {
					t.Errorf("in place A[%d] = %v, want %v", i, in[i], got[i])
				}
			}
		})
	}
}

func TestAdvantagesConstantGroupIsExactlyZero(t *testing.T) {
	// 0.1*3/3 != 0.1 in floating point: a naive r - mean would give tiny
	// nonzero advantages amplified by 1/eps.
	r := []float64{0.1, 0.1, 0.1, 0.7, 0.7, 0.7}
	got := make([]float64, len(r))
	for _, s := range []string{ScaleGroup, ScaleBatch, ScaleNone} {
		Advantages(got, r, nil, 3, AdvantageConfig{Scale: s})
		for i, a := range got {
			if a != 0 {
				t.Errorf("%s: A[%d] = %v, want 0", s, i, a)
			}
		}
	}
	// Group size 1: every group is constant.
	Advantages(got, r, nil, 1, DefaultAdvantageConfig())
	for i, a := range got {
		if a != 0 {
			t.Errorf("G=1: A[%d] = %v, want 0", i, a)
		}
	}
}

func TestZeroVariance(t *testing.T) {
	// Groups of 2: [1,1] constant, [0,1] not, [0,0] constant, [.5,.5] constant.
	r := []float64{1, 1, 0, 1, 0, 0, .5, .5}
	if got := ZeroVarianceGroups(r, 2); got != 3 {
		t.Errorf("ZeroVarianceGroups = %d, want 3", got)
	}
	for g, want := range []int{1, 0, 1, 1} {
		if got := ZeroVarianceGroups(r[2*g:2*g+2], 2); got != want {
			t.Errorf("ZeroVarianceGroups(group %d) = %d, want %d", g, got, want)
		}
	}
}

func TestAdvantageConfigValidate(t *testing.T) {
	tests := []struct {
		cfg  AdvantageConfig
		want string // substring of the error, "" for none
	}{
		{DefaultAdvantageConfig(), ""},
		{AdvantageConfig{Scale: "none"}, ""},
		{AdvantageConfig{Scale: "grp"}, `unknown advantage scale "grp": want group, batch or none`},
		{AdvantageConfig{Scale: "group", Eps: -1}, "want a finite value >= 0"},
		{AdvantageConfig{Scale: "group", Eps: math.NaN()}, "want a finite value >= 0"},
	}
	for _, tc := range tests {
		err := tc.cfg.Validate()
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: Validate() = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestAdvantagesPanicsOnShape(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for 5 rewards in groups of 2")
		}
	}()
	Advantages(make([]float64, 5), make([]float64, 5), nil, 2, DefaultAdvantageConfig())
}

func TestAdvantagesAllocs(t *testing.T) {
	r := randomRewards(64*8, 1)
	dst := make([]float64, len(r))
	for _, s := range []string{ScaleGroup, ScaleBatch, ScaleNone} {
		cfg := AdvantageConfig{Scale: s, Eps: 1e-4}
		if n := testing.AllocsPerRun(10, func() { Advantages(dst, r, nil, 8, cfg) }); n != 0 {
			t.Errorf("%s: Advantages allocates %v times, want 0", s, n)
		}
	}
}

func randomRewards(n int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 0))
	r := make([]float64, n)
	for i := range r {
		r[i] = float64(rng.IntN(2))
	}
	return r
}

func BenchmarkAdvantages(b *testing.B) {
	for _, size := range []struct {
		name string
		p, g int
	}{{"P16G8", 16, 8}, {"P64G16", 64, 16}} {
		b.Run(size.name, func(b *testing.B) {
			r := randomRewards(size.p*size.g, 1)
			dst := make([]float64, len(r))
			b.ReportAllocs()
			for b.Loop() {
				Advantages(dst, r, nil, size.g, DefaultAdvantageConfig())
			}
		})
	}
}
