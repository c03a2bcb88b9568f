package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// fusedRefs are plain float64 references for the forward fusedOps: x is
// (N, C) and the other inputs (N, C) or (C) as in fusedSigs.
var fusedRefs = map[fusedKind]func(x []float64, vecs [][]float64, N, C int) []float64{
	fusedLayerNorm: func(x []float64, vecs [][]float64, N, C int) []float64 {
		y := make([]float64, N*C)
		for r := 0; r < N; r++ {
			var mean, vr float64
			for c := 0; c < C; c++ {
				mean += x[r*C+c]
			}
			mean /= float64(C)
			for c := 0; c < C; c++ {
				vr += (x[r*C+c] - mean) * (x[r*C+c] - mean)
			}
			vr /= float64(C)
			for c := 0; c < C; c++ {
				y[r*C+c] = (x[r*C+c]-mean)/math.Sqrt(vr+1e-5)*vecs[0][c] + vecs[1][c]
			}
		}
		return y
	},
	fusedBias: func(x []float64, vecs [][]float64, N, C int) []float64 {
		y := make([]float64, N*C)
		for i := range y {
			y[i] = x[i] + vecs[0][i%C]
		}
		return y
	},
	fusedResidualBias: func(x []float64, vecs [][]float64, N, C int) []float64 {
		y := make([]float64, N*C)
		for i := range y {
			y[i] = x[i] + vecs[0][i] + vecs[1][i%C]
		}
		return y
	},
	fusedBiasGELU: func(x []float64, vecs [][]float64, N, C int) []float64 {
		y := make([]float64, N*C)
		for i := range y {
			u := x[i] + vecs[0][i%C]
			y[i] = 0.5 * u * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(u+0.044715*u*u*u)))
		}
		return y
	},
}

var fusedShapes = []struct{ N, C int }{
	{1, 1},
	{3, 5},
	{37, 9},    // crosses a row block
	{130, 128}, // N*C >= fusedMinParallel: several workers
}

// fusedInputs returns x (N, C), scale 1.5 so GELU sees its curved part, and
// the op's other inputs, (N, C) or (C); LayerNorm's gain is around 1.
func fusedInputs(rng *rand.Rand, kind fusedKind, N, C int) (x []float64, vecs [][]float64) {
	x = randSlice(rng, N*C, 1.5)
	for _, r := range fusedSigs[kind].in[1:] {
		n := C
		if r == 2 {
			n = N * C
		}
		vecs = append(vecs, randSlice(rng, n, 0.5))
	}
	if kind == fusedLayerNorm {
		for c := range vecs[0] {
			vecs[0][c] += 1
		}
	}
	return x, vecs
}

func toDtype(x []float64, dt tensor.Dtype) interface{} {
	if dt == tensor.Float64 {
		return append([]float64(nil), x...)
	}
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// fusedGraph evaluates y = op(x, vecs...) and the gradient of
// sum(r * y) with respect to every input through a gorgonia graph of dtype
// dt (so SymDiff and the gradient ops are what is tested).
func fusedGraph(t *testing.T, kind fusedKind, x []float64, vecs [][]float64, r []float64, N, C int, dt tensor.Dtype) (y []float64, grads [][]float64) {
	t.Helper()
	g := G.NewGraph()
	in := G.Nodes{G.NewMatrix(g, dt, G.WithShape(N, C), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(N, C), tensor.WithBacking(toDtype(x, dt)))))}
	for i, v := range vecs {
		sh := tensor.Shape{C}
		if len(v) != C || fusedSigs[kind].in[i+1] == 2 {
			sh = tensor.Shape{N, C}
		}
		in = append(in, G.NewTensor(g, dt, len(sh), G.WithShape(sh...), G.WithName(fmt.Sprintf("v%d", i)),
			G.WithValue(tensor.New(tensor.WithShape(sh...), tensor.WithBacking(toDtype(v, dt))))))
	}
	rn := G.NewMatrix(g, dt, G.WithShape(N, C), G.WithName("r"),
		G.WithValue(tensor.New(tensor.WithShape(N, C), tensor.WithBacking(toDtype(r, dt)))))
	out, err := applyFused(kind, in...)
	if err != nil {
		t.Fatal(err)
	}
	prod, err := G.HadamardProd(out, rn)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := G.Sum(prod)
	if err != nil {
		t.Fatal(err)
	}
	grads = tapeGrads(t, g, loss, in...)
	return toFloat64s(out.Value().Data()), grads
}

// tapeGrads runs g on gorgonia's tape machine and returns d loss / d wrt[i]
// of each node, as float64.
func tapeGrads(t *testing.T, g *G.ExprGraph, loss *G.Node, wrt ...*G.Node) [][]float64 {
	t.Helper()
	if _, err := G.Grad(loss, wrt...); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g, G.BindDualValues(wrt...))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	var grads [][]float64
	for _, n := range wrt {
		gv, err := n.Grad()
		if err != nil {
			t.Fatal(err)
		}
		grads = append(grads, toFloat64s(gv.Data()))
	}
	return grads
}

