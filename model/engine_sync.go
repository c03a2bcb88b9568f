package model

import (
	"runtime"
	"sync/atomic"
	"time"
)

// The worker hand-off of the engine and of the training graph's pool
// (graph_pool.go), a team. A batch-1 decode step has 17 barriers (four
// matmuls per block and the head), each a few microseconds of work per
// worker, so a hand-off through channels (a goroutine wake-up, often a
// futex, per barrier) cost more than the split saved: 2 workers decoded
// slower than 1. Here the caller publishes an op by bumping a generation
// counter and the helpers, spinning on it, start within a cache-line
// transfer; the caller spins in turn on a count of helpers still running.
// A waiter that has spun for spinWait without news parks on its gate
// (gate.go) instead and is woken through it, so an idle engine (or graph)
// does not hold a core.
//
// A helper claims its share of an op before running it, and the caller,
// done with its own share, runs every share not yet claimed: a helper
// whose CPU the host has descheduled (or that is still waking up) then
// costs one share's time, not a whole time slice per barrier. Claimed or
// stolen, a share is the same code on the same buffers (worker w's), so
// the bits do not depend on who ran it.

// spinWait is how long a waiter spins before it parks: longer than any gap
// between the ops of one Generate or Score (the caller's serial work, the
// sampling between steps), so that no worker's CPU goes idle during a call.
// (An idle virtual CPU can take 100 us to wake; with a 50 us spin, waits
// that overran it cost a wake-up each and halved batch-1 decode on a busy
// host.) Between calls a helper parks after this long.
const spinWait = time.Millisecond

// yieldEvery is how often a spinning waiter yields its P (see spinning).
const yieldEvery = 20 * time.Microsecond

// team is the state shared by the caller (worker 0) and the helpers: the
// caller sets up an op, then run calls work(w) for every worker w, on its
// helper or, for a share no helper has claimed yet, on the caller.
type team struct {
	gen     atomic.Uint32 // bumped by the caller to publish an op and its arguments
	_       [60]byte      // keep pending on another cache line than gen
	pending atomic.Int32  // helpers still running the current op
	_       [60]byte
	spin    bool        // waiters spin before parking (false when GOMAXPROCS < workers)
	helpers []parker    // (workers-1) where helper w sleeps, at w-1
	caller  parker      // where the caller sleeps until pending is 0
	work    func(w int) // worker w's share of the published op
	quit    bool        // the published op is the last: helpers return
}

// parker is where one goroutine sleeps. The sleeper sets asleep, checks
// its condition once more and waits on its gate; a waker that makes the
// condition true then takes asleep back (CompareAndSwap) and, if it did,
// posts one token. So each token posted is taken exactly once, by a
// sleeper that is blocked or about to block. A wake-up can be spurious: the
// waker may have made the condition true for an earlier op and been
// descheduled before its wake, so a woken sleeper checks its condition
// again (await; a helper's claimFor fails on an op it has seen).
// The gate (gate.go), unlike a channel, takes no runtime sudog, so that
// parking allocates nothing.
type parker struct {
	asleep atomic.Bool
	claim  atomic.Uint32 // helpers only: the latest op generation whose share was claimed, by the helper or the caller
	g      *gate
	_      [48]byte
}

func newParker() parker { return parker{g: newGate()} }

// claimFor takes the share of op generation g, unless it (or a later
// op's share) is taken already: a helper that read an old generation
// cannot take a share that was stolen.
func (p *parker) claimFor(g uint32) bool {
	for {
		old := p.claim.Load()
		if int32(g-old) <= 0 {
			return false
		}
		if p.claim.CompareAndSwap(old, g) {
			return true
		}
	}
}

// wake wakes p's goroutine if it is asleep (after the waker made its
// condition true).
func (p *parker) wake() {
	if p.asleep.CompareAndSwap(true, false) {
		p.g.post()
	}
}

// spinning tracks a spin of at most spinWait, reading the clock every 256
// turns. Every yieldEvery of spinning it yields the processor
// (runtime.Gosched) once: the goroutine it waits for may be queued behind
// it on the same P (a goroutine woken from a park can be queued on the
// waker's P), and a spin that held on to the P would wait for its own time
// slice to end. (Yielding at every few turns instead moved the workers
// between Ps, and so between cores and their caches.)
type spinning struct {
	i           int
	start, last time.Time
}

