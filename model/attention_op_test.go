package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// attentionNaive is the reference for attentionOp: scores as a full (T, T)
// matrix per (b, h), masked with -Inf above the diagonal, in float64.
func attentionNaive(qkv []float64, B, T, H, hd int) []float64 {
	D := H * hd
	y := make([]float64, B*T*D)
	at := func(b, t, blk, h, e int) float64 { return qkv[(b*T+t)*3*D+blk*D+h*hd+e] }
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			for i := 0; i < T; i++ {
				s := make([]float64, T)
				mx := math.Inf(-1)
				for j := range s {
					s[j] = math.Inf(-1)
					if j <= i {
						s[j] = 0
						for e := 0; e < hd; e++ {
							s[j] += at(b, i, 0, h, e) * at(b, j, 1, h, e)
						}
						s[j] /= math.Sqrt(float64(hd))
					}
					mx = math.Max(mx, s[j])
				}
				var z float64
				for j := range s {
					s[j] = math.Exp(s[j] - mx)
					z += s[j]
				}
				for e := 0; e < hd; e++ {
					var v float64
					for j := range s {
						v += s[j] / z * at(b, j, 2, h, e)
					}
					y[(b*T+i)*D+h*hd+e] = v
				}
			}
		}
	}
	return y
}

func randSlice(rng *rand.Rand, n int, scale float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = scale * rng.NormFloat64()
	}
	return x
}

var attentionShapes = []struct{ B, T, H, hd int }{
	{1, 1, 1, 1},
	{2, 5, 2, 4},
	{3, 7, 4, 8},
	{2, 8, 2, 64}, // D = 128
	{1, 6, 8, 32}, // D = 256
}

// TestAttentionForward holds the op's Do to attentionNaive: float64 within
// 1e-12 absolute, float32 within 1e-5; results do not depend on the number of
// workers (bitwise).
func TestAttentionForward(t *testing.T) {
	for _, s := range attentionShapes {
		t.Run(fmt.Sprintf("B=%d/T=%d/H=%d/hd=%d", s.B, s.T, s.H, s.hd), func(t *testing.T) {
			N, D := s.B*s.T, s.H*s.hd
			qkv := randSlice(rand.New(rand.NewPCG(1, 2)), N*3*D, 1)
			want := attentionNaive(qkv, s.B, s.T, s.H, s.hd)
			qkv32 := make([]float32, len(qkv))
			for i, v := range qkv {
				qkv32[i] = float32(v)
			}
			for _, tc := range []struct {
				name string
				in   interface{}
				tol  float64
			}{
				{"float64", qkv, 1e-12},
				{"float32", qkv32, 1e-5},
			} {
				var first []float64
				for _, workers := range []int{1, 3} {
					op := newAttentionOp(s.B, s.T, s.H, s.hd, nil)
					op.workers = workers
					out, err := op.Do(tensor.New(tensor.WithShape(N, 3*D), tensor.WithBacking(tc.in)))
					if err != nil {
						t.Fatal(err)
					}
					if sh := out.Shape(); !sh.Eq(tensor.Shape{N, D}) {
						t.Fatalf("%s: output shape %v, want (%d, %d)", tc.name, sh, N, D)
					}
					got := toFloat64s(out.Data())
					for i := range want {
						if d := math.Abs(got[i] - want[i]); d > tc.tol {
							t.Fatalf("%s workers=%d: y[%d] = %.9g, want %.9g (|diff| %.2g > %g)", tc.name, workers, i, got[i], want[i], d, tc.tol)
						}
					}
					if first == nil {
						first = got
					} else {
						for i := range got {
							if got[i] != first[i] {
								t.Fatalf("%s: y[%d] with %d workers = %v, with 1 worker %v: want bitwise equal", tc.name, i, workers, got[i], first[i])
							}
						}
					}
				}
			}
		})
	}
}

func toFloat64s(data interface{}) []float64 {
	switch d := data.(type) {
	case []float64:
		return append([]float64(nil), d...)
	case []float32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out
	}
	panic(fmt.Sprintf("toFloat64s: %T", data))
}

