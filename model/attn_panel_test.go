package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// attnGemmConfigs have heads attendPanel takes: 32 wide, three of them
// (a pair through attendHeadPairAVX and one through attendHeadAVX on the
// row path), and 16 wide (attendHeadAVX only), over several layers.
var attnGemmConfigs = []struct {
	name string
	cfg  Config
}{
	{"hd32x3", Config{Vocab: 29, Context: 80, Dim: 96, Layers: 3, Heads: 3, MLP: 64, Tied: true, InitScale: 0.3}},
	{"hd16x2", Config{Vocab: 31, Context: 80, Dim: 32, Layers: 2, Heads: 2, MLP: 48, Tied: false, InitScale: 0.3}},
}

// TestEngineAttnGemmBitwise: Score and Generate (whose prefill runs
// forwardChunk) give the same bits with attnGemm on and off, on 1 and 3
// workers, for sequences of 1 to 72 tokens, with chunks of every row
// count the engine allows and chunks small enough to split sequences
// (so that runs start mid-sequence and are cut at worker boundaries).
func TestEngineAttnGemmBitwise(t *testing.T) {
	if !useAVX {
		t.Skip("no AVX2+FMA: attnGemm has no other path to compare")
	}
	defer func(v bool) { attnGemm = v }(attnGemm)
	for _, tc := range attnGemmConfigs {
		cfg := tc.cfg
		p := engParams(cfg, 71)
		rng := rand.New(rand.NewPCG(72, 73))
		seqs := engRandSeqs(rng, 10, 1, 72, cfg.Vocab)
		seqs[0] = seqs[0][:1]
		seqs[1] = append(seqs[1][:0], engRandSeqs(rng, 1, 72, 72, cfg.Vocab)[0]...)
		prompts := engRandSeqs(rng, 6, 1, 70, cfg.Vocab)
		seeds := []uint64{1, 2, 3, 4, 5, 6}
		sc := SampleConfig{Temperature: 1, TopP: 1, MaxNew: 6, EOS: -1}
		for _, workers := range []int{1, 3} {
			for _, rowCap := range []int{0, 61, 20} {
				t.Run(fmt.Sprintf("%s/workers=%d/rowCap=%d", tc.name, workers, rowCap), func(t *testing.T) {
					e := NewEngine(p, 6, cfg.Context, workers)
					defer e.Close()
					if rowCap > 0 {
						e.rowCap = rowCap
					}
					var score [2][][]float32
					var ro [2]*Rollout
					for i, on := range []bool{false, true} {
						attnGemm = on
						score[i] = engNewDst(seqs)
						if err := e.Score(score[i], seqs, 1); err != nil {
							t.Fatal(err)
						}
						ro[i] = NewRollout(len(prompts), sc.MaxNew)
						if err := e.Generate(ro[i], prompts, seeds, sc); err != nil {
							t.Fatal(err)
						}
					}
					for b := range seqs {
						for j := range score[0][b] {
							if off, on := score[0][b][j], score[1][b][j]; math.Float32bits(off) != math.Float32bits(on) {
								t.Fatalf("Score seq %d (%d tokens) position %d: attnGemm on %v, off %v", b, len(seqs[b]), j, on, off)
							}
						}
					}
					if err := engRolloutsEqual(ro[0], ro[1]); err != nil {
						t.Errorf("Generate, attnGemm off vs on: %v", err)
					}
				})
			}
		}
	}
}

// TestEngineAttendRowsRuns: attendRows (with attnGemm) gives every row
// attend's bits for chunks whose rows form runs of every kind: one long
// run from position 0, a run starting mid-sequence, runs of two slots
// side by side, a gap in the positions of one slot, a change of slot with
// consecutive positions, alternating slots, and runs shorter than a
// panel. It leaves the pattern's last row, past its range, untouched (the
// next worker's). The cache and the queries are random.
func TestEngineAttendRowsRuns(t *testing.T) {
	if !useAVX {
		t.Skip("no AVX2+FMA: attendRows takes the row path only")
	}
	defer func(v bool) { attnGemm = v }(attnGemm)
	attnGemm = true
	cfg := attnGemmConfigs[0].cfg
	e := NewEngine(engParams(cfg, 5), 3, cfg.Context, 1)
	defer e.Close()
	rng := rand.New(rand.NewPCG(8, 9))
	for _, x := range [][]float32{e.qkv, e.kc[1], e.vc[1]} {
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
	}
	type run struct{ slot, p0, n int }
	for _, tc := range []struct {
		name   string
		runs   []run
		panels bool // some run is long enough for a panel
	}{
		{"one run", []run{{0, 0, 72}}, true},
		{"mid-sequence", []run{{2, 37, 31}}, true},
		{"two slots", []run{{1, 0, 9}, {0, 0, 14}, {2, 50, 13}}, true},
		{"gap", []run{{0, 0, 3}, {0, 4, 9}, {0, 14, 5}}, true},
		{"slot change", []run{{0, 0, 3}, {1, 3, 9}}, true},
		{"alternating", []run{{0, 5, 1}, {1, 5, 1}, {0, 6, 1}, {1, 6, 1}, {0, 7, 1}, {1, 7, 1}, {0, 8, 1}}, false},
		{"short runs", []run{{0, 0, 5}, {1, 0, 5}, {2, 60, 5}, {0, 5, 7}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, panels := 0, 0
			for _, r := range tc.runs {
				for i := range r.n {
					e.rowSlot[n], e.rowPos[n] = r.slot, r.p0+i
					n++
				}
			}
			m := n - 1 // rows attendRows computes
			for r := 0; r < m; {
				q := e.runEnd(r, m)
				if q-r >= attnPanel {
					panels++
				}
				r = q
			}
			D := cfg.Dim
			nan := float32(math.NaN())
			for i := range e.att {
				e.att[i] = nan
			}
			e.attendRows(0, 1, 0, m)
			got := slices.Clone(e.att[:n*D])
			for c := range D {
				if g := got[m*D+c]; g == g {
					t.Fatalf("row %d (slot %d position %d), past the range, column %d: set to %v", m, e.rowSlot[m], e.rowPos[m], c, g)
				}
			}
			clear(e.att)
			for r := range m {
				e.attend(1, r, e.scoreScratch(0))
			}
			for r := range m {
				for c := range D {
					if g, w := got[r*D+c], e.att[r*D+c]; math.Float32bits(g) != math.Float32bits(w) {
						t.Fatalf("row %d (slot %d position %d) column %d: attendRows %v, attend %v (%d runs of panels)",
							r, e.rowSlot[r], e.rowPos[r], c, g, w, panels)
					}
				}
			}
			if (panels > 0) != tc.panels {
				t.Errorf("%d runs of panels: want some %v", panels, tc.panels)
			}
		})
	}
}
