package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// copyBatch writes B copy-task sequences "x1 x2 x3 SEP x1 x2 x3" (symbols
// 1..V-2, SEP = V-1) into g, T = 7. Only the three copied symbols are
// targets, with w = -1/N, so Loss is their mean negative log-likelihood.
func copyBatch(g *Graph, rng *rand.Rand) {
	V := g.p.Cfg.Vocab
	const n = 3
	sep := V - 1
	w := float32(-1.0 / float64(g.B*n))
	for b := 0; b < g.B; b++ {
		row := g.Tokens[b*g.T : (b+1)*g.T]
		for i := 0; i < n; i++ {
			row[i] = 1 + rng.IntN(V-2)
			row[n+1+i] = row[i]
		}
		row[n] = sep
		for t := 0; t < g.T; t++ {
			k := b*g.T + t
			g.Targets[k], g.Weights[k] = 0, 0
			if t+1 < g.T {
				g.Targets[k] = row[t+1]
			}
			if t >= n && t+1 < g.T {
				g.Weights[k] = w
			}
		}
	}
}

// trainCopy runs steps supervised steps of the tiny preset on the copy task
// and returns the params and the last loss (mean NLL of the copied symbols).
func trainCopy(t testing.TB, seed uint64, steps int) (*Params, float64) {
	cfg, err := Preset("tiny", 12)
	if err != nil {
		t.Fatal(err)
	}
	p := NewParams(cfg)
	p.Init(seed)
	g, err := NewGraph(p, 16, 7, GraphOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ocfg := DefaultAdamWConfig()
	ocfg.LR = 1e-2
	ocfg.WeightDecay = 0
	o, err := NewAdamW(p, ocfg)
	if err != nil {
		t.Fatal(err)
	}
	sched := Schedule{Kind: "cosine", Warmup: 20, Total: steps, MinLR: 1e-3}
	rng := rand.New(rand.NewPCG(seed, 99))
	var loss float64
	for s := 0; s < steps; s++ {
		copyBatch(g, rng)
		if err := g.Step(); err != nil {
			t.Fatal(err)
		}
		loss = g.Loss // w = -1/N: Loss is the mean NLL
		if norm := o.Update(p.Data, g.Grads(), sched.LR(s, ocfg.LR)); math.IsNaN(norm) || math.IsInf(norm, 0) {
			t.Fatalf("step %d: gradient norm %v", s, norm)
		}
	}
	return p, loss
}

// TestLearnCopy: a few hundred supervised steps drive the copy loss from
// ln(10) = 2.3 to near zero.
func TestLearnCopy(t *testing.T) {
	_, loss := trainCopy(t, 1, 400)
	t.Logf("mean NLL of copied symbols after 400 steps: %.2g (chance %.2f)", loss, math.Log(10))
	if loss > 0.05 {
		t.Errorf("copy loss after 400 steps = %.4f, want < 0.05", loss)
	}
}

// TestLearnDeterministic: two runs from the same seed give bitwise-identical
// parameters.
func TestLearnDeterministic(t *testing.T) {
	a, _ := trainCopy(t, 5, 30)
	b, _ := trainCopy(t, 5, 30)
	for i := range a.Data {
		if math.Float32bits(a.Data[i]) != math.Float32bits(b.Data[i]) {
			t.Fatalf("param %d differs: %v vs %v", i, a.Data[i], b.Data[i])
		}
	}
}