// TestAttentionGrad builds loss = sum(R * attention(qkv)) as a float64
// gorgonia graph, takes G.Grad (attentionOp.SymDiff -> attentionGradOp) and
// compares up to 300 entries of d loss / d qkv with central differences
// (h = 1e-4) of attentionNaive: |a-n| / max(|a|+|n|, 1e-3) < 1e-6. (The
// differences' own error, truncation plus rounding, is about 1e-10 at this h;
// 1e-5 and below get noisier, 1e-3 has truncation error near 1e-8.) The
// float32 graph's gradient must be within 1e-4 relative of the float64 one.
func TestAttentionGrad(t *testing.T) {
	const (
		h     = 1e-4
		tol   = 1e-6
		floor = 1e-3
	)
	for _, s := range attentionShapes[:4] {
		t.Run(fmt.Sprintf("B=%d/T=%d/H=%d/hd=%d", s.B, s.T, s.H, s.hd), func(t *testing.T) {
			N, D := s.B*s.T, s.H*s.hd
			rng := rand.New(rand.NewPCG(3, 4))
			qkv := randSlice(rng, N*3*D, 1)
			r := randSlice(rng, N*D, 1)
			grad := attentionGraphGrad(t, qkv, r, s.B, s.T, s.H, s.hd, nil, tensor.Float64)
			loss := func() float64 {
				var l float64
				for i, y := range attentionNaive(qkv, s.B, s.T, s.H, s.hd) {
					l += r[i] * y
				}
				return l
			}
			// Sample at most 300 entries so the D = 128 case stays fast.
			stride := max(1, len(qkv)/300)
			worst := 0.0
			for i := 0; i < len(qkv); i += stride {
				x := qkv[i]
				qkv[i] = x + h
				lp := loss()
				qkv[i] = x - h
				lm := loss()
				qkv[i] = x
				num := (lp - lm) / (2 * h)
				rel := math.Abs(grad[i]-num) / math.Max(math.Abs(grad[i])+math.Abs(num), floor)
				worst = math.Max(worst, rel)
				if rel > tol {
					t.Errorf("dqkv[%d] = %.10g, central difference %.10g (rel err %.2g > %g)", i, grad[i], num, rel, tol)
				}
			}
			t.Logf("worst relative error %.2g", worst)

			grad32 := attentionGraphGrad(t, qkv, r, s.B, s.T, s.H, s.hd, nil, tensor.Float32)
			for i := range grad {
				if rel := math.Abs(grad32[i]-grad[i]) / math.Max(math.Abs(grad[i]), 1); rel > 1e-4 {
					t.Errorf("float32 dqkv[%d] = %.7g, float64 %.7g", i, grad32[i], grad[i])
				}
			}
		})
	}
}

// attentionGraphGrad returns d sum(r * attention(qkv)) / d qkv from a
// gorgonia graph of dtype dt.
func attentionGraphGrad(t *testing.T, qkv, r []float64, B, T, H, hd int, pos []int, dt tensor.Dtype) []float64 {
	t.Helper()
	N, D := B*T, H*hd
	conv := func(x []float64) interface{} {
		if dt == tensor.Float64 {
			return append([]float64(nil), x...)
		}
		out := make([]float32, len(x))
		for i, v := range x {
			out[i] = float32(v)
		}
		return out
	}
	g := G.NewGraph()
	x := G.NewMatrix(g, dt, G.WithShape(N, 3*D), G.WithName("qkv"),
		G.WithValue(tensor.New(tensor.WithShape(N, 3*D), tensor.WithBacking(conv(qkv)))))
	rn := G.NewMatrix(g, dt, G.WithShape(N, D), G.WithName("r"),
		G.WithValue(tensor.New(tensor.WithShape(N, D), tensor.WithBacking(conv(r)))))
	y, err := G.ApplyOp(newAttentionOp(B, T, H, hd, pos), x)
	if err != nil {
		t.Fatal(err)
	}
	prod, err := G.HadamardProd(y, rn)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := G.Sum(prod)
	if err != nil {
		t.Fatal(err)
	}
	return tapeGrads(t, g, loss, x)[0]
}

// TestAttentionKernelsAllocs: the forward and backward kernels allocate nothing.
func TestAttentionKernelsAllocs(t *testing.T) {
	const B, T, H, hd = 2, 16, 4, 32
	N, D := B*T, H*hd
	qkv := make([]float32, N*3*D)
	for i := range qkv {
		qkv[i] = float32(i%7) * 0.1
	}
	y := make([]float32, N*D)
	dqkv := make([]float32, N*3*D)
	p, dp := make([]float32, T), make([]float32, T)
	if n := testing.AllocsPerRun(10, func() {
		attentionForward(y, qkv, B, T, H, hd, nil, p, 0, 1)
		attentionBackward(dqkv, qkv, y, B, T, H, hd, nil, p, dp, 0, 1)
	}); n != 0 {
		t.Errorf("attention loop kernels: %v allocations per run, want 0", n)
	}
	if raceEnabled {
		t.Log("race detector on: Sgemm kernels' allocation count not checked")
		return
	}
	scr := make([]float32, 2*T*T)
	if n := testing.AllocsPerRun(10, func() {
		attentionForwardSgemm(y, qkv, B, T, H, hd, nil, nil, scr, nil, 0, 1)
		attentionBackwardSgemm(dqkv, qkv, y, B, T, H, hd, nil, nil, scr, nil, 0, 1)
	}); n != 0 {
		t.Errorf("attention Sgemm kernels: %v allocations per run, want 0", n)
	}
}