// TestFusedForward holds LayerNorm, Bias, BiasGELU and ResidualBias to
// their float64 references: the float64 ops within 1e-12 absolute, float32
// within 1e-5 (outputs are O(1)).
func TestFusedForward(t *testing.T) {
	for _, kind := range []fusedKind{fusedLayerNorm, fusedBias, fusedBiasGELU, fusedResidualBias} {
		for _, s := range fusedShapes {
			t.Run(fmt.Sprintf("%s/N=%d/C=%d", fusedSigs[kind].name, s.N, s.C), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(1, uint64(kind)))
				x, vecs := fusedInputs(rng, kind, s.N, s.C)
				want := fusedRefs[kind](x, vecs, s.N, s.C)
				r := make([]float64, s.N*s.C)
				for _, tc := range []struct {
					dt  tensor.Dtype
					tol float64
				}{{tensor.Float64, 1e-12}, {tensor.Float32, 1e-5}} {
					got, _ := fusedGraph(t, kind, x, vecs, r, s.N, s.C, tc.dt)
					for i := range want {
						if d := math.Abs(got[i] - want[i]); d > tc.tol {
							t.Fatalf("%v: y[%d] = %.9g, want %.9g (|diff| %.2g > %g)", tc.dt, i, got[i], want[i], d, tc.tol)
						}
					}
				}
			})
		}
	}
}

// TestFusedGrad compares the float64 gradient of sum(r * op(x, vecs)) for
// every input with central differences (h = 1e-5) of the float64 reference
// on up to 60 entries per input: |a-n| / max(|a|+|n|, 1e-4) < 1e-6. The
// differences are summed output by output, so their rounding error stays
// near 1e-11; the truncation error (h^2 times the third derivative) is
// about 1e-10, hence the floor. The float32 gradient must be within 1e-4 of
// the float64 one, relative to max(|g|, 1): column sums over 130 rows
// accumulate float32 rounding.
func TestFusedGrad(t *testing.T) {
	const (
		h     = 1e-5
		tol   = 1e-6
		floor = 1e-4
	)
	for _, kind := range []fusedKind{fusedLayerNorm, fusedBias, fusedBiasGELU, fusedResidualBias} {
		for _, s := range fusedShapes {
			t.Run(fmt.Sprintf("%s/N=%d/C=%d", fusedSigs[kind].name, s.N, s.C), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(2, uint64(kind)))
				x, vecs := fusedInputs(rng, kind, s.N, s.C)
				r := randSlice(rng, s.N*s.C, 1)
				_, grads := fusedGraph(t, kind, x, vecs, r, s.N, s.C, tensor.Float64)
				inputs := append([][]float64{x}, vecs...)
				worst := 0.0
				for k, v := range inputs {
					stride := max(1, len(v)/60)
					for i := 0; i < len(v); i += stride {
						old := v[i]
						v[i] = old + h
						yp := fusedRefs[kind](x, vecs, s.N, s.C)
						v[i] = old - h
						ym := fusedRefs[kind](x, vecs, s.N, s.C)
						v[i] = old
						var num float64 // sum of differences: unchanged outputs add exactly 0
						for j := range yp {
							num += r[j] * (yp[j] - ym[j])
						}
						num /= 2 * h
						a := grads[k][i]
						rel := math.Abs(a-num) / math.Max(math.Abs(a)+math.Abs(num), floor)
						worst = math.Max(worst, rel)
						if rel > tol {
							t.Errorf("d input %d [%d] = %.10g, central difference %.10g (rel err %.2g > %g)", k, i, a, num, rel, tol)
						}
					}
				}
				t.Logf("worst relative error %.2g", worst)
				_, grads32 := fusedGraph(t, kind, x, vecs, r, s.N, s.C, tensor.Float32)
				for k := range grads {
					for i, g := range grads[k] {
						if d := math.Abs(grads32[k][i]-g) / math.Max(math.Abs(g), 1); d > 1e-4 {
							t.Errorf("float32 d input %d [%d] = %.7g, float64 %.7g", k, i, grads32[k][i], g)
						}
					}
				}
			})
		}
	}
}

// TestFusedWorkers: every fusedOp kind gives bitwise the same output with
// 1 and 3 workers, in float32, on a shape large enough to run in parallel.
func TestFusedWorkers(t *testing.T) {
	const N, C = 130, 128
	rng := rand.New(rand.NewPCG(5, 6))
	mat := func() tensor.Tensor {
		return tensor.New(tensor.WithShape(N, C), tensor.WithBacking(toDtype(randSlice(rng, N*C, 1), tensor.Float32)))
	}
	vec := func() tensor.Tensor {
		return tensor.New(tensor.WithShape(C), tensor.WithBacking(toDtype(randSlice(rng, C, 1), tensor.Float32)))
	}
	for kind, sig := range fusedSigs {
		t.Run(sig.name, func(t *testing.T) {
			var in []G.Value
			for _, r := range sig.in {
				if r == 2 {
					in = append(in, mat())
				} else {
					in = append(in, vec())
				}
			}
			var first []float64
			for _, workers := range []int{1, 3} {
				op := newFusedOp(fusedKind(kind), N, C)
				op.workers = workers
				out, err := op.Do(in...)
				if err != nil {
					t.Fatal(err)
				}
				got := toFloat64s(out.Data())
				if first == nil {
					first = got
					continue
				}
				for i := range got {
					if got[i] != first[i] {
						t.Fatalf("out[%d] with %d workers = %v, with 1 worker %v: want bitwise equal", i, workers, got[i], first[i])
					}
				}
			}
		})
	}
}

