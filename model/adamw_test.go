package model

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// adamRef is a float64 transcription of the AdamW formula, one scalar at a time.
func adamRef(p, g, m, v float64, step int, lr float64, cfg AdamWConfig, decay bool) (np, nm, nv float64) {
	nm = cfg.Beta1*m + (1-cfg.Beta1)*g
	nv = cfg.Beta2*v + (1-cfg.Beta2)*g*g
	mh := nm / (1 - math.Pow(cfg.Beta1, float64(step)))
	vh := nv / (1 - math.Pow(cfg.Beta2, float64(step)))
	np = p
	if decay {
		np -= lr * cfg.WeightDecay * p
	}
	np -= lr * mh / (math.Sqrt(vh) + cfg.Eps)
	return np, nm, nv
}

func TestAdamWMatchesFormula(t *testing.T) {
	p := testParams(t, false, 12, 1)
	cfg := DefaultAdamWConfig()
	cfg.ClipNorm = 0.5
	o, err := NewAdamW(p, cfg)
	if err != nil {
		t.Fatal(err)
	}
	n := len(p.Data)
	grads := make([]float32, n)
	ref := make([]float64, n)
	m, v := make([]float64, n), make([]float64, n)
	for i, x := range p.Data {
		ref[i] = float64(x)
	}
	decay := make([]bool, n)
	for _, tn := range p.Tensors {
		for i := range tn.Data {
			decay[tn.Offset+i] = tn.Decay
		}
	}
	for step := 1; step <= 3; step++ {
		var ss float64
		for i := range grads {
			grads[i] = float32(math.Sin(float64(i*step)) * 0.01)
			ss += float64(grads[i]) * float64(grads[i])
		}
		norm := math.Sqrt(ss)
		scale := math.Min(1, cfg.ClipNorm/norm)
		g64 := make([]float64, n)
		for i, g := range grads {
			g64[i] = float64(g) * scale
		}
		lr := 0.01 * float64(step)
		got := o.Update(p.Data, grads, lr)
		if math.Abs(got-norm) > 1e-9*norm {
			t.Fatalf("step %d: grad norm %v, want %v", step, got, norm)
		}
		for i := range ref {
			ref[i], m[i], v[i] = adamRef(ref[i], g64[i], m[i], v[i], step, lr, cfg, decay[i])
		}
		for i, g := range grads {
			if g != 0 {
				t.Fatalf("step %d: grads[%d] = %v after Update, want 0", step, i, g)
			}
		}
	}
	if o.Step != 3 {
		t.Errorf("Step = %d, want 3", o.Step)
	}
	for i, x := range p.Data {
		if d := math.Abs(float64(x) - ref[i]); d > 1e-6 {
			t.Fatalf("param %d = %.9g, want %.9g (|diff| %.2g > 1e-6)", i, x, ref[i], d)
		}
	}
}

func TestAdamWDecayOnlyMatmulWeights(t *testing.T) {
	for _, all := range []bool{false, true} {
		p := testParams(t, true, 12, 2)
		before := append([]float32(nil), p.Data...)
		cfg := DefaultAdamWConfig()
		cfg.DecayAll = all
		o, err := NewAdamW(p, cfg)
		if err != nil {
			t.Fatal(err)
		}
		o.Update(p.Data, make([]float32, len(p.Data)), 0.1) // zero gradient: only decay moves params
		for _, tn := range p.Tensors {
			want := tn.Decay || all
			moved := false
			for i, x := range tn.Data {
				if x != before[tn.Offset+i] {
					moved = true
				}
			}
			if moved != want {
				t.Errorf("DecayAll=%v: %s moved = %v, want %v", all, tn.Name, moved, want)
			}
		}
	}
}

func TestAdamWNonFiniteSkips(t *testing.T) {
	p := testParams(t, true, 12, 3)
	o, err := NewAdamW(p, DefaultAdamWConfig())
	if err != nil {
		t.Fatal(err)
	}
	before := append([]float32(nil), p.Data...)
	grads := make([]float32, len(p.Data))
	grads[5] = float32(math.NaN())
	if norm := o.Update(p.Data, grads, 0.1); !math.IsNaN(norm) {
		t.Errorf("norm = %v, want NaN", norm)
	}
	grads[7] = float32(math.Inf(1))
	if norm := o.Update(p.Data, grads, 0.1); !math.IsInf(norm, 1) {
		t.Errorf("norm = %v, want +Inf", norm)
	}
	if o.Step != 0 {
		t.Errorf("Step = %d after skipped updates, want 0", o.Step)
	}
	for i, x := range p.Data {
		if x != before[i] {
			t.Fatalf("param %d changed on a skipped update", i)
		}
	}
	for i, m := range o.M {
		if m != 0 || o.V[i] != 0 {
			t.Fatalf("moments changed on a skipped update")
		}
	}
	for i, g := range grads {
		if g != 0 {
			t.Fatalf("grads[%d] = %v after a skipped update, want 0", i, g)
		}
	}
}

func TestAdamWUpdateAllocs(t *testing.T) {
	p := testParams(t, true, 12, 4)
	o, err := NewAdamW(p, DefaultAdamWConfig())
	if err != nil {
		t.Fatal(err)
	}
	grads := make([]float32, len(p.Data))
	allocs := testing.AllocsPerRun(20, func() {
		grads[3] = 0.5
		o.Update(p.Data, grads, 1e-3)
	})
	if allocs != 0 {
		t.Errorf("AdamW.Update allocs/op = %v, want 0", allocs)
	}
}