// TestAttentionSgemmMatchesLoops holds the float32 Sgemm kernels to the
// float32 loop kernels (forward and backward) within 1e-5 relative to
// max(|value|, 1).
func TestAttentionSgemmMatchesLoops(t *testing.T) {
	for _, s := range attentionShapes {
		t.Run(fmt.Sprintf("B=%d/T=%d/H=%d/hd=%d", s.B, s.T, s.H, s.hd), func(t *testing.T) {
			N, D := s.B*s.T, s.H*s.hd
			rng := rand.New(rand.NewPCG(5, 6))
			qkv, dy := make([]float32, N*3*D), make([]float32, N*D)
			for i := range qkv {
				qkv[i] = float32(rng.NormFloat64())
			}
			for i := range dy {
				dy[i] = float32(rng.NormFloat64())
			}
			y, yRef := make([]float32, N*D), make([]float32, N*D)
			dqkv, dqkvRef := make([]float32, N*3*D), make([]float32, N*3*D)
			p, dp := make([]float32, s.T), make([]float32, s.T)
			scr := make([]float32, 2*s.T*s.T)
			attentionForward(yRef, qkv, s.B, s.T, s.H, s.hd, nil, p, 0, 1)
			attentionBackward(dqkvRef, qkv, dy, s.B, s.T, s.H, s.hd, nil, p, dp, 0, 1)
			attentionForwardSgemm(y, qkv, s.B, s.T, s.H, s.hd, nil, nil, scr, nil, 0, 1)
			attentionBackwardSgemm(dqkv, qkv, dy, s.B, s.T, s.H, s.hd, nil, nil, scr, nil, 0, 1)
			for _, c := range []struct {
				name      string
				got, want []float32
			}{{"y", y, yRef}, {"dqkv", dqkv, dqkvRef}} {
				for i := range c.want {
					g, w := float64(c.got[i]), float64(c.want[i])
					if d := math.Abs(g-w) / math.Max(math.Abs(w), 1); d > 1e-5 {
						t.Fatalf("%s[%d]: Sgemm %.7g, loops %.7g (rel diff %.2g > 1e-5)", c.name, i, g, w, d)
					}
				}
			}
		})
	}
}

