package model

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestWorkPoolShares: every run calls fn(w) exactly once for each w below
// its worker count (capped at the pool's size) and never for the others,
// whoever runs the share (the helper, or the caller: team.steal), over many
// calls of changing width with parallelBlocks between them; on a pool that
// spins (size <= GOMAXPROCS) and on one whose helpers outnumber the Ps and
// park at once. close ends the helpers and may be called twice.
func TestWorkPoolShares(t *testing.T) {
	for _, n := range []int{2, 3, 5} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			before := runtime.NumGoroutine()
			p := newWorkPool(n)
			hang := time.AfterFunc(time.Minute, func() { // a lost hand-off hangs run: fail, not time out
				panic(fmt.Sprintf("TestWorkPoolShares: a pool of %d still running after a minute", n))
			})
			var counts [8]atomic.Int32
			slow := false // the caller's share takes 20 us: the helpers claim theirs first
			fn := func(w int) {
				counts[w].Add(1)
				for start := time.Now(); w == 0 && slow && time.Since(start) < 20*time.Microsecond; {
				}
			}
			var blocks [5 * fusedRowBlock]atomic.Int32
			blk := func(_, lo, hi int) {
				for i := lo; i < hi; i++ {
					blocks[i].Add(1)
				}
			}
			for i := range 3000 {
				workers := 1 + i%(n+1) // up to n+1: run uses n
				slow = i%2 == 0
				for w := range counts {
					counts[w].Store(0)
				}
				p.run(workers, fn)
				for w := range counts {
					want := int32(0)
					if w < min(workers, n) {
						want = 1
					}
					if got := counts[w].Load(); got != want {
						t.Fatalf("call %d, run(%d) on a pool of %d: fn(%d) ran %d times, want %d", i, workers, n, w, got, want)
					}
				}
				if i%7 == 0 {
					rows := len(blocks) - i%fusedRowBlock
					p.parallelBlocks(rows, fusedMinParallel, workers, blk)
					for r := range rows {
						if got := blocks[r].Swap(0); got != 1 {
							t.Fatalf("call %d, parallelBlocks over %d rows on %d workers: row %d done %d times, want 1", i, rows, workers, r, got)
						}
					}
				}
			}
			hang.Stop()
			p.close()
			p.close()
			for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; {
				if time.Now().After(deadline) {
					t.Fatalf("%d goroutines 5 s after close, %d before the pool started: its %d helpers did not return", runtime.NumGoroutine(), before, n-1)
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
}
