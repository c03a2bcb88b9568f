package model

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

func TestSampleConfigValidate(t *testing.T) {
	ok := DefaultSampleConfig()
	if err := ok.Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	greedy0 := ok
	greedy0.Greedy, greedy0.Temperature = true, 0
	if err := greedy0.Validate(); err != nil {
		t.Errorf("greedy with temperature 0: %v", err)
	}
	tests := []struct {
		name string
		f    func(*SampleConfig)
	}{
		{"temperature 0", func(c *SampleConfig) { c.Temperature = 0 }},
		{"temperature NaN", func(c *SampleConfig) { c.Temperature = float32(math.NaN()) }},
		{"temperature negative greedy", func(c *SampleConfig) { c.Greedy, c.Temperature = true, -1 }},
		{"top_k negative", func(c *SampleConfig) { c.TopK = -1 }},
		{"top_p 0", func(c *SampleConfig) { c.TopP = 0 }},
		{"top_p above 1", func(c *SampleConfig) { c.TopP = 1.5 }},
		{"min_p 1", func(c *SampleConfig) { c.MinP = 1 }},
		{"max_new 0", func(c *SampleConfig) { c.MaxNew = 0 }},
		{"eos -2", func(c *SampleConfig) { c.EOS = -2 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.f(&c)
			if err := c.Validate(); err == nil {
				t.Errorf("%+v: got nil error", c)
			} else {
				t.Log(err)
			}
		})
	}
}

// engRefSampleDist is the sampling distribution built the obvious way: full
// softmax in float64, sort by probability (ties: lower id first), cut
// top-k, cut top-p on the renormalised top-k mass, cut min-p, renormalise.
func engRefSampleDist(z []float32, c SampleConfig) []float64 {
	V := len(z)
	T := float64(c.Temperature)
	mx := math.Inf(-1)
	for _, v := range z {
		mx = math.Max(mx, float64(v)/T)
	}
	p := make([]float64, V)
	sum := 0.0
	for i, v := range z {
		p[i] = math.Exp(float64(v)/T - mx)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
	order := make([]int, V)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return p[order[a]] > p[order[b]] })
	keep := V
	if c.TopK > 0 && c.TopK < V {
		keep = c.TopK
	}
	massK := 0.0
	for _, i := range order[:keep] {
		massK += p[i]
	}
	if c.TopP < 1 {
		cum := 0.0
		for n, i := range order[:keep] {
			cum += p[i]
			if cum >= float64(c.TopP)*massK {
				keep = n + 1
				break
			}
		}
	}
	pmax := p[order[0]]
	q := make([]float64, V)
	mass := 0.0
	for _, i := range order[:keep] {
		if p[i] >= float64(c.MinP)*pmax {
			q[i] = p[i]
			mass += p[i]
		}
	}
	for i := range q {
		q[i] /= mass
	}
	return q
}

// TestSampleTokenDistribution checks, for each truncation setting, that
// every draw is in the support of the reference distribution, that its
// LogP and Entropy are that distribution's (to 1e-5), and that the
// empirical frequencies match it (within 5 standard errors + 0.002).
func TestSampleTokenDistribution(t *testing.T) {
	const V, draws = 30, 20000
	rng := rand.New(rand.NewPCG(1, 2))
	z := make([]float32, V)
	for i := range z {
		z[i] = float32(2 * rng.NormFloat64())
	}
	z[7] = z[3] // a tie
	for _, c := range engSampleConfigs {
		if c.sc.Greedy {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			want := engRefSampleDist(z, c.sc)
			H := 0.0
			for _, q := range want {
				if q > 0 {
					H -= q * math.Log(q)
				}
			}
			p, idx := make([]float64, V), make([]int32, V)
			var stream rand.PCG
			stream.Seed(5, rngStream)
			count := make([]int, V)
			for range draws {
				tok, lp, ent := sampleToken(z, &c.sc, &stream, p, idx)
				if want[tok] == 0 {
					t.Fatalf("drew token %d outside the support", tok)
				}
				if d := math.Abs(float64(lp) - math.Log(want[tok])); d > 1e-5 {
					t.Fatalf("token %d: LogP %g, want %g", tok, lp, math.Log(want[tok]))
				}
				if d := math.Abs(float64(ent) - H); d > 1e-5 {
					t.Fatalf("entropy %g, want %g", ent, H)
				}
				count[tok]++
			}
			for i, q := range want {
				f := float64(count[i]) / draws
				se := math.Sqrt(q * (1 - q) / draws)
				if math.Abs(f-q) > 5*se+0.002 {
					t.Errorf("token %d: frequency %.4f, want %.4f", i, f, q)
				}
			}
		})
	}
}

