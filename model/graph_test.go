package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
)

// testParams returns a tiny model with every parameter (gains and biases
// too) drawn at random, so no gradient is trivially zero or one.
func testParams(t testing.TB, tied bool, vocab int, seed uint64) *Params {
	t.Helper()
	return testParamsShape(t, "tiny", tied, vocab, 0, 0, 0, seed)
}

// testParamsShape is testParams on a preset with Dim, Heads and Layers
// replaced where dim, heads, layers are not 0.
func testParamsShape(t testing.TB, preset string, tied bool, vocab, dim, heads, layers int, seed uint64) *Params {
	t.Helper()
	cfg, err := Preset(preset, vocab)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Tied = tied
	if dim != 0 {
		cfg.Dim = dim
	}
	if heads != 0 {
		cfg.Heads = heads
	}
	if layers != 0 {
		cfg.Layers = layers
	}
	p := NewParams(cfg)
	p.Init(seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, tn := range p.Tensors {
		if len(tn.Shape) == 1 {
			for i := range tn.Data {
				tn.Data[i] += float32(0.2 * rng.NormFloat64())
			}
		}
	}
	return p
}

// fillBatch writes random sequences of mixed lengths into g: row b holds a
// sequence of length lens[b] <= T, right-padded with 0; targets are the next
// tokens, weights random in [-1, 1) on real targets and 0 on padding.
func fillBatch(g *Graph, rng *rand.Rand, lens []int) {
	V := g.p.Cfg.Vocab
	for b := 0; b < g.B; b++ {
		for t := 0; t < g.T; t++ {
			i := b*g.T + t
			g.Tokens[i], g.Targets[i], g.Weights[i] = 0, 0, 0
			if t < lens[b] {
				g.Tokens[i] = 1 + rng.IntN(V-1)
			}
		}
		for t := 0; t+1 < lens[b]; t++ {
			i := b*g.T + t
			g.Targets[i] = g.Tokens[i+1]
			g.Weights[i] = float32(2*rng.Float64() - 1)
		}
	}
}

// TestGraphMatchesReference holds the float32 graph's LogP to the float64
// reference forward (ReferenceLogits) within 1e-5 absolute, on mixed-length
// right-padded sequences, tied and untied heads, two temperatures, and
// widths 128 and 256 (gorgonia's own attention chain was wrong from D = 128),
// including the real small preset.
func TestGraphMatchesReference(t *testing.T) {
	const tol = 1e-5
	for _, tc := range []struct {
		preset             string
		dim, heads, layers int // 0: the preset's
		tied               bool
		temp               float32
		B, T               int
	}{
		{"tiny", 0, 0, 0, true, 1, 3, 9},
		{"tiny", 0, 0, 0, false, 1, 2, 7},
		{"tiny", 0, 0, 0, true, 0.7, 2, 8},
		{"tiny", 0, 0, 0, false, 1.3, 3, 5},
		{"tiny", 128, 2, 1, true, 1, 1, 8},
		{"tiny", 128, 4, 2, false, 0.8, 2, 7},
		{"tiny", 256, 8, 1, true, 1, 2, 6},
		{"small", 0, 0, 0, true, 1, 2, 10},
	} {
		name := fmt.Sprintf("%s/D=%d/H=%d/L=%d/tied=%v/temp=%g", tc.preset, tc.dim, tc.heads, tc.layers, tc.tied, tc.temp)
		t.Run(name, func(t *testing.T) {
			p := testParamsShape(t, tc.preset, tc.tied, 13, tc.dim, tc.heads, tc.layers, 7)
			g, err := NewGraph(p, tc.B, tc.T, GraphOptions{Temperature: tc.temp, Entropy: true})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			rng := rand.New(rand.NewPCG(3, 4))
			lens := make([]int, tc.B)
			for b := range lens {
				lens[b] = tc.T - b*2
			}
			fillBatch(g, rng, lens)
			if err := g.Step(); err != nil {
				t.Fatal(err)
			}
			var loss float64
			for b := 0; b < tc.B; b++ {
				seq := g.Tokens[b*tc.T : b*tc.T+lens[b]]
				lp := ReferenceLogProbs(ReferenceLogits(p, seq, float64(tc.temp)))
				for i := 0; i+1 < lens[b]; i++ {
					k := b*tc.T + i
					want := lp[i][g.Targets[k]]
					if d := math.Abs(float64(g.LogP[k]) - want); d > tol {
						t.Errorf("LogP[b=%d, t=%d] = %.8f, want %.8f (|diff| %.2g > %g)", b, i, g.LogP[k], want, d, tol)
					}
					var h float64
					for _, l := range lp[i] {
						h -= math.Exp(l) * l
					}
					if d := math.Abs(float64(g.Entropy[k]) - h); d > tol {
						t.Errorf("Entropy[b=%d, t=%d] = %.8f, want %.8f", b, i, g.Entropy[k], h)
					}
					loss += float64(g.Weights[k]) * want
				}
			}
			if d := math.Abs(g.Loss - loss); d > tol {
				t.Errorf("Loss = %.8f, want %.8f", g.Loss, loss)
			}
		})
	}
}

// TestGraphGradCheck compares the float64 graph's gradient of the weighted
// loss with central differences (h = 1e-5) on several entries of every
// parameter tensor: relative error |a-n| / max(|a|+|n|, 1e-4) < 1e-5; the
// tiny preset and a D = 128 variant (fewer entries, to stay fast).
func TestGraphGradCheck(t *testing.T) {
	const (
		h     = 1e-5
		tol   = 1e-5
		floor = 1e-4 // key biases have an exact zero gradient (softmax shift invariance): difference noise ~1e-11
	)
	for _, tc := range []struct {
		tied               bool
		dim, heads, layers int // 0: the tiny preset's
		per                int // entries sampled per tensor
	}{
		{true, 0, 0, 0, 5},
		{false, 0, 0, 0, 5},
		{false, 128, 4, 1, 2},
	} {
		t.Run(fmt.Sprintf("tied=%v/D=%d/H=%d/L=%d", tc.tied, tc.dim, tc.heads, tc.layers), func(t *testing.T) {
			tied, per := tc.tied, tc.per
			p := testParamsShape(t, "tiny", tied, 12, tc.dim, tc.heads, tc.layers, 11)
			const B, T = 2, 6
			g, err := NewGraph(p, B, T, GraphOptions{Float64: true, Temperature: 0.9})
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(5, 6))
			fillBatch(g, rng, []int{T, T - 2})
			checkGraphGrad(t, g, rng, per, h, tol, floor)
		})
	}
}

