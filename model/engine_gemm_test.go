package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestLinearGemmMatchesReference holds the engine's Sgemm path to the
// naive matmulRef plus a float64 epilogue, for every epilogue, shapes that
// are not multiples of the tiles, and split column ranges. Tolerance: each
// element within 1e-5 * (1 + sum_k |x_k w_kj|) (float32 rounding of in
// products, plus the vectorised exp in GELU).
func TestLinearGemmMatchesReference(t *testing.T) {
	for _, sh := range []struct{ n, in, out int }{
		{8, 16, 48}, {13, 24, 37}, {33, 64, 192}, {70, 128, 64}, {9, 44, 24},
	} {
		for _, epi := range []epilogue{epiSet, epiAdd, epiGELU} {
			t.Run(fmt.Sprintf("%dx%dx%d/epi=%d", sh.n, sh.in, sh.out, epi), func(t *testing.T) {
				cfg := Config{Vocab: sh.out, Context: 8, Dim: sh.in, Layers: 1, Heads: 1, MLP: sh.out, Tied: false, InitScale: 0.1}
				e := NewEngine(NewParams(cfg), sh.n, 2, 2)
				defer e.Close()
				rng := rand.New(rand.NewPCG(uint64(sh.n), uint64(epi)))
				x, w, b := engRandF32(rng, sh.n*sh.in), engRandF32(rng, sh.in*sh.out), engRandF32(rng, sh.out)
				m := newMat(w, sh.in, sh.out)
				m.refresh()
				dst, want := engRandF32(rng, sh.n*sh.out), make([]float32, sh.n*sh.out)
				copy(want, dst)
				a := linArgsFor(dst, x, &m, b, sh.n, epi)
				// Two column ranges, as two workers would split them, the second in
				// two row ranges.
				split := min(32, sh.out&^15)
				e.linearGemm(0, &a, 0, sh.n, 0, split)
				e.linearGemm(1, &a, 0, 5, split, sh.out)
				e.linearGemm(0, &a, 5, sh.n, split, sh.out)
				for i := range sh.n {
					for j := range sh.out {
						var y, mag float64
						for k := range sh.in {
							p := float64(x[i*sh.in+k]) * float64(w[k*sh.out+j])
							y += p
							mag += math.Abs(p)
						}
						y += float64(b[j])
						switch epi {
						case epiSet:
							want[i*sh.out+j] = float32(y)
						case epiAdd:
							want[i*sh.out+j] += float32(y)
						case epiGELU:
							want[i*sh.out+j] = float32(0.5 * y * (1 + math.Tanh(0.7978845608028654*(y+0.044715*y*y*y))))
						}
						got := dst[i*sh.out+j]
						if d := math.Abs(float64(got - want[i*sh.out+j])); d > 1e-5*(1+mag+math.Abs(float64(b[j]))) {
							t.Fatalf("row %d col %d: got %g, want %g (|diff| %g)", i, j, got, want[i*sh.out+j], d)
						}
					}
				}
			})
		}
	}
}

// TestEngineGemmMatchesRowKernels: Score and Generate through the Sgemm
// path against the row kernels alone (gemmRows = 0), with 1 to 3 workers:
// bitwise where the two kernels agree (defaultGemmRows > 0: FMA assembly
// on both sides), else within 1e-5 on log-probs and entropies.
func TestEngineGemmMatchesRowKernels(t *testing.T) {
	bitwise := defaultGemmRows() > 0
	for _, tc := range engConfigs {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			p := engParams(cfg, 21)
			rng := rand.New(rand.NewPCG(22, 23))
			seqs := engRandSeqs(rng, 7, 2, 30, cfg.Vocab)
			prompts := engRandSeqs(rng, 7, 1, 14, cfg.Vocab)
			seeds := []uint64{1, 2, 3, 4, 5, 6, 7}
			sc := SampleConfig{Temperature: 0.9, TopP: 1, MaxNew: 12, EOS: -1}
			run := func(workers, gemmRows int) ([][]float32, *Rollout) {
				e := NewEngine(p, 7, cfg.Context, workers)
				defer e.Close()
				e.gemmRows = gemmRows
				dst := engNewDst(seqs)
				if err := e.Score(dst, seqs, 1.1); err != nil {
					t.Fatal(err)
				}
				ro := NewRollout(7, sc.MaxNew)
				if err := e.Generate(ro, prompts, seeds, sc); err != nil {
					t.Fatal(err)
				}
				return dst, ro
			}
			wantScore, wantRo := run(1, 0)
			for _, workers := range []int{1, 2, 3} {
				// gemmRows 2: every matmul of 2 rows or more, so that the
				// row-split decode steps (a few rows per worker) take it too.
				gotScore, gotRo := run(workers, 2)
				for b := range seqs {
					for i, g := range gotScore[b] {
						w := wantScore[b][i]
						if d := math.Abs(float64(g - w)); (bitwise && g != w) || d > 1e-5 {
							t.Fatalf("workers %d: Score seq %d pos %d: Sgemm path %g, row kernels %g", workers, b, i, g, w)
						}
					}
				}
				if bitwise {
					if err := engRolloutsEqual(gotRo, wantRo); err != nil {
						t.Fatalf("workers %d: Generate: Sgemm path vs row kernels: %v", workers, err)
					}
				}
			}
		})
	}
}

func engRandF32(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}
