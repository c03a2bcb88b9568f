package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// packRows writes random sequences into g two to a row where they fit,
// with Pos restarting at 0 at each, so the executor also runs packed rows.
func packRows(g *Graph, rng *rand.Rand) {
	V := g.p.Cfg.Vocab
	for b := 0; b < g.B; b++ {
		first := 1 + rng.IntN(g.T-1)
		for t := 0; t < g.T; t++ {
			i := b*g.T + t
			g.Tokens[i] = 1 + rng.IntN(V-1)
			g.Targets[i] = 1 + rng.IntN(V-1)
			g.Weights[i] = float32(2*rng.Float64() - 1)
			g.EntropyWeights[i] = float32(0.1 * rng.Float64())
			g.Pos[i] = t
			if t >= first {
				g.Pos[i] = t - first
			}
		}
	}
}

// TestGraphExecutorMatchesTape: the executor (graph_exec.go) gives bitwise
// the Loss, LogP, Entropy and gradients of gorgonia's tape machine running
// the same graph, over three training steps with AdamW updates in between
// (so every reused buffer starts dirty) and a forward-only pass, on tied
// and untied heads, packed rows with entropy weights, a temperature != 1,
// and the small preset's width. The tape graph runs on one worker, the
// executor on two, so this also shows the result does not depend on the
// worker count.
func TestGraphExecutorMatchesTape(t *testing.T) {
	for _, tc := range []struct {
		preset  string
		dim     int
		tied    bool
		temp    float32
		B, T    int
		packed  bool
		entropy bool
		vocab   int
	}{
		{"tiny", 0, true, 1, 3, 9, false, false, 13},
		{"tiny", 0, false, 0.7, 2, 12, true, true, 17},
		{"tiny", 128, true, 1, 4, 32, true, true, 103},
		{"small", 0, false, 1.3, 2, 64, false, true, 103},
	} {
		name := fmt.Sprintf("%s/D=%d/tied=%v/temp=%g/B=%d/T=%d/packed=%v", tc.preset, tc.dim, tc.tied, tc.temp, tc.B, tc.T, tc.packed)
		t.Run(name, func(t *testing.T) {
			opts := GraphOptions{Temperature: tc.temp, Entropy: tc.entropy}
			pTape := testParamsShape(t, tc.preset, tc.tied, tc.vocab, tc.dim, 0, 0, 9)
			pExec := testParamsShape(t, tc.preset, tc.tied, tc.vocab, tc.dim, 0, 0, 9)
			prev := runtime.GOMAXPROCS(1)
			tapeOpts := opts
			tapeOpts.tape = true
			tape, err := NewGraph(pTape, tc.B, tc.T, tapeOpts)
			runtime.GOMAXPROCS(2)
			var exec *Graph
			if err == nil {
				exec, err = NewGraph(pExec, tc.B, tc.T, opts)
			}
			runtime.GOMAXPROCS(prev)
			if err != nil {
				t.Fatal(err)
			}
			defer exec.Close()
			if tape.train.exec != nil || exec.train.exec == nil {
				t.Fatal("the tape graph runs on the executor or the executor graph does not")
			}
			oTape, _ := NewAdamW(pTape, DefaultAdamWConfig())
			oExec, _ := NewAdamW(pExec, DefaultAdamWConfig())
			rng := rand.New(rand.NewPCG(11, 12))
			for step := 0; step < 3; step++ {
				fillBatch(tape, rng, []int{tc.T, tc.T - 1, tc.T / 2, 1}[:tc.B])
				if tc.packed {
					packRows(tape, rng)
				}
				copy(exec.Tokens, tape.Tokens)
				copy(exec.Targets, tape.Targets)
				copy(exec.Weights, tape.Weights)
				copy(exec.EntropyWeights, tape.EntropyWeights)
				copy(exec.Pos, tape.Pos)
				for _, g := range []*Graph{tape, exec} {
					if err := g.Step(); err != nil {
						t.Fatal(err)
					}
				}
				checkSameGraphOutputs(t, fmt.Sprintf("step %d", step), tape, exec, true)
				oTape.Update(pTape.Data, tape.Grads(), 1e-2)
				oExec.Update(pExec.Data, exec.Grads(), 1e-2)
			}
			for _, g := range []*Graph{tape, exec} {
				if err := g.Forward(); err != nil {
					t.Fatal(err)
				}
			}
			checkSameGraphOutputs(t, "forward", tape, exec, false)
			if !slices.Equal(pTape.Data, pExec.Data) {
				t.Error("parameters differ after three updates")
			}
		})
	}
}