// TestGraphStepRepeatable runs the same batch twice: the second step's
// gradient must equal the first's bitwise (gorgonia's dual values are
// zeroed between steps), and Grads accumulates across steps.
func TestGraphStepRepeatable(t *testing.T) {
	p := testParams(t, true, 12, 3)
	g, err := NewGraph(p, 2, 6, GraphOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	fillBatch(g, rand.New(rand.NewPCG(1, 2)), []int{6, 4})
	if err := g.Step(); err != nil {
		t.Fatal(err)
	}
	first := append([]float32(nil), g.Grads()...)
	loss := g.Loss
	if err := g.Step(); err != nil {
		t.Fatal(err)
	}
	if g.Loss != loss {
		t.Errorf("second Loss = %v, want %v", g.Loss, loss)
	}
	for i, v := range g.Grads() {
		if v != 2*first[i] {
			t.Fatalf("Grads[%d] after two steps = %v, want 2 * %v", i, v, first[i])
		}
	}
	g.ZeroGrads()
	if err := g.Step(); err != nil {
		t.Fatal(err)
	}
	for i, v := range g.Grads() {
		if v != first[i] {
			t.Fatalf("Grads[%d] after zero and step = %v, want %v", i, v, first[i])
		}
	}
	g.Tokens[0] = 99
	if err := g.Step(); err == nil {
		t.Error("Step with token 99 in vocab 12: got nil error, want one")
	}
}

// TestGraphBLAS: -tags openblas really routes gorgonia to OpenBLAS.
func TestGraphBLAS(t *testing.T) {
	got := fmt.Sprintf("%T", G.WhichBLAS())
	want := map[string]string{"gonum": "gonum.Implementation", "gonum+sgemm": "model.FastBLAS", "openblas": "netlib.Implementation"}[GraphBLAS]
	if got != want {
		t.Errorf("GraphBLAS %q: gorgonia uses %s, want %s", GraphBLAS, got, want)
	}
}

// TestGraphPacked: four sequences packed two to a row (Pos restarting at 0)
// give the same LogP and the same gradient as one sequence per row, in the
// float64 graph within 1e-10 (LogP, stored as float32, within 1e-6); a Pos that neither starts at 0 nor continues
// the previous id is rejected with an error.
func TestGraphPacked(t *testing.T) {
	p := testParams(t, false, 17, 5)
	rng := rand.New(rand.NewPCG(5, 6))
	lens := []int{5, 6, 7, 4}
	const T = 12
	plain, err := NewGraph(p, 4, T, GraphOptions{Float64: true})
	if err != nil {
		t.Fatal(err)
	}
	fillBatch(plain, rng, lens)
	packed, err := NewGraph(p, 2, T, GraphOptions{Float64: true})
	if err != nil {
		t.Fatal(err)
	}
	type at struct{ row, col int }
	where := make([][]at, len(lens)) // where[s][k]: packed slot of token k of sequence s
	for s, n := range lens {
		row, col := s/2, 0
		if s%2 == 1 {
			col = lens[s-1]
		}
		for k := range n {
			i, j := row*T+col+k, s*T+k
			packed.Tokens[i], packed.Targets[i], packed.Weights[i] = plain.Tokens[j], plain.Targets[j], plain.Weights[j]
			packed.Pos[i] = k
			where[s] = append(where[s], at{row, col + k})
		}
		if s%2 == 1 { // padding after the pair: a segment of its own
			for k := 0; col+n+k < T; k++ {
				packed.Pos[row*T+col+n+k] = k
			}
		}
	}
	if err := plain.Step(); err != nil {
		t.Fatal(err)
	}
	if err := packed.Step(); err != nil {
		t.Fatal(err)
	}
	for s := range lens {
		for k, w := range where[s] {
			got, want := packed.LogP[w.row*T+w.col], plain.LogP[s*T+k]
			if d := math.Abs(float64(got - want)); d > 1e-6 { // LogP is float32
				t.Fatalf("sequence %d token %d: packed logp %.10g, alone %.10g", s, k, got, want)
			}
		}
	}
	if d := math.Abs(packed.Loss - plain.Loss); d > 1e-10 {
		t.Fatalf("packed loss %.12g, plain %.12g", packed.Loss, plain.Loss)
	}
	for i, want := range plain.Grads64() {
		if d := math.Abs(packed.Grads64()[i] - want); d > 1e-10 {
			t.Fatalf("grad[%d]: packed %.12g, plain %.12g", i, packed.Grads64()[i], want)
		}
	}
	packed.Pos[3] = 7 // neither 0 nor Pos[2]+1
	if err := packed.Step(); err == nil || !strings.Contains(err.Error(), "position id 7") {
		t.Fatalf("bad Pos: error %v, want one naming position id 7", err)
	}
}

// checkGraphGrad runs a Step of the float64 graph g (inputs already written)
// and holds Grads64 to central differences (step h) of g.Loss at per
// sampled entries of every parameter tensor (embedding rows that the batch
// uses): |a-n| / max(|a|+|n|, floor) <= tol.
func checkGraphGrad(t *testing.T, g *Graph, rng *rand.Rand, per int, h, tol, floor float64) {
	t.Helper()
	if err := g.Step(); err != nil {
		t.Fatal(err)
	}
	p := g.Params()
	grad := append([]float64(nil), g.Grads64()...)
	lossAt := func(i int, v float64) float64 {
		old := g.Data64[i]
		g.Data64[i] = v
		if err := g.Forward(); err != nil {
			t.Fatal(err)
		}
		g.Data64[i] = old
		return g.Loss
	}
	worst := 0.0
	for _, tn := range p.Tensors {
		for s := 0; s < per; s++ {
			j := rng.IntN(len(tn.Data))
			if tn == p.WTE || tn == p.WPE { // rows that are used
				row := g.Tokens[rng.IntN(g.B*g.T)]
				if tn == p.WPE {
					row = rng.IntN(g.T)
				}
				j = row*tn.Shape[1] + rng.IntN(tn.Shape[1])
			}
			i := tn.Offset + j
			x := g.Data64[i]
			num := (lossAt(i, x+h) - lossAt(i, x-h)) / (2 * h)
			rel := math.Abs(grad[i]-num) / math.Max(math.Abs(grad[i])+math.Abs(num), floor)
			worst = math.Max(worst, rel)
			if rel > tol {
				t.Errorf("%s[%d]: graph %.10g, central difference %.10g (rel err %.2g > %g)", tn.Name, j, grad[i], num, rel, tol)
			}
		}
	}
	t.Logf("worst relative error %.2g over %d tensors", worst, len(p.Tensors))
}

// TestGraphAfterClose: a closed graph refuses to run with an error, not a
// panic from inside its worker pool.
func TestGraphAfterClose(t *testing.T) {
	p := testParams(t, true, 12, 3)
	g, err := NewGraph(p, 2, 6, GraphOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fillBatch(g, rand.New(rand.NewPCG(1, 2)), []int{6, 4})
	g.Close()
	g.Close() // twice is fine
	if err := g.Step(); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Step after Close: err = %v, want one saying the graph is closed", err)
	}
	if err := g.Forward(); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Forward after Close: err = %v, want one saying the graph is closed", err)
	}
}
