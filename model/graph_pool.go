package model

import "sync"

// workPool runs a function on a fixed set of goroutines, so that the
// training graph's ops split their work without starting goroutines or
// building closures on every step (graph_exec.go). The goroutines start on
// first use and stop at close. They hand off through a team (the engine's
// spin-then-park hand-off, engine_sync.go), which takes no runtime sudog:
// on channels, a step on 2 workers allocated one now and then (gate.go).
// The graph's matrix products run on the same pool (sgemmPool), so that
// one set of helpers, spinning between ops, serves the whole step.
//
// A nil *workPool is valid: it starts goroutines for each call, as the ops
// do when gorgonia's tape machine runs them.
//
// One pool serves one caller at a time (the executor runs its ops one after
// another); the function handed to run must not call run on the same pool.
type workPool struct {
	n       int  // goroutines, the caller included
	t       team // the hand-off, started on first use
	started bool
	share   func(w int) // p.runShare, made once

	fn     func(w int) // the function being run, set before the hand-off
	active int         // workers of the running call: shares w >= active do nothing

	// blocks: the row blocks of the running parallelBlocks call
	blockFn      func(blk, lo, hi int)
	rows, blocks int
	stride       int
	blockRun     func(w int) // p.runBlocks, made once
}

func newWorkPool(n int) *workPool {
	p := &workPool{n: max(1, n)}
	p.blockRun = p.runBlocks
	p.share = p.runShare
	return p
}

func (p *workPool) runShare(w int) {
	if w < p.active {
		p.fn(w)
	}
}

// close stops the goroutines; the pool must not be used after it.
func (p *workPool) close() {
	if p == nil || !p.started {
		return
	}
	p.t.stop()
	p.started = false
}

// run calls fn(w) for w = 0 .. workers-1 (at most the pool's size), w = 0
// on the calling goroutine, and waits for all of them. A share whose
// helper has not woken yet runs on the caller (team.steal). fn should be a
// func value made once (a method value kept in the op), not a closure
// built per call, or the call allocates.
func (p *workPool) run(workers int, fn func(w int)) {
	if p == nil {
		runWorkers(workers, fn)
		return
	}
	workers = min(workers, p.n)
	if workers <= 1 {
		fn(0)
		return
	}
	if !p.started {
		p.t.start(p.n, p.share)
		p.started = true
	}
	p.fn, p.active = fn, workers
	p.t.run()
	p.fn = nil
}

// size returns how many workers run(workers, fn) runs.
func (p *workPool) size(workers int) int {
	if p == nil {
		return max(1, workers)
	}
	return max(1, min(workers, p.n))
}

// parallelBlocks runs fn(blk, lo, hi) on every block of fusedRowBlock of n
// rows, worker w taking blocks w, w+workers, ...; work below
// fusedMinParallel elements (size) stays on one goroutine. Every block is
// computed whole by one worker, so results do not depend on the count.
func (p *workPool) parallelBlocks(n, size, workers int, fn func(blk, lo, hi int)) {
	nb := (n + fusedRowBlock - 1) / fusedRowBlock
	workers = min(workers, nb)
	if size < fusedMinParallel {
		workers = 1
	}
	if p == nil {
		spawnBlocks(n, nb, workers, fn)
		return
	}
	workers = min(workers, p.n)
	p.blockFn, p.rows, p.blocks, p.stride = fn, n, nb, workers
	p.run(workers, p.blockRun)
	p.blockFn = nil
}

// spawnBlocks is parallelBlocks on fresh goroutines. It is its own
// function so that the variables its closure captures are not moved to the
// heap on the pool's path.
func spawnBlocks(n, nb, workers int, fn func(blk, lo, hi int)) {
	runWorkers(workers, func(w int) {
		for b := w; b < nb; b += workers {
			fn(b, b*fusedRowBlock, min(n, (b+1)*fusedRowBlock))
		}
	})
}

func (p *workPool) runBlocks(w int) {
	for b := w; b < p.blocks; b += p.stride {
		p.blockFn(b, b*fusedRowBlock, min(p.rows, (b+1)*fusedRowBlock))
	}
}

// runWorkers runs run(w) for w = 0 .. workers-1, w = 0 on the calling
// goroutine, and waits for all of them.
func runWorkers(workers int, run func(w int)) {
	if workers <= 1 {
		run(0)
		return
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(w)
		}()
	}
	run(0)
	wg.Wait()
}