// BenchmarkAttentionOp times the op's forward and backward at the small
// preset's training shape (B=32, T=64, H=4, hd=32).
func BenchmarkAttentionOp(b *testing.B) {
	const B, T, H, hd = 32, 64, 4, 32
	N, D := B*T, H*hd
	rng := rand.New(rand.NewPCG(1, 1))
	qkv := make([]float32, N*3*D)
	for i := range qkv {
		qkv[i] = float32(rng.NormFloat64())
	}
	dy := make([]float32, N*D)
	for i := range dy {
		dy[i] = float32(rng.NormFloat64())
	}
	op := newAttentionOp(B, T, H, hd, nil)
	gop := newAttentionGradOp(B, T, H, hd, nil)
	in := tensor.New(tensor.WithShape(N, 3*D), tensor.WithBacking(qkv))
	din := tensor.New(tensor.WithShape(N, D), tensor.WithBacking(dy))
	b.ReportAllocs()
	for range b.N {
		if _, err := op.Do(in); err != nil {
			b.Fatal(err)
		}
		if _, err := gop.Do(in, din); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAttentionPacked: rows that pack several sequences (pos restarting at
// 0) compute, forward and backward, exactly what each sequence computes
// alone: float64 within 1e-12 of attentionNaive and of the per-sequence
// graph gradient; the float32 Sgemm kernels within 1e-5 relative of the
// float32 loops on the same packed layout.
func TestAttentionPacked(t *testing.T) {
	const B, T, H, hd = 2, 9, 2, 4
	segs := [][]int{{3, 4, 2}, {5, 3}} // row 1 ends with one padding token
	N, D := B*T, H*hd
	pos := make([]int, N)
	type span struct{ row, start, n int }
	var spans []span
	for b, lens := range segs {
		i := 0
		for _, n := range lens {
			spans = append(spans, span{b, i, n})
			for k := range n {
				pos[b*T+i+k] = k
			}
			i += n
		}
		for k := 0; i+k < T; k++ { // padding: a segment of its own
			pos[b*T+i+k] = k
		}
	}
	rng := rand.New(rand.NewPCG(7, 8))
	qkv := randSlice(rng, N*3*D, 1)
	r := randSlice(rng, N*D, 1)
	op := newAttentionOp(B, T, H, hd, pos)
	out, err := op.Do(tensor.New(tensor.WithShape(N, 3*D), tensor.WithBacking(append([]float64(nil), qkv...))))
	if err != nil {
		t.Fatal(err)
	}
	y := toFloat64s(out.Data())
	grad := attentionGraphGrad(t, qkv, r, B, T, H, hd, pos, tensor.Float64)
	for _, sp := range spans {
		lo, hi := sp.row*T+sp.start, sp.row*T+sp.start+sp.n
		sq, sr := qkv[lo*3*D:hi*3*D], r[lo*D:hi*D]
		want := attentionNaive(sq, 1, sp.n, H, hd)
		for i, w := range want {
			if d := math.Abs(y[lo*D+i] - w); d > 1e-12 {
				t.Fatalf("segment %+v: y[%d] = %.12g alone %.12g", sp, i, y[lo*D+i], w)
			}
		}
		wantGrad := attentionGraphGrad(t, sq, sr, 1, sp.n, H, hd, nil, tensor.Float64)
		for i, w := range wantGrad {
			if d := math.Abs(grad[lo*3*D+i] - w); d > 1e-12 {
				t.Fatalf("segment %+v: dqkv[%d] = %.12g alone %.12g", sp, i, grad[lo*3*D+i], w)
			}
		}
	}

	q32, dy32 := make([]float32, N*3*D), make([]float32, N*D)
	for i, v := range qkv {
		q32[i] = float32(v)
	}
	for i, v := range r {
		dy32[i] = float32(v)
	}
	y32, yRef := make([]float32, N*D), make([]float32, N*D)
	d32, dRef := make([]float32, N*3*D), make([]float32, N*3*D)
	p, dp := make([]float32, T), make([]float32, T)
	attentionForward(yRef, q32, B, T, H, hd, pos, p, 0, 1)
	attentionBackward(dRef, q32, dy32, B, T, H, hd, pos, p, dp, 0, 1)
	scr := make([]float32, 2*T*T)
	attentionForwardSgemm(y32, q32, B, T, H, hd, pos, nil, scr, nil, 0, 1)
	attentionBackwardSgemm(d32, q32, dy32, B, T, H, hd, pos, nil, scr, nil, 0, 1)
	for _, c := range []struct {
		name      string
		got, want []float32
	}{{"y", y32, yRef}, {"dqkv", d32, dRef}} {
		for i := range c.want {
			g, w := float64(c.got[i]), float64(c.want[i])
			if d := math.Abs(g-w) / math.Max(math.Abs(w), 1); d > 1e-5 {
				t.Fatalf("packed %s[%d]: Sgemm %.7g, loops %.7g (rel diff %.2g > 1e-5)", c.name, i, g, w, d)
			}
		}
	}
}

// TestAttentionKeptProbs: the float32 gradient reading the probabilities
// its forward pass kept gives bitwise the gradient that recomputes them
// (an op built alone), with and without packed rows, at 1 and 3 workers.
func TestAttentionKeptProbs(t *testing.T) {
	const B, T, H, hd = 3, 20, 2, 16
	N, D := B*T, H*hd
	rng := rand.New(rand.NewPCG(21, 22))
	mat := func(n int) tensor.Tensor {
		return tensor.New(tensor.WithShape(N, n), tensor.WithBacking(toDtype(randSlice(rng, N*n, 1), tensor.Float32)))
	}
	qkv, dy := mat(3*D), mat(D)
	packed := make([]int, N)
	for i := range packed {
		packed[i] = i % T % 7 // a sequence starts every 7 tokens
	}
	for _, pos := range [][]int{nil, packed} {
		for _, workers := range []int{1, 3} {
			var got [2][]float64
			for i, keep := range []bool{false, true} {
				fwd, grad := newAttentionOp(B, T, H, hd, pos), newAttentionGradOp(B, T, H, hd, pos)
				fwd.workers, grad.workers = workers, workers
				if keep {
					fwd.kept = new([]float32)
					grad.kept = fwd.kept
				}
				if _, err := fwd.Do(qkv); err != nil {
					t.Fatal(err)
				}
				if keep && len(*fwd.kept) != B*H*T*T {
					t.Fatalf("forward kept %d probabilities: want %d", len(*fwd.kept), B*H*T*T)
				}
				out, err := grad.Do(qkv, dy)
				if err != nil {
					t.Fatal(err)
				}
				got[i] = toFloat64s(out.Data())
			}
			for i := range got[0] {
				if got[0][i] != got[1][i] {
					t.Fatalf("packed %v, %d workers: dqkv[%d] = %v from kept probabilities, %v recomputed: want bitwise equal", pos != nil, workers, i, got[1][i], got[0][i])
				}
			}
		}
	}
}
