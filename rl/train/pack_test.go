package train

import (
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"
)

// TestPackingPlacement: every sequence lies whole inside one row of T
// columns, no two overlap, the rows are no more than the sequences and no
// fewer than the tokens need, and the placement is a pure function of the
// lengths.
func TestPackingPlacement(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 50 {
		T := 8 + rng.IntN(60)
		seqs := make([][]int, 1+rng.IntN(40))
		for k := range seqs {
			seqs[k] = make([]int, 1+rng.IntN(T+1)) // up to T+1 tokens: T through the graph
		}
		var pk packing
		pk.pack(seqs, T)
		used := make([][]bool, pk.Rows)
		for r := range used {
			used[r] = make([]bool, T)
		}
		for k, s := range seqs {
			n := len(s) - 1
			if pk.Row[k] < 0 || pk.Row[k] >= pk.Rows || pk.Col[k] < 0 || pk.Col[k]+n > T {
				t.Fatalf("trial %d: sequence %d (%d tokens) at row %d col %d: outside %d rows of %d", trial, k, n, pk.Row[k], pk.Col[k], pk.Rows, T)
			}
			for c := pk.Col[k]; c < pk.Col[k]+n; c++ {
				if used[pk.Row[k]][c] {
					t.Fatalf("trial %d: sequence %d overlaps another at row %d col %d", trial, k, pk.Row[k], c)
				}
				used[pk.Row[k]][c] = true
			}
		}
		var again packing
		again.pack(seqs, T)
		if !reflect.DeepEqual(pk.Row, again.Row) || !reflect.DeepEqual(pk.Col, again.Col) {
			t.Fatalf("trial %d: packing the same lengths twice placed them differently", trial)
		}
		total := 0
		for _, s := range seqs {
			total += len(s) - 1
		}
		if pk.Rows > len(seqs) || pk.Rows*T < total {
			t.Fatalf("trial %d: %d rows of %d for %d sequences, %d tokens", trial, pk.Rows, T, len(seqs), total)
		}
	}
}

// TestGRPOPackedGraphMatchesEngine: in a real GRPO step the graph runs the
// completions packed several to a row while the engine scores each alone;
// their log-probs of every completion token agree within 1e-4 (the
// graph_engine_logp_maxdiff metric), for passes of 1 row and of 16.
func TestGRPOPackedGraphMatchesEngine(t *testing.T) {
	init := warmStart(t, filepath.Join(t.TempDir(), "sft"), 4)
	for _, mb := range []int{1, 16} {
		cfg := tinyGRPO(2)
		cfg.MicroBatch = mb
		cfg.EvalEvery = 0
		tr, err := NewGRPO(cfg, init, "test")
		if err != nil {
			t.Fatal(err)
		}
		var diffs []float64
		tr.stepHook = func(m *Metrics) { diffs = append(diffs, m.GraphEngineDiff) }
		if err := tr.Train(); err != nil {
			t.Fatal(err)
		}
		tr.Close()
		if len(diffs) != 2 {
			t.Fatalf("micro_batch %d: %d steps seen, want 2", mb, len(diffs))
		}
		if tr.pack.Rows >= len(tr.pack.Row) {
			t.Fatalf("micro_batch %d: %d sequences in %d rows: nothing was packed, the test shows nothing", mb, len(tr.pack.Row), tr.pack.Rows)
		}
		for i, d := range diffs {
			if d > 1e-4 {
				t.Errorf("micro_batch %d step %d: graph and engine log-probs differ by %g, want <= 1e-4", mb, i+1, d)
			}
		}
	}
}
