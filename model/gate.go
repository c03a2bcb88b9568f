//go:build unix

package model

import (
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
)

// A gate is a counting wake-up signal between goroutines, for worker
// hand-offs that must allocate nothing: post adds a token, wait takes one,
// sleeping until there is one. One goroutine at a time may wait; any number
// may post.
//
// Why not a channel (or a mutex, or a WaitGroup): a goroutine blocked on one
// holds a runtime sudog, taken from the cache of the P it blocks on and
// given back to the cache of the P it wakes on. With two Ps the caches
// drift apart, and each GC empties the shared cache between them, so a
// hand-off now and then allocated a new sudog (112 B): a few per training
// step and per Generate on 2 workers (TestGraphStepAllocs,
// TestEngineAllocsTwoPs). A gate's waiter sleeps reading a pipe, in the
// network poller, which takes no sudog; post writes to the pipe with a raw
// write, which takes no lock, and only when the waiter sleeps.
//
// Waking through the poller is slow (a P must poll it), so a gate suits a
// team (engine_sync.go: the engine's workers and the training graph's
// pool), whose waiters spin first and park only when idle: when the
// graph's pool and Sgemm's helpers slept on gates at every hand-off,
// without spinning first, a train step on 2 workers took as long as on 1.
// Sgemm's own helpers, which the training step no longer uses (sgemmPool),
// keep a channel.
type gate struct {
	n   atomic.Int32 // tokens posted and not taken; -1 while the waiter sleeps
	r   *os.File     // read end, non-blocking (the poller parks the waiter)
	w   int          // write end
	buf [1]byte      // where wait reads a token
}

// newGate makes a gate and its pipe. Only running out of file descriptors
// makes it fail, and then it panics: the callers' constructors (NewEngine,
// NewGraph) have no error to return for it.
func newGate() *gate {
	var fd [2]int
	if err := syscall.Pipe(fd[:]); err != nil {
		panic(fmt.Sprintf("model: a pipe for a worker hand-off: %v", err))
	}
	for _, f := range fd {
		syscall.CloseOnExec(f)
		if err := syscall.SetNonblock(f, true); err != nil {
			panic(fmt.Sprintf("model: a pipe for a worker hand-off: %v", err))
		}
	}
	return &gate{r: os.NewFile(uintptr(fd[0]), "gate"), w: fd[1]}
}

var gateToken = [1]byte{1}

// post adds a token, waking the waiter if it sleeps.
func (g *gate) post() {
	if g.n.Add(1) <= 0 {
		_, _ = syscall.Write(g.w, gateToken[:])
	}
}

// wait takes a token, sleeping until one is posted (or the gate closes).
func (g *gate) wait() {
	if g.n.Add(-1) >= 0 {
		return
	}
	_, _ = g.r.Read(g.buf[:])
	g.n.Load() // synchronize with the post that woke us (the pipe does not, for the race detector)
}

// close releases the pipe; a sleeping waiter wakes. Nobody may post after.
func (g *gate) close() {
	syscall.Close(g.w)
	g.r.Close()
}
