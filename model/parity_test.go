package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestGraphEngineParity: the rollout engine's Score and the training graph's
// LogP agree within 1e-5 absolute on the same mixed-length sequences
// (right-padded in the graph with w = 0), on random tiny configs with tied
// and untied heads, several temperatures and worker counts, widths 16, 128
// and 256 (the real small preset included). GRPO's ratio
// exp(logp - logp_old) relies on the two being the same function.
func TestGraphEngineParity(t *testing.T) {
	const tol = 1e-5
	for i, tc := range []struct {
		tied            bool
		heads, layers   int // 0 (with preset): the preset's
		temp            float32
		workers, nseq   int
		maxLen, vocabSz int
		preset          string // "": tiny with heads and layers, unrandomised biases
		dim             int    // 0: the preset's
	}{
		{true, 2, 2, 1, 1, 4, 12, 13, "", 0},
		{false, 2, 2, 1, 2, 5, 10, 17, "", 0},
		{false, 4, 1, 0.8, 2, 3, 9, 11, "", 0},
		{true, 1, 3, 1.5, 1, 6, 8, 20, "", 0},
		{true, 4, 1, 1, 2, 3, 9, 13, "tiny", 128},
		{false, 4, 2, 0.9, 1, 2, 7, 17, "tiny", 128},
		{true, 8, 1, 1, 2, 2, 6, 11, "tiny", 256},
		{true, 0, 0, 1, 2, 3, 12, 19, "small", 0},
	} {
		name := fmt.Sprintf("%d/%s/D=%d/tied=%v/H=%d/L=%d/temp=%g", i, tc.preset, tc.dim, tc.tied, tc.heads, tc.layers, tc.temp)
		t.Run(name, func(t *testing.T) {
			p := testParams(t, tc.tied, tc.vocabSz, uint64(20+i))
			if tc.preset != "" {
				p = testParamsShape(t, tc.preset, tc.tied, tc.vocabSz, tc.dim, tc.heads, tc.layers, uint64(20+i))
			} else if tc.heads != p.Cfg.Heads || tc.layers != p.Cfg.Layers {
				cfg := p.Cfg
				cfg.Heads, cfg.Layers = tc.heads, tc.layers
				p = NewParams(cfg)
				p.Init(uint64(30 + i))
			}
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			seqs := make([][]int, tc.nseq)
			for b := range seqs {
				n := 2 + rng.IntN(tc.maxLen) // 2 .. maxLen+1 tokens
				if b == 0 {
					n = tc.maxLen + 1
				}
				seqs[b] = make([]int, n)
				for k := range seqs[b] {
					seqs[b][k] = rng.IntN(tc.vocabSz)
				}
			}
			dst := make([][]float32, len(seqs))
			for b, s := range seqs {
				dst[b] = make([]float32, len(s)-1)
			}
			e := NewEngine(p, tc.nseq, tc.maxLen, tc.workers)
			if err := e.Score(dst, seqs, tc.temp); err != nil {
				t.Fatal(err)
			}

			T := tc.maxLen
			g, err := NewGraph(p, len(seqs), T, GraphOptions{Temperature: tc.temp})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			for b, s := range seqs {
				for k := 0; k < T; k++ {
					j := b*T + k
					g.Tokens[j], g.Targets[j], g.Weights[j] = 0, 0, 0
					if k < len(s)-1 {
						g.Tokens[j], g.Targets[j], g.Weights[j] = s[k], s[k+1], 1
					}
				}
			}
			if err := g.Forward(); err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for b, s := range seqs {
				for k := 0; k < len(s)-1; k++ {
					got, want := float64(dst[b][k]), float64(g.LogP[b*T+k])
					d := math.Abs(got - want)
					worst = math.Max(worst, d)
					if d > tol {
						t.Errorf("seq %d (len %d) t=%d: engine %.7f, graph %.7f (|diff| %.2g > %g)", b, len(s), k, got, want, d, tol)
					}
				}
			}
			t.Logf("worst |engine - graph| = %.2g", worst)
		})
	}
}
