package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
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

// engRows is the number of tokens in seqs.
func engRows(seqs [][]int) int {
	n := 0
	for _, s := range seqs {
		n += len(s)
	}
	return n
}

func engRandF32(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// TestEnginePrepackBitwise: Score and Generate with the weights packed once
// per call (enginePrepack) give the bits of packing them per matmul or
// reading them in place, with every Sgemm kernel of this CPU (nr 4, 16, 32),
// 1 to 3 workers, scoring chunks of many and few rows, a prefill that packs
// them and one that reads them in place before the decode steps pack them,
// decode steps split in rows; and they follow an in-place weight update
// between calls, as the optimizer makes: after it, each engine gives a
// fresh engine's bits.
func TestEnginePrepackBitwise(t *testing.T) {
	defer func(v bool) { enginePrepack = v }(enginePrepack)
	for _, kern := range sgemmKernels {
		for _, tc := range engConfigs {
			t.Run(kern.name+"/"+tc.name, func(t *testing.T) {
				defer sgemmUseKernel(kern)()
				const B = 20
				cfg := tc.cfg
				p, update := engParams(cfg, 61), engParams(cfg, 62)
				rng := rand.New(rand.NewPCG(63, 64))
				seqs := engRandSeqs(rng, B, 2, 30, cfg.Vocab) // chunks of 256 rows and fewer
				prompts := engRandSeqs(rng, B, 1, 24, cfg.Vocab)
				if rows := engRows(prompts); rows <= gemmInPlaceRows {
					t.Fatalf("the prompts hold %d tokens: want a prefill of more than %d rows", rows, gemmInPlaceRows)
				}
				// 6 prompts of at most 20 tokens, no EOS: a prefill of at
				// most 120 rows, then decode steps of 6 rows, rowMode at 3
				// workers.
				short := make([][]int, 6)
				for i := range short {
					short[i] = prompts[i][:min(len(prompts[i]), 20)]
				}
				seeds := make([]uint64, B)
				for i := range seeds {
					seeds[i] = uint64(i)
				}
				sc := SampleConfig{Temperature: 1, TopP: 1, MaxNew: 12, EOS: 3}
				newEngine := func(workers int) *Engine {
					e := NewEngine(p, B, cfg.Context, workers)
					// Every matmul of 2 rows or more through Sgemm (decode
					// steps of a few rows per worker too), with any kernel.
					e.gemmRows = 2
					if e.gpk == nil {
						e.newGemmPanels()
					}
					return e
				}
				// call runs Score, Generate of all prompts (a prefill of
				// more than gemmInPlaceRows rows) and of the short ones
				// (read in place, then packed for the decode steps), and
				// checks that the weights were packed.
				call := func(e *Engine, prepack bool) ([][]float32, []*Rollout) {
					enginePrepack = prepack
					dst := engNewDst(seqs)
					if err := e.Score(dst, seqs, 1); err != nil {
						t.Fatal(err)
					}
					if e.gpacked != prepack {
						t.Fatalf("prepack %v: after Score, gpacked = %v", prepack, e.gpacked)
					}
					var ros []*Rollout
					for i, pr := range [][][]int{prompts, short} {
						sc := sc
						if i == 1 {
							sc.EOS = -1
						}
						ro := NewRollout(B, sc.MaxNew)
						if err := e.Generate(ro, pr, seeds[:len(pr)], sc); err != nil {
							t.Fatal(err)
						}
						if e.gpacked != prepack {
							t.Fatalf("prepack %v: after Generate of %d prompts, gpacked = %v", prepack, len(pr), e.gpacked)
						}
						ros = append(ros, ro)
					}
					return dst, ros
				}
				fresh := func(workers int) ([][]float32, []*Rollout) {
					e := newEngine(workers)
					defer e.Close()
					return call(e, false)
				}
				check := func(what string, gotS, wantS [][]float32, gotR, wantR []*Rollout) {
					t.Helper()
					for b := range wantS {
						for i, w := range wantS[b] {
							if g := gotS[b][i]; math.Float32bits(g) != math.Float32bits(w) {
								t.Fatalf("%s: Score seq %d pos %d: %v, want %v", what, b, i, g, w)
							}
						}
					}
					for i := range wantR {
						if err := engRolloutsEqual(gotR[i], wantR[i]); err != nil {
							t.Fatalf("%s: Generate %d: %v", what, i, err)
						}
					}
				}
				// Against the same number of workers: with the Go kernel,
				// the matmuls a split leaves to the row kernels differ in
				// their last bits.
				for _, workers := range []int{1, 2, 3} {
					wantS, wantR := fresh(workers)
					e := newEngine(workers)
					defer e.Close()
					gotS, gotR := call(e, true)
					check(fmt.Sprintf("workers %d", workers), gotS, wantS, gotR, wantR)
					// The update, then again with the same engine.
					saved := slices.Clone(p.Data)
					copy(p.Data, update.Data)
					newS, newR := fresh(workers)
					if slices.Equal(newS[0], wantS[0]) {
						t.Fatal("the update left the scores unchanged")
					}
					gotS, gotR = call(e, true)
					check(fmt.Sprintf("workers %d, after a weight update", workers), gotS, newS, gotR, newR)
					copy(p.Data, saved)
					// A Score of at most gemmInPlaceRows rows reads the
					// weights in place: packing them would cost more.
					short := seqs[:2]
					if err := e.Score(engNewDst(short), short, 1); err != nil {
						t.Fatal(err)
					}
					if e.gpacked {
						t.Fatalf("workers %d: a Score of %d rows packed the weights", workers, len(short[0])+len(short[1])-2)
					}
				}
			})
		}
	}
}

// TestEnginePrepackLayout: the engine's packed weights are Sgemm's B panels
// of each matrix as the kernels read it (refreshed and, when tied, the
// transposed wte), panel jp holding columns [jp*nr, jp*nr+nr) as in rows
// of nr floats, zeros past the last column; packed in two panel ranges, as
// two workers split them, over a buffer of NaNs.
func TestEnginePrepackLayout(t *testing.T) {
	for _, kern := range sgemmKernels {
		for _, tc := range engConfigs {
			t.Run(kern.name+"/"+tc.name, func(t *testing.T) {
				defer sgemmUseKernel(kern)()
				e := NewEngine(engParams(tc.cfg, 65), 4, tc.cfg.Context, 1)
				defer e.Close()
				e.newGemmPanels()
				for i := range e.gpk {
					e.gpk[i] = float32(math.NaN())
				}
				e.prepare()
				mid := e.gpanels/2 + 1
				e.packGemm(0, mid)
				e.packGemm(mid, e.gpanels)
				nr, total := kern.nr, 0
				for i := range 4*len(e.mats) + 1 {
					m := e.gemmMat(i)
					total += len(m.pk)
					if len(m.pk) != sgemmPackedLen(m.in, m.out, nr) {
						t.Fatalf("matrix %d: %d packed floats, want %d", i, len(m.pk), sgemmPackedLen(m.in, m.out, nr))
					}
					for at, got := range m.pk {
						jp, q, c := at/(m.in*nr), at%(m.in*nr)/nr, at%nr
						var want float32
						if j := jp*nr + c; j < m.out {
							want = m.w[q*m.ld+j]
						}
						if math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("matrix %d (%dx%d): panel %d row %d col %d: %v, want %v", i, m.in, m.out, jp, q, c, got, want)
						}
					}
				}
				if total != len(e.gpk) {
					t.Fatalf("matrices hold %d packed floats, gpk %d", total, len(e.gpk))
				}
			})
		}
	}
}