func checkSameGraphOutputs(t *testing.T, what string, want, got *Graph, grads bool) {
	t.Helper()
	if got.Loss != want.Loss {
		t.Errorf("%s: executor Loss = %v, tape %v", what, got.Loss, want.Loss)
	}
	if !slices.Equal(got.LogP, want.LogP) {
		t.Errorf("%s: executor LogP differs from the tape's", what)
	}
	if !slices.Equal(got.Entropy, want.Entropy) {
		t.Errorf("%s: executor Entropy differs from the tape's", what)
	}
	if !grads {
		return
	}
	for _, tn := range want.p.Tensors {
		a := want.Grads()[tn.Offset:][:len(tn.Data)]
		b := got.Grads()[tn.Offset:][:len(tn.Data)]
		for i := range a {
			if a[i] != b[i] {
				t.Errorf("%s: gradient of %s[%d]: executor %v, tape %v", what, tn.Name, i, b[i], a[i])
				break
			}
		}
	}
}

// TestGraphStepAllocs: once warm, a training step on the executor (Step,
// then AdamW) allocates nothing, on one worker and on two (on as many Ps,
// counted by testing.AllocsPerRun and by mallocsOnTwoPsSplit, which on 2
// Ps also counts the runtime's sudogs of channel waits: none either), and
// so does a forward-only pass.
func TestGraphStepAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			prev := runtime.GOMAXPROCS(workers)
			defer runtime.GOMAXPROCS(prev)
			p := testParamsShape(t, "tiny", true, 103, 128, 4, 2, 3)
			g, err := NewGraph(p, 4, 32, GraphOptions{Entropy: true})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			o, err := NewAdamW(p, DefaultAdamWConfig())
			if err != nil {
				t.Fatal(err)
			}
			packRows(g, rand.New(rand.NewPCG(1, 2)))
			step := func() {
				if err := g.Step(); err != nil {
					t.Fatal(err)
				}
				o.Update(p.Data, g.Grads(), 1e-3)
			}
			step() // warm-up: scratch buffers, the pool's goroutines
			if n := testing.AllocsPerRun(5, step); n != 0 {
				t.Errorf("training step allocs = %v, want 0", n)
			}
			// AllocsPerRun runs on one P; with two, the package's code
			// must still allocate nothing (mallocsOnTwoPsSplit), nor the
			// runtime for it: a wait on a channel may take a new sudog
			// when the per-P caches have drifted (this count drains them
			// first, the worst case), so the pool and the graph's matrix
			// products hand off through a team (engine_sync.go), as the
			// engine does.
			runtime.GOMAXPROCS(workers)
			own, sudogs := mallocsOnTwoPsSplit(10, step)
			if own != 0 || sudogs != 0 {
				t.Errorf("10 training steps on %d Ps with drained sudog caches: the package allocated %d times and the runtime %d sudogs for it, want 0 and 0", workers, own, sudogs)
			}
			if err := g.Forward(); err != nil {
				t.Fatal(err)
			}
			if n := testing.AllocsPerRun(5, func() { _ = g.Forward() }); n != 0 {
				t.Errorf("forward allocs = %v, want 0", n)
			}
		})
	}
}