// lossRef is the float64 reference of lossOp: log-softmax rows of
// logits/temp, then logp at the targets, the entropies and the loss.
func lossRef(logits []float64, targets []int, w, e []float32, V int, temp float64) (logp, ent []float64, loss float64) {
	N := len(targets)
	logp, ent = make([]float64, N), make([]float64, N)
	for t := 0; t < N; t++ {
		z := make([]float64, V)
		mx := math.Inf(-1)
		for v := range z {
			z[v] = logits[t*V+v] / temp
			mx = math.Max(mx, z[v])
		}
		var s float64
		for _, zv := range z {
			s += math.Exp(zv - mx)
		}
		lse := mx + math.Log(s)
		for _, zv := range z {
			ent[t] -= math.Exp(zv-lse) * (zv - lse)
		}
		logp[t] = z[targets[t]] - lse
		loss += float64(w[t])*logp[t] + float64(e[t])*ent[t]
	}
	return logp, ent, loss
}

// lossCase is a random loss problem: w on about two thirds of the rows (0
// elsewhere, as on padding), e on about half.
func lossCase(rng *rand.Rand, N, V int) (logits []float64, g *Graph) {
	logits = randSlice(rng, N*V, 2)
	g = &Graph{Targets: make([]int, N), Weights: make([]float32, N), EntropyWeights: make([]float32, N), LogP: make([]float32, N)}
	for t := 0; t < N; t++ {
		g.Targets[t] = rng.IntN(V)
		if rng.IntN(3) > 0 {
			g.Weights[t] = float32(2*rng.Float64() - 1)
		}
		if rng.IntN(2) > 0 {
			g.EntropyWeights[t] = float32(rng.Float64() - 0.5)
		}
	}
	return logits, g
}

// TestLossOp holds lossOp's LogP, Entropy and Loss to lossRef (float64
// within 1e-12, float32 within 1e-5 absolute) at temperatures 1 and 0.7,
// with and without the Entropy output, and checks that 1 and 3 workers
// agree bitwise.
func TestLossOp(t *testing.T) {
	for _, s := range []struct{ N, V int }{{1, 2}, {37, 11}, {200, 100}} {
		for _, temp := range []float64{1, 0.7} {
			for _, withEnt := range []bool{false, true} {
				t.Run(fmt.Sprintf("N=%d/V=%d/temp=%g/entropy=%v", s.N, s.V, temp, withEnt), func(t *testing.T) {
					logits, g := lossCase(rand.New(rand.NewPCG(7, uint64(s.N))), s.N, s.V)
					if withEnt {
						g.Entropy = make([]float32, s.N)
					}
					logp, ent, loss := lossRef(logits, g.Targets, g.Weights, g.EntropyWeights, s.V, temp)
					for _, tc := range []struct {
						dt  tensor.Dtype
						tol float64
					}{{tensor.Float64, 1e-12}, {tensor.Float32, 1e-5}} {
						var first float64
						for _, workers := range []int{1, 3} {
							op := newLossOp(g, s.N, s.V, temp)
							op.workers = workers
							out, err := op.Do(tensor.New(tensor.WithShape(s.N, s.V), tensor.WithBacking(toDtype(logits, tc.dt))))
							if err != nil {
								t.Fatal(err)
							}
							var got float64
							switch v := out.Data().(type) {
							case float32:
								got = float64(v)
							case float64:
								got = v
							}
							if workers == 1 {
								first = got
							} else if got != first {
								t.Errorf("%v: Loss with 3 workers %v, with 1 %v: want bitwise equal", tc.dt, got, first)
							}
							tol := tc.tol * float64(s.N) // a sum of N terms
							if d := math.Abs(got - loss); d > tol {
								t.Errorf("%v: Loss = %.10g, want %.10g", tc.dt, got, loss)
							}
							for i := range logp {
								if d := math.Abs(float64(g.LogP[i]) - logp[i]); d > max(tc.tol, 1e-6) { // LogP is float32
									t.Fatalf("%v: LogP[%d] = %.8g, want %.8g", tc.dt, i, g.LogP[i], logp[i])
								}
								if withEnt {
									if d := math.Abs(float64(g.Entropy[i]) - ent[i]); d > max(tc.tol, 1e-6) {
										t.Fatalf("%v: Entropy[%d] = %.8g, want %.8g", tc.dt, i, g.Entropy[i], ent[i])
									}
								}
							}
						}
					}
				})
			}
		}
	}
}