// more reports whether the waiter may spin once more.
func (s *spinning) more(allowed bool) bool {
	if !allowed {
		return false
	}
	cpuRelax()
	s.i++
	if s.i&255 != 0 {
		return true
	}
	now := time.Now()
	if s.i == 256 {
		s.start, s.last = now, now
		return true
	}
	if now.Sub(s.last) >= yieldEvery {
		runtime.Gosched()
		s.last = time.Now()
	}
	return now.Sub(s.start) < spinWait
}

// run runs the op the caller has set up: work(w) for every worker, and
// waits for all of them.
func (t *team) run() {
	g := t.publish()
	t.work(0)
	t.steal(g)
	t.await()
}

// publish starts the op the caller has set up on every helper and returns
// its generation.
func (t *team) publish() uint32 {
	t.pending.Store(int32(len(t.helpers)))
	g := t.gen.Add(1)
	for i := range t.helpers {
		t.helpers[i].wake()
	}
	return g
}

// steal runs on the caller the share of every helper that has not claimed
// op generation g yet.
func (t *team) steal(g uint32) {
	for i := range t.helpers {
		if t.helpers[i].claimFor(g) {
			t.work(i + 1)
			t.pending.Add(-1)
		}
	}
}

// await returns when every helper has finished the published op.
func (t *team) await() {
	for sp := (spinning{}); t.pending.Load() != 0; {
		if sp.more(t.spin) {
			continue
		}
		p := &t.caller
		p.asleep.Store(true)
		if t.pending.Load() == 0 {
			if !p.asleep.CompareAndSwap(true, false) {
				p.g.wait() // a helper is sending: take its token
			}
			return
		}
		// Woken: check pending again. The token may be stale: the last
		// helper of an earlier op, descheduled between bringing pending
		// to 0 and its wake, can send it while this op still has a
		// helper running (with 3 or more workers).
		p.g.wait()
		sp = spinning{}
	}
}

// awaitOp returns the generation of the next op after seen, waiting for
// the caller to publish it.
func (t *team) awaitOp(w int, seen uint32) uint32 {
	for sp := (spinning{}); ; {
		if g := t.gen.Load(); g != seen {
			return g
		}
		if !sp.more(t.spin) {
			break
		}
	}
	p := &t.helpers[w-1]
	p.asleep.Store(true)
	if g := t.gen.Load(); g != seen {
		if !p.asleep.CompareAndSwap(true, false) {
			p.g.wait() // the caller is sending: take its token
		}
		return g
	}
	p.g.wait()
	return t.gen.Load()
}

// loop is helper w's goroutine: run w's share of each op published, until
// stop publishes the last.
func (t *team) loop(w int) {
	var seen uint32
	for {
		seen = t.awaitOp(w, seen)
		if !t.helpers[w-1].claimFor(seen) {
			continue // the caller ran this share
		}
		if t.quit {
			t.helpers[w-1].g.close()
			return
		}
		t.work(w)
		if t.pending.Add(-1) == 0 {
			t.caller.wake()
		}
	}
}

// start starts the workers-1 helper goroutines of a team that runs work.
func (t *team) start(workers int, work func(w int)) {
	t.work = work
	t.spin = runtime.GOMAXPROCS(0) >= workers
	t.helpers = make([]parker, workers-1)
	for i := range t.helpers {
		t.helpers[i] = newParker()
	}
	t.caller = newParker()
	for w := 1; w < workers; w++ {
		go t.loop(w)
	}
}

// stop makes the helpers return. The team must not run after.
func (t *team) stop() {
	t.quit = true
	t.publish()
	// Each helper closes its own pipe when it quits; no helper sends to
	// the caller's after the last op returned (the quit op sends nothing).
	t.caller.g.close()
}

// Close stops the worker goroutines. The engine must not be used after.
func (e *Engine) Close() {
	if e.workers == 1 || e.op == opQuit {
		return
	}
	e.op = opQuit
	e.sync.stop()
}