func TestAdamWConfigValidate(t *testing.T) {
	if err := DefaultAdamWConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	for name, mut := range map[string]func(*AdamWConfig){
		"negative lr":    func(c *AdamWConfig) { c.LR = -1 },
		"beta1 one":      func(c *AdamWConfig) { c.Beta1 = 1 },
		"beta2 negative": func(c *AdamWConfig) { c.Beta2 = -0.1 },
		"zero eps":       func(c *AdamWConfig) { c.Eps = 0 },
		"NaN decay":      func(c *AdamWConfig) { c.WeightDecay = math.NaN() },
		"negative clip":  func(c *AdamWConfig) { c.ClipNorm = -1 },
	} {
		t.Run(name, func(t *testing.T) {
			c := DefaultAdamWConfig()
			mut(&c)
			if err := c.Validate(); err == nil {
				t.Errorf("Validate(%+v) = nil, want an error", c)
			}
		})
	}
}

func TestSchedule(t *testing.T) {
	const base = 1.0
	for _, tc := range []struct {
		s    Schedule
		step int
		want float64
	}{
		{Schedule{Kind: "constant"}, 0, 1},
		{Schedule{Kind: "constant", Warmup: 4}, 0, 0.25},
		{Schedule{Kind: "constant", Warmup: 4}, 3, 1},
		{Schedule{Kind: "constant", Warmup: 4}, 1000, 1},
		{Schedule{Kind: "linear", Warmup: 2, Total: 12, MinLR: 0.1}, 1, 1},
		{Schedule{Kind: "linear", Warmup: 2, Total: 12, MinLR: 0.1}, 2, 1},
		{Schedule{Kind: "linear", Warmup: 2, Total: 12, MinLR: 0.1}, 7, 0.55},
		{Schedule{Kind: "linear", Warmup: 2, Total: 12, MinLR: 0.1}, 12, 0.1},
		{Schedule{Kind: "linear", Warmup: 2, Total: 12, MinLR: 0.1}, 50, 0.1},
		{Schedule{Kind: "cosine", Total: 10}, 0, 1},
		{Schedule{Kind: "cosine", Total: 10}, 5, 0.5},
		{Schedule{Kind: "cosine", Total: 10, MinLR: 0.2}, 10, 0.2},
	} {
		if err := tc.s.Validate(); err != nil {
			t.Fatalf("%+v: %v", tc.s, err)
		}
		if got := tc.s.LR(tc.step, base); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%+v.LR(%d) = %v, want %v", tc.s, tc.step, got, tc.want)
		}
	}
	for _, bad := range []Schedule{
		{Kind: "step"},
		{Kind: "cosine", Warmup: 10, Total: 10},
		{Kind: "constant", Warmup: -1},
		{Kind: "linear", Total: 5, MinLR: -1},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", bad)
		}
	}
}

// TestAdamWVecMatchesGo: adamwArr (8 lanes) gives adamwGo's bits on every
// element, with and without decay, on lengths that leave a Go tail, and on
// values that exercise the rounding: moments from 0 to large, tiny and
// subnormal gradients, a clipping scale below 1.
func TestAdamWVecMatchesGo(t *testing.T) {
	if !useAVX {
		t.Skip("no AVX2 on this CPU or build")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{8, 13, 64, 1001} {
		for _, decay := range []bool{false, true} {
			for step := 1; step <= 3; step++ {
				lr, b1, b2 := 3e-4*float64(step), 0.9, 0.95
				c := [9]float32{0.73, float32(b1), float32(1 - b1), float32(b2), float32(1 - b2),
					float32(1 - lr*0.1), float32(lr / (1 - math.Pow(b1, float64(step)))),
					float32(1 / math.Sqrt(1-math.Pow(b2, float64(step)))), 1e-8}
				var p, g, m, v [2][]float32
				p[0], g[0], m[0], v[0] = make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
				for i := range n {
					p[0][i] = float32(rng.NormFloat64())
					g[0][i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(12)-8)))
					m[0][i] = float32(rng.NormFloat64() * 1e-3)
					v[0][i] = float32(rng.ExpFloat64() * math.Pow(10, float64(rng.IntN(10)-9)))
					switch i % 7 {
					case 0:
						v[0][i] = 0
					case 1:
						g[0][i] = 1e-40 // subnormal
					case 2:
						m[0][i], g[0][i] = 0, 0
					}
				}
				p[1], g[1], m[1], v[1] = slices.Clone(p[0]), slices.Clone(g[0]), slices.Clone(m[0]), slices.Clone(v[0])
				adamwGo(p[0], g[0], m[0], v[0], &c, decay)
				i := adamwVecAVX(p[1], g[1], m[1], v[1], &c, decay)
				if i != n&^7 {
					t.Fatalf("n=%d: adamwVecAVX did %d elements, want %d", n, i, n&^7)
				}
				adamwGo(p[1][i:], g[1][i:], m[1][i:], v[1][i:], &c, decay)
				for j := range n {
					for _, x := range [][2]float32{{p[0][j], p[1][j]}, {m[0][j], m[1][j]}, {v[0][j], v[1][j]}, {g[0][j], g[1][j]}} {
						if math.Float32bits(x[0]) != math.Float32bits(x[1]) {
							t.Fatalf("n=%d decay=%v step %d element %d: Go gives p,m,v,g %v %v %v %v, adamwArr %v %v %v %v",
								n, decay, step, j, p[0][j], m[0][j], v[0][j], g[0][j], p[1][j], m[1][j], v[1][j], g[1][j])
						}
					}
				}
			}
		}
	}
}