// TestLossOpGrad compares the float64 gradient of lossOp (through G.Grad)
// with central differences (h = 1e-5) of lossRef on every logit:
// |a-n| / max(|a|+|n|, 1e-6) < 1e-6. The float32 gradient must be within
// 1e-5 absolute of the float64 one; padding rows (w = e = 0) get exactly 0.
func TestLossOpGrad(t *testing.T) {
	const (
		h     = 1e-5
		tol   = 1e-6
		floor = 1e-6
	)
	for _, s := range []struct{ N, V int }{{1, 2}, {9, 7}} {
		for _, temp := range []float64{1, 0.7} {
			t.Run(fmt.Sprintf("N=%d/V=%d/temp=%g", s.N, s.V, temp), func(t *testing.T) {
				logits, lg := lossCase(rand.New(rand.NewPCG(8, uint64(s.N))), s.N, s.V)
				lg.Weights[0], lg.EntropyWeights[0] = 0.5, -0.3 // at least one row with both
				grad := lossGraphGrad(t, lg, logits, s.N, s.V, temp, tensor.Float64)
				worst := 0.0
				for i := range logits {
					old := logits[i]
					logits[i] = old + h
					_, _, lp := lossRef(logits, lg.Targets, lg.Weights, lg.EntropyWeights, s.V, temp)
					logits[i] = old - h
					_, _, lm := lossRef(logits, lg.Targets, lg.Weights, lg.EntropyWeights, s.V, temp)
					logits[i] = old
					num := (lp - lm) / (2 * h)
					rel := math.Abs(grad[i]-num) / math.Max(math.Abs(grad[i])+math.Abs(num), floor)
					worst = math.Max(worst, rel)
					if rel > tol {
						t.Errorf("dlogits[%d] = %.10g, central difference %.10g (rel err %.2g > %g)", i, grad[i], num, rel, tol)
					}
					if r := i / s.V; lg.Weights[r] == 0 && lg.EntropyWeights[r] == 0 && grad[i] != 0 {
						t.Errorf("dlogits[%d] = %g on a row with w = e = 0: want 0", i, grad[i])
					}
				}
				t.Logf("worst relative error %.2g", worst)
				grad32 := lossGraphGrad(t, lg, logits, s.N, s.V, temp, tensor.Float32)
				for i := range grad {
					if d := math.Abs(grad32[i] - grad[i]); d > 1e-5 {
						t.Errorf("float32 dlogits[%d] = %.7g, float64 %.7g", i, grad32[i], grad[i])
					}
				}
			})
		}
	}
}

// lossGraphGrad returns d lossOp / d logits from a gorgonia graph of dtype dt.
func lossGraphGrad(t *testing.T, lg *Graph, logits []float64, N, V int, temp float64, dt tensor.Dtype) []float64 {
	t.Helper()
	g := G.NewGraph()
	x := G.NewMatrix(g, dt, G.WithShape(N, V), G.WithName("logits"),
		G.WithValue(tensor.New(tensor.WithShape(N, V), tensor.WithBacking(toDtype(logits, dt)))))
	loss, err := G.ApplyOp(newLossOp(lg, N, V, temp), x)
	if err != nil {
		t.Fatal(err)
	}
	return tapeGrads(t, g, loss, x)[0]
}

// fillEntropyWeights sets e_t at random in [-0.5, 0.5) where w_t != 0.
func fillEntropyWeights(g *Graph, rng *rand.Rand) {
	for i, w := range g.Weights {
		g.EntropyWeights[i] = 0
		if w != 0 {
			g.EntropyWeights[i] = float32(rng.Float64() - 0.5)
		}
	}
}

// TestGraphEntropyLoss: with EntropyWeights set (and the Entropy output
// off), the float32 graph's Loss is sum w logp + sum e H of the float64
// reference forward within 1e-5, and LogP is unchanged.
func TestGraphEntropyLoss(t *testing.T) {
	const tol = 1e-5
	const B, T, temp = 2, 8, 0.8
	p := testParams(t, false, 13, 9)
	g, err := NewGraph(p, B, T, GraphOptions{Temperature: temp})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	rng := rand.New(rand.NewPCG(9, 10))
	lens := []int{T, T - 3}
	fillBatch(g, rng, lens)
	fillEntropyWeights(g, rng)
	if err := g.Step(); err != nil {
		t.Fatal(err)
	}
	var loss float64
	for b := 0; b < B; b++ {
		lp := ReferenceLogProbs(ReferenceLogits(p, g.Tokens[b*T:b*T+lens[b]], temp))
		for i := 0; i+1 < lens[b]; i++ {
			k := b*T + i
			var h float64
			for _, l := range lp[i] {
				h -= math.Exp(l) * l
			}
			want := lp[i][g.Targets[k]]
			if d := math.Abs(float64(g.LogP[k]) - want); d > tol {
				t.Errorf("LogP[%d] = %.8f, want %.8f", k, g.LogP[k], want)
			}
			loss += float64(g.Weights[k])*want + float64(g.EntropyWeights[k])*h
		}
	}
	if d := math.Abs(g.Loss - loss); d > tol {
		t.Errorf("Loss = %.8f, want %.8f (|diff| %.2g > %g)", g.Loss, loss, d, tol)
	}
}

// TestGraphGradCheckEntropy is TestGraphGradCheck with EntropyWeights set
// and temperature 0.7: the float64 graph's gradient of the full loss
// against central differences (h = 1e-5) on 3 entries of every tensor,
// |a-n| / max(|a|+|n|, 1e-4) < 1e-5.
func TestGraphGradCheckEntropy(t *testing.T) {
	const (
		h     = 1e-5
		tol   = 1e-5
		floor = 1e-4
		B, T  = 2, 6
	)
	p := testParams(t, true, 12, 13)
	g, err := NewGraph(p, B, T, GraphOptions{Float64: true, Temperature: 0.7})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	fillBatch(g, rng, []int{T, T - 1})
	fillEntropyWeights(g, rng)
	checkGraphGrad(t, g, rng, 3, h, tol, floor)
}