func TestSampleGreedy(t *testing.T) {
	z := []float32{0.5, 2, -1, 2, 1}
	p, idx := make([]float64, len(z)), make([]int32, len(z))
	c := SampleConfig{Greedy: true, Temperature: 0, TopP: 1, MaxNew: 1, EOS: -1}
	tok, lp, ent := sampleToken(z, &c, nil, p, idx)
	if tok != 1 {
		t.Errorf("greedy token %d, want 1 (the lower id of a tie)", tok)
	}
	want := engRefSampleDist(z, SampleConfig{Temperature: 1, TopP: 1})
	H := 0.0
	for _, q := range want {
		H -= q * math.Log(q)
	}
	if math.Abs(float64(lp)-math.Log(want[1])) > 1e-6 || math.Abs(float64(ent)-H) > 1e-6 {
		t.Errorf("greedy LogP %g Entropy %g, want the temperature-1 values %g %g", lp, ent, math.Log(want[1]), H)
	}
}

func TestSampleAllocs(t *testing.T) {
	z := make([]float32, 100)
	for i := range z {
		z[i] = float32(i%17) * 0.3
	}
	p, idx := make([]float64, len(z)), make([]int32, len(z))
	var stream rand.PCG
	for _, c := range engSampleConfigs {
		if a := testing.AllocsPerRun(100, func() { sampleToken(z, &c.sc, &stream, p, idx) }); a != 0 {
			t.Errorf("%s: sampleToken allocates %v times, want 0", c.name, a)
		}
	}
}

func TestSeedFor(t *testing.T) {
	seen := map[uint64]bool{}
	for step := range 4 {
		for prompt := range 8 {
			for sample := range 8 {
				s := SeedFor(1, step, prompt, sample)
				if seen[s] {
					t.Fatalf("SeedFor(1, %d, %d, %d) repeats a seed", step, prompt, sample)
				}
				seen[s] = true
			}
		}
	}
	if SeedFor(1, 0, 1, 0) == SeedFor(1, 0, 0, 1) {
		t.Errorf("prompt and sample index are interchangeable")
	}
}

func BenchmarkSampleToken(b *testing.B) {
	z := make([]float32, 128)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range z {
		z[i] = float32(rng.NormFloat64())
	}
	p, idx := make([]float64, len(z)), make([]int32, len(z))
	var stream rand.PCG
	for _, c := range engSampleConfigs {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sampleToken(z, &c.sc, &stream, p, idx)
			}
		})
	}
}

// TestSoftmaxStatsOneExp: softmaxStats (behind Generate's sampling and
// Score's logProbOf) gives bitwise what one math.Exp per logit gave, with
// the vector exp on and off, for widths not multiples of 4 and logits whose
// exps underflow (groups that fall back to math.Exp).
func TestSoftmaxStatsOneExp(t *testing.T) {
	defer func(v bool) { exp64Asm = v }(exp64Asm)
	rng := rand.New(rand.NewPCG(5, 64))
	for _, V := range []int{1, 5, 103, 1001} {
		for _, spread := range []float64{3, 800} {
			for _, T := range []float64{1, 0.3} {
				z := make([]float32, V)
				for i := range z {
					z[i] = float32(spread * rng.NormFloat64())
				}
				am := 0
				for i, v := range z {
					if v > z[am] {
						am = i
					}
				}
				want := make([]float64, V)
				var wantSum float64
				for i, v := range z {
					want[i] = math.Exp((float64(v) - float64(z[am])) / T)
					wantSum += want[i]
				}
				for _, on := range []bool{true, false} {
					exp64Asm = on
					p := make([]float64, V+3)
					gotAm, sum := softmaxStats(p, z, T)
					if gotAm != am || math.Float64bits(sum) != math.Float64bits(wantSum) {
						t.Fatalf("V=%d spread %g T=%g asm %v: argmax %d sum %v, one exp at a time %d %v", V, spread, T, on, gotAm, sum, am, wantSum)
					}
					for i := range want {
						if math.Float64bits(p[i]) != math.Float64bits(want[i]) {
							t.Fatalf("V=%d spread %g T=%g asm %v: p[%d] = %v, one exp at a time %v", V, spread, T, on, i, p[i], want[i])
						}
					}
				}
			}
		}
	}
}
