package model

import "sync"

// workPool runs a function on a fixed set of goroutines, so that the
// training graph's ops split their work without starting goroutines or
// building closures on every step (graph_exec.go). The goroutines start on
// first use and stop at close.
//
// A nil *workPool is valid: it starts goroutines for each call, as the ops
// do when gorgonia's tape machine runs them.
//
// One pool serves one caller at a time (the executor runs its ops one after
// another); the function handed to run must not call run on the same pool.
type workPool struct {
	n    int             // goroutines, the caller included
	wake []chan struct{} // (n-1) buffered 1
	done chan struct{}   // buffered n-1
	once sync.Once

	fn func(w int) // the function being run, set before the wake-ups

	// blocks: the row blocks of the running parallelBlocks call
	blockFn      func(blk, lo, hi int)
	rows, blocks int
	stride       int
	blockRun     func(w int) // p.runBlocks, made once
}

func newWorkPool(n int) *workPool {
	p := &workPool{n: max(1, n)}
	p.blockRun = p.runBlocks
	return p
}

func (p *workPool) start() {
	p.wake = make([]chan struct{}, p.n-1)
	p.done = make(chan struct{}, p.n-1)
	for w := 1; w < p.n; w++ {
		p.wake[w-1] = make(chan struct{}, 1)
		go p.loop(w, p.wake[w-1])
	}
}

func (p *workPool) loop(w int, wake <-chan struct{}) {
	for range wake {
		p.fn(w)
		p.done <- struct{}{}
	}
}

// close stops the goroutines; the pool must not be used after it.
func (p *workPool) close() {
	if p == nil {
		return
	}
	p.once.Do(func() {}) // a pool never started has nothing to stop
	for _, c := range p.wake {
		close(c)
	}
	p.wake = nil
}

// run calls fn(w) for w = 0 .. workers-1 (at most the pool's size), w = 0
// on the calling goroutine, and waits for all of them. fn should be a func
// value made once (a method value kept in the op), not a closure built per
// call, or the call allocates.
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
	p.once.Do(p.start)
	p.fn = fn
	for w := 1; w < workers; w++ {
		p.wake[w-1] <- struct{}{}
	}
	fn(0)
	for w := 1; w < workers; w++ {
		<-p.done
	}
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