// TestLayerNormKeptStats: LayerNorm's gradient ops reading the row
// statistics its forward pass kept give bitwise the output of the same ops
// recomputing them (built alone, fwd nil), in float32 and float64.
func TestLayerNormKeptStats(t *testing.T) {
	const N, C = 130, 128
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		t.Run(dt.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(13, 14))
			mat := func() tensor.Tensor {
				return tensor.New(tensor.WithShape(N, C), tensor.WithBacking(toDtype(randSlice(rng, N*C, 1.5), dt)))
			}
			x, dy := mat(), mat()
			gain := tensor.New(tensor.WithShape(C), tensor.WithBacking(toDtype(randSlice(rng, C, 1), dt)))
			bias := tensor.New(tensor.WithShape(C), tensor.WithBacking(toDtype(randSlice(rng, C, 1), dt)))
			fwd := newFusedOp(fusedLayerNorm, N, C)
			if _, err := fwd.Do(x, gain, bias); err != nil {
				t.Fatal(err)
			}
			if n := len(fwd.st32) + len(fwd.st64); n != 2*N {
				t.Fatalf("LayerNorm kept %d row statistics: want %d", n, 2*N)
			}
			for _, tc := range []struct {
				kind fusedKind
				in   []G.Value
			}{{fusedLayerNormGrad, []G.Value{x, gain, dy}}, {fusedLayerNormGainGrad, []G.Value{x, dy}}} {
				var outs [2][]float64
				for i, kept := range []bool{false, true} {
					op := newFusedOp(tc.kind, N, C)
					if kept {
						op.fwd = fwd
					}
					out, err := op.Do(tc.in...)
					if err != nil {
						t.Fatal(err)
					}
					outs[i] = toFloat64s(out.Data())
				}
				for i := range outs[0] {
					if outs[0][i] != outs[1][i] {
						t.Fatalf("%s: out[%d] = %v with kept statistics, %v recomputed: want bitwise equal", fusedSigs[tc.kind].name, i, outs[1][i], outs[0][i])
					}
				}
			}
		})
	}
}

// TestFusedRows32MatchGo: the float32 row kernels that add through
// addVecAVX (column sums, bias, the executor's gradient addition) give
// bitwise the results of the plain Go loops.
func TestFusedRows32MatchGo(t *testing.T) {
	if !useAVX {
		t.Skip("no AVX2 on this CPU: the Go loops run")
	}
	const N, C = 37, 133 // C not a multiple of 8: the scalar tail runs too
	rng := rand.New(rand.NewPCG(15, 16))
	x := toDtype(randSlice(rng, N*C, 1.5), tensor.Float32).([]float32)
	h := toDtype(randSlice(rng, N*C, 1.5), tensor.Float32).([]float32)
	v := toDtype(randSlice(rng, C, 1), tensor.Float32).([]float32)
	same := func(name string, got, want []float32) {
		t.Helper()
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s: [%d] = %v, Go loop %v: want bitwise equal", name, i, got[i], want[i])
			}
		}
	}
	got, want := make([]float32, C), make([]float32, C)
	colSumRows32(got, x, C, 3, N)
	colSumRows(want, x, C, 3, N)
	same("colSumRows32", got, want)

	got, want = make([]float32, N*C), make([]float32, N*C)
	biasRows32(got, x, v, C, 2, N)
	biasRows(want, x, v, C, 2, N)
	same("biasRows32", got, want)

	if err := (addStep{}).into(nil, got, [][]float32{x, h}); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		want[i] = x[i] + h[i]
	}
	same("addStep", got, want)
}

// TestBiasGELURows32MatchGo: the vectorised forward GELU gives bitwise the
// results of biasGELURowsGo32, for widths with and without a scalar tail
// and inputs from tiny to past exp's clamp.
func TestBiasGELURows32MatchGo(t *testing.T) {
	if !useAVX {
		t.Skip("no AVX2 on this CPU: the Go loops run")
	}
	rng := rand.New(rand.NewPCG(17, 18))
	for _, C := range []int{5, 8, 133, 512} {
		for _, scale := range []float64{1e-3, 1.5, 60} {
			const N = 9
			x := toDtype(randSlice(rng, N*C, scale), tensor.Float32).([]float32)
			v := toDtype(randSlice(rng, C, 0.5), tensor.Float32).([]float32)
			got, want := make([]float32, N*C), make([]float32, N*C)
			biasGELURows32(got, x, v, C, 1, N)
			biasGELURowsGo32(want, x, v, C, 1, N)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("C=%d, scale %g: y[%d] = %v, Go loop %v: want bitwise equal", C, scale, i, got[i], want[i])
				}
			}
		}
	}
}