// TestGraphExecutorBuffers: the executor shares buffers between nodes
// whose lives do not overlap: the training graph holds far less than the
// sum of its outputs, and no step writes into one of its own inputs.
func TestGraphExecutorBuffers(t *testing.T) {
	p := testParamsShape(t, "small", true, 103, 0, 0, 0, 3)
	g, err := NewGraph(p, 8, 64, GraphOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	x := g.train.exec
	var sum int
	for _, s := range x.steps {
		sum += 4 * len(s.out)
		for _, in := range s.in {
			if len(in) > 0 && &in[0] == &s.out[0] {
				t.Errorf("step %v writes into its own input", s.node.Op())
			}
		}
	}
	held := x.bytes()
	t.Logf("%d steps, outputs %d MiB, buffers held %d MiB", len(x.steps), sum>>20, held>>20)
	if held*2 > sum {
		t.Errorf("executor holds %d bytes for %d bytes of outputs: want less than half", held, sum)
	}
}

// TestGraphExecutorUnknownOp: a graph with an op that has no executor
// kernel is refused with an error naming it, not run wrongly.
func TestGraphExecutorUnknownOp(t *testing.T) {
	g := G.NewGraph()
	a := G.NewMatrix(g, tensor.Float32, G.WithShape(2, 2), G.WithValue(tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float32{1, 2, 3, 4}))))
	y := G.Must(G.Tanh(a))
	_, err := compileExec(g, G.Nodes{y}, nil)
	if err == nil || !strings.Contains(err.Error(), "no kernel for op") {
		t.Errorf("compile a graph with tanh: err = %v, want one naming the op", err)
	}
}

// TestMatMulOpMatchesGorgonia: matMulOp gives bitwise what gorgonia's Mul
// gives through the same BLAS, for A B, A Bᵀ and Aᵀ B, in float32; in
// float64 (gradient checks only) within 1e-12 relative, as gorgonia hands
// gonum's Dgemm a transposed copy where matMulOp passes the transpose flag.
func TestMatMulOpMatchesGorgonia(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const m, n, k = 37, 29, 71
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}} {
			g := G.NewGraph()
			mat := func(r, c int) *G.Node {
				var back interface{}
				if dt == tensor.Float32 {
					d := make([]float32, r*c)
					for i := range d {
						d[i] = float32(rng.NormFloat64())
					}
					back = d
				} else {
					d := make([]float64, r*c)
					for i := range d {
						d[i] = rng.NormFloat64()
					}
					back = d
				}
				return G.NewMatrix(g, dt, G.WithShape(r, c), G.WithValue(tensor.New(tensor.WithShape(r, c), tensor.WithBacking(back))))
			}
			ar, ac, br, bc := m, k, k, n
			if tr[0] {
				ar, ac = k, m
			}
			if tr[1] {
				br, bc = n, k
			}
			a, b := mat(ar, ac), mat(br, bc)
			ga, gb := a, b
			if tr[0] {
				ga = G.Must(G.Transpose(a))
			}
			if tr[1] {
				gb = G.Must(G.Transpose(b))
			}
			want := G.Must(G.Mul(ga, gb))
			got := G.Must(applyMatMul(a, b, tr[0], tr[1]))
			vm := G.NewTapeMachine(g)
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(want.Shape(), got.Shape()) {
				t.Fatalf("%v %v: shape %v, want %v", dt, tr, got.Shape(), want.Shape())
			}
			if w, ok := want.Value().Data().([]float64); ok {
				for i, v := range got.Value().Data().([]float64) {
					if math.Abs(v-w[i]) > 1e-12*(1+math.Abs(w[i])) {
						t.Fatalf("float64, transposed %v: entry %d = %v, gorgonia's Mul %v", tr, i, v, w[i])
					}
				}
			} else if !reflect.DeepEqual(want.Value().Data(), got.Value().Data()) {
				t.Errorf("%v, transposed %v: matMulOp differs from gorgonia's Mul", dt, tr)
			}
			vm.Close()
		}
	}
}