// TestEnginePrepackRead: once the weights are packed (gpacked), the
// engine's Sgemm matmuls read them from gpk, not from the weights in
// place: packed, a matmul gives the in-place bits, and with gpk then
// poisoned with NaNs every output is NaN. (The bitwise tests alone pass
// whether or not the panels are read.)
func TestEnginePrepackRead(t *testing.T) {
	cfg := engConfigs[1].cfg
	e := NewEngine(engParams(cfg, 66), 4, cfg.Context, 1)
	defer e.Close()
	e.gemmRows = 2 // through Sgemm whatever its kernel
	if e.gpk == nil {
		e.newGemmPanels()
	}
	e.prepare()
	const n = 12
	rng := rand.New(rand.NewPCG(67, 68))
	m := &e.mats[1].w1
	x := engRandF32(rng, n*m.in)
	dst := make([]float32, n*m.out)
	a := linArgsFor(dst, x, m, nil, n, epiSet)
	e.linearGemm(0, &a, 0, n, 0, m.out)
	want := slices.Clone(dst)
	e.packGemm(0, e.gpanels)
	e.gpacked = true
	e.linearGemm(0, &a, 0, n, 0, m.out)
	for i, w := range want {
		if math.Float32bits(dst[i]) != math.Float32bits(w) {
			t.Fatalf("packed: out[%d] = %v, in place %v", i, dst[i], w)
		}
	}
	for i := range e.gpk {
		e.gpk[i] = float32(math.NaN())
	}
	e.linearGemm(0, &a, 0, n, 0, m.out)
	for i, v := range dst {
		if v == v {
			t.Fatalf("gpk poisoned: out[%d] = %v, want NaN (the matmul did not read the packed panels)", i, v)
		}
	}
}