// TestBiasGELUGradRows32MatchGo: the vectorised GELU gradient gives
// bitwise the results of biasGELUGradRowsGo32, for widths with and without
// a scalar tail and inputs from tiny to past exp's clamp.
func TestBiasGELUGradRows32MatchGo(t *testing.T) {
	if !useAVX {
		t.Skip("no AVX2 on this CPU: the Go loops run")
	}
	rng := rand.New(rand.NewPCG(19, 20))
	for _, C := range []int{5, 8, 133, 512} {
		for _, scale := range []float64{1e-3, 1.5, 60} {
			const N = 9
			x := toDtype(randSlice(rng, N*C, scale), tensor.Float32).([]float32)
			dy := toDtype(randSlice(rng, N*C, 1), tensor.Float32).([]float32)
			v := toDtype(randSlice(rng, C, 0.5), tensor.Float32).([]float32)
			got, want := make([]float32, N*C), make([]float32, N*C)
			biasGELUGradRows32(got, x, v, dy, C, 1, N)
			biasGELUGradRowsGo32(want, x, v, dy, C, 1, N)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("C=%d, scale %g: du[%d] = %v, Go loop %v: want bitwise equal", C, scale, i, got[i], want[i])
				}
			}
		}
	}
}

// TestLossKeptStats: the loss gradient reading the row statistics its
// forward pass kept gives bitwise the gradient that recomputes them (an op
// built alone), in float32 and float64, with and without the Entropy
// output, at temperatures 1 and 0.7.
func TestLossKeptStats(t *testing.T) {
	const N, V = 200, 100
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		for _, withEnt := range []bool{false, true} {
			for _, temp := range []float64{1, 0.7} {
				logits, g := lossCase(rand.New(rand.NewPCG(23, 24)), N, V)
				if withEnt {
					g.Entropy = make([]float32, N)
				}
				z := tensor.New(tensor.WithShape(N, V), tensor.WithBacking(toDtype(logits, dt)))
				var up G.Value = G.NewF64(-0.5)
				if dt == tensor.Float32 {
					up = G.NewF32(-0.5)
				}
				var got [2][]float64
				for i, keep := range []bool{false, true} {
					op := newLossOp(g, N, V, temp)
					if keep {
						op.kept = new([]float64)
					}
					if _, err := op.Do(z); err != nil {
						t.Fatal(err)
					}
					gop := &lossGradOp{op.lossShape}
					gop.init()
					out, err := gop.Do(z, up)
					if err != nil {
						t.Fatal(err)
					}
					got[i] = toFloat64s(out.Data())
				}
				for i := range got[0] {
					if got[0][i] != got[1][i] {
						t.Fatalf("%v, entropy %v, temp %g: dz[%d] = %v from kept statistics, %v recomputed: want bitwise equal", dt, withEnt, temp, i, got[1][i], got[0][i])
					}
				}
			}
		}
	}
}

// layerNormRowsRef and layerNormGradRowsRef are layerNormRows and
// layerNormGradRows one row at a time, the order of every sum as in
// layerNormStats: the references of their interleaved rows.
func layerNormRowsRef[F float32 | float64](y, x, gain, bias []F, C, lo, hi int) {
	for r := lo; r < hi; r++ {
		mean, rstd := layerNormStats(x[r*C:][:C])
		for c, v := range x[r*C:][:C] {
			y[r*C+c] = (v-mean)*rstd*gain[c] + bias[c]
		}
	}
}

func layerNormGradRowsRef[F float32 | float64](dx, x, gain, dy []F, C, lo, hi int) {
	for r := lo; r < hi; r++ {
		xr, dyr := x[r*C:][:C], dy[r*C:][:C]
		mean, rstd := layerNormStats(xr)
		var sg, sgx F
		for c, v := range xr {
			g := dyr[c] * gain[c]
			sg += g
			sgx += g * (v - mean) * rstd
		}
		sg /= F(C)
		sgx /= F(C)
		for c, v := range xr {
			dx[r*C+c] = rstd * (dyr[c]*gain[c] - sg - (v-mean)*rstd*sgx)
		}
	}
}

// TestLayerNormRowsMatchRef: LayerNorm's kernels, which interleave the
// sums of several rows, give bitwise the results of one row at a time, for
// row ranges of every length mod 4, in float32 and float64.
func TestLayerNormRowsMatchRef(t *testing.T) {
	testLayerNormRowsMatchRef[float32](t)
	testLayerNormRowsMatchRef[float64](t)
}

func testLayerNormRowsMatchRef[F float32 | float64](t *testing.T) {
	const N, C = 23, 37
	rng := rand.New(rand.NewPCG(25, 26))
	rnd := func(n int, scale, shift float64) []F {
		v := make([]F, n)
		for i := range v {
			v[i] = F(shift + scale*rng.NormFloat64())
		}
		return v
	}
	x, dy, gain, bias := rnd(N*C, 2, 0.5), rnd(N*C, 1, 0), rnd(C, 0.3, 1), rnd(C, 0.3, 0)
	for lo := range 4 {
		for hi := lo; hi <= N; hi++ {
			got, want := make([]F, N*C), make([]F, N*C)
			layerNormRows(got, x, gain, bias, nil, C, lo, hi)
			layerNormRowsRef(want, x, gain, bias, C, lo, hi)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%T rows [%d, %d): y[%d] = %v, one row at a time %v", got[0], lo, hi, i, got[i], want[i])
				}
			}
			layerNormGradRows(got, x, gain, dy, nil, C, lo, hi)
			layerNormGradRowsRef(want, x, gain, dy, C, lo, hi)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%T rows [%d, %d): dx[%d] = %v, one row at a time %v", got[0], lo, hi, i, got[i], want[i])
				}
			}
		}
	}
}

// TestLayerNormRowsMatchesLayerNorm: layerNormRows, which the engine runs
// on its rows, gives each row the bits of the one-row layerNorm, whether
// the row falls in a group of four or in the tail.
func TestLayerNormRowsMatchesLayerNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	const C = 40
	g, b := make([]float32, C), make([]float32, C)
	for c := range C {
		g[c], b[c] = float32(1+0.3*rng.NormFloat64()), float32(0.2*rng.NormFloat64())
	}
	for _, n := range []int{1, 3, 4, 7, 9} {
		x := make([]float32, n*C)
		for i := range x {
			x[i] = float32(2 + 3*rng.NormFloat64())
		}
		got, want := make([]float32, n*C), make([]float32, n*C)
		layerNormRows(got, x, g, b, nil, C, 0, n)
		for r := range n {
			layerNorm(want[r*C:(r+1)*C], x[r*C:(r+1)*C], g, b)
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%d rows: element %d (row %d): layerNormRows %v, layerNorm %v", n, i, i/C, got[i], want[i])
			}
		}
	}
}

// TestSoftmaxRowAVXMatchesGo: the attention softmax with its max,
// subtraction and scaling 8 lanes at a time gives the Go loop's bits on
// every length from 1 to 70 (so every tail), on scores with zeros of both
// signs, ties at the maximum and a wide range.
func TestSoftmaxRowAVXMatchesGo(t *testing.T) {
	if !useAVX {
		t.Skip("no AVX2 on this CPU or build")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for n := 1; n <= 70; n++ {
		for trial := range 4 {
			a := make([]float32, n)
			for j := range a {
				a[j] = float32(rng.NormFloat64() * math.Pow(10, float64(trial-1)))
				switch rng.IntN(8) {
				case 0:
					a[j] = 0
				case 1:
					a[j] = float32(math.Copysign(0, -1))
				}
			}
			if trial == 3 { // the maximum several times
				for j := 0; j < n; j += 3 {
					a[j] = 5
				}
			}
			b := slices.Clone(a)
			attentionSoftmaxRowGo(a)
			softmaxRowAVX(b)
			for j := range a {
				if math.Float32bits(a[j]) != math.Float32bits(b[j]) {
					t.Fatalf("n=%d trial %d element %d: Go %v, AVX %v", n, trial, j, a[j], b[j])
				}
			}
		}
	}
}

// TestLayerNormVecMatchesGo: LayerNorm's element-wise passes on float32
// rows, 8 lanes at a time (layerNormRow, layerNormGradRow and
// layerNormGainGradRow through layerNormArr and layerNormGradArr, the
// gain's gradient as layerNormArr with dgain for the bias), give the Go
// loops' bits on every length from 1 to 70 and on model widths (so every
// tail), at offsets 0 to 3 into their slices, on values with zeros of
// both signs, subnormals, infinities, NaN and products that overflow; and
// they write nothing past the row, even where the destination is longer.
func TestLayerNormVecMatchesGo(t *testing.T) {
	if !useAVX {
		t.Skip("no AVX2 on this CPU or build")
	}
	rng := rand.New(rand.NewPCG(63, 64))
	special := []float32{0, float32(math.Copysign(0, -1)), 1e-40, -1e-40, float32(math.Inf(1)),
		float32(math.Inf(-1)), float32(math.NaN()), 3e38, -3e38}
	rnd := func(n int, scale float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(scale * rng.NormFloat64())
			if rng.IntN(10) == 0 {
				v[i] = special[rng.IntN(len(special))]
			}
		}
		return v
	}
	const guard, sentinel = 9, float32(-12345)
	same := func(name string, n, off int, got, want []float32) {
		t.Helper()
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s n=%d offset %d: [%d] = %v, Go loop %v: want bitwise equal", name, n, off, i-off, got[i], want[i])
			}
		}
	}
	lengths := []int{128, 133, 256, 512}
	for n := 1; n <= 70; n++ {
		lengths = append(lengths, n)
	}
	for _, n := range lengths {
		for off := range 4 {
			for _, scale := range []float64{1e-3, 1.5, 1e3} {
				x, gain, bias, dy := rnd(off+n, scale), rnd(off+n, 1), rnd(off+n, 1), rnd(off+n, 1)
				x, gain, bias, dy = x[off:], gain[off:], bias[off:], dy[off:]
				mean, rstd := float32(scale*rng.NormFloat64()), float32(math.Exp(3*rng.NormFloat64()))
				sg, sgx := float32(rng.NormFloat64()*float64(n)), float32(rng.NormFloat64()*float64(n))
				got := make([]float32, off+n+guard)
				for i := range got {
					got[i] = sentinel
				}
				want := slices.Clone(got)
				layerNormRow(got[off:], x, gain, bias, mean, rstd) // dst longer than the row
				layerNormRowGo(want[off:off+n], x, gain, bias, mean, rstd)
				same("layerNormRow", n, off, got, want)
				if k := layerNormVecAVX(got[off:off+n], x, gain, bias, mean, rstd); k != n&^7 {
					t.Fatalf("n=%d: layerNormVecAVX did %d elements, want %d", n, k, n&^7)
				}
				layerNormGradRow(got[off:], x, gain, dy, mean, rstd, sg, sgx)
				layerNormGradRowGo(want[off:off+n], x, gain, dy, mean, rstd, sg/float32(n), sgx/float32(n))
				same("layerNormGradRow", n, off, got, want)
				if k := layerNormGradVecAVX(got[off:off+n], x, gain, dy, mean, rstd, sg, sgx); k != n&^7 {
					t.Fatalf("n=%d: layerNormGradVecAVX did %d elements, want %d", n, k, n&^7)
				}
				copy(got[off:off+n], bias) // dgain accumulates onto the values it holds
				copy(want[off:off+n], bias)
				layerNormGainGradRow(got[off:], x, dy, mean, rstd)
				layerNormGainGradRowGo(want[off:off+n], x, dy, mean, rstd)
				same("layerNormGainGradRow", n, off, got, want)
				if k := layerNormGainGradVecAVX(got[off:off+n], x, dy, mean, rstd); k != n&^7 {
					t.Fatalf("n=%d: layerNormGainGradVecAVX did %d elements, want %d", n, k, n&^7)
				}
			}
		}
	}
}

// TestLayerNormVecSpecialsMatchGo: the vector passes give the Go loops'
// bits, NaN payloads and signs included, on every combination of special
// values in x, gain and bias or dy (x, dgain and dy for the gain's
// gradient) and on row statistics that are NaN or infinite: where both
// operands of an operation are NaN (NaNs of both signs and two payloads in
// the data, the negative default NaN that Inf - Inf or 0 * Inf makes), the
// result is the first operand's, so this holds
// each operation's operand order to the compiled Go loop's. (Go does not
// specify NaN payloads: a compiler that orders the operands otherwise would
// fail only the NaN cases here, and no training result reads a payload.
// The race detector's build is such a compiler: under it a NaN matches any
// NaN.)
func TestLayerNormVecSpecialsMatchGo(t *testing.T) {
	if !useAVX {
		t.Skip("no AVX2 on this CPU or build")
	}
	inf, nan := float32(math.Inf(1)), math.Float32frombits(0x7fc0abcd)
	vals := []float32{1.25, 0, float32(math.Copysign(0, -1)), 1e-40, inf, -inf, 3e38, -3e38,
		nan, math.Float32frombits(0xffc00000), math.Float32frombits(0x7fc00000)}
	m := len(vals)
	n := m * m * m
	x, gain, other := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range n {
		x[i], gain[i], other[i] = vals[i%m], vals[i/m%m], vals[i/(m*m)]
	}
	for _, st := range [][4]float32{{0.5, 2, 0.25, -3}, {inf, 0, nan, inf}, {0, inf, -inf, 0}, {nan, 1, 0, nan}, {inf, nan, nan, nan}, {inf, 1, 0, nan}, {-inf, -nan, 1, -nan}} {
		mean, rstd, sg, sgx := st[0], st[1], st[2], st[3]
		got, want := make([]float32, n), make([]float32, n)
		layerNormRow(got, x, gain, other, mean, rstd)
		layerNormRowGo(want, x, gain, other, mean, rstd)
		for i := range want {
			if !sameSpecial(got[i], want[i]) {
				t.Fatalf("layerNormRow stats %v, x %v gain %v bias %v: %#x, Go loop %#x",
					st, x[i], gain[i], other[i], math.Float32bits(got[i]), math.Float32bits(want[i]))
			}
		}
		layerNormGradRow(got, x, gain, other, mean, rstd, sg*float32(n), sgx*float32(n))
		layerNormGradRowGo(want, x, gain, other, mean, rstd, sg, sgx)
		for i := range want {
			if !sameSpecial(got[i], want[i]) {
				t.Fatalf("layerNormGradRow stats %v, x %v gain %v dy %v: %#x, Go loop %#x",
					st, x[i], gain[i], other[i], math.Float32bits(got[i]), math.Float32bits(want[i]))
			}
		}
		copy(got, gain)
		copy(want, gain)
		layerNormGainGradRow(got, x, other, mean, rstd)
		layerNormGainGradRowGo(want, x, other, mean, rstd)
		for i := range want {
			if !sameSpecial(got[i], want[i]) {
				t.Fatalf("layerNormGainGradRow stats %v, x %v dgain %v dy %v: %#x, Go loop %#x",
					st, x[i], gain[i], other[i], math.Float32bits(got[i]), math.Float32bits(want[i]))
			}
		}
	}
}

// sameSpecial reports whether a and b have the same bits, or under the race
// detector are both NaN (TestLayerNormVecSpecialsMatchGo).
func sameSpecial(a, b float32) bool {
	if raceEnabled && a != a && b != b {
		return true
	}
	return math.Float32bits(a) == math.Float32bits(b)
}
