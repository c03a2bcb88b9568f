package model

import "math"

// This file is the float64 reference forward pass: plain loops, full
// recomputation for every sequence, no KV cache, no batching, nothing
// clever. It is the definition the rollout engine and the training graph are
// both tested against, so it should read like the architecture:
//
//	x = wte[tok] + wpe[pos]
//	for each block:
//	    h = LN1(x); qkv = h@wqkv + bqkv
//	    att = causal softmax(q k^T / sqrt(hd)) v      (per head)
//	    x = x + concat_heads(att)@wo + bo
//	    h = LN2(x); x = x + GELU(h@w1 + b1)@w2 + b2
//	logits = LNF(x) @ wte^T (tied) or LNF(x) @ head
//	return logits / temperature
//
// LayerNorm uses eps = 1e-5 and the biased variance; GELU is the tanh
// approximation.

// refLayerNormEps is the epsilon inside every LayerNorm's square root (the
// engine uses the same constant).
const refLayerNormEps = 1e-5

// ReferenceLogits runs the model on seq and returns, for every position t,
// the temperature-scaled logits logits[t] / temperature, shape (len(seq), V).
// Row t predicts seq[t+1]. Everything is computed in float64 from the
// float32 parameters. It panics on a token id out of range or a sequence
// longer than the context (programming errors in a test helper).
func ReferenceLogits(p *Params, seq []int, temperature float64) [][]float64 {
	cfg := p.Cfg
	T, D, M, V, H := len(seq), cfg.Dim, cfg.MLP, cfg.Vocab, cfg.Heads
	hd := D / H
	if T > cfg.Context {
		panic("model: ReferenceLogits: sequence longer than the context")
	}
	f := func(t *Tensor) []float64 { // float64 copy of a parameter
		out := make([]float64, len(t.Data))
		for i, v := range t.Data {
			out[i] = float64(v)
		}
		return out
	}
	wte, wpe := f(p.WTE), f(p.WPE)

	x := refMat(T, D) // (T, D) residual stream
	for t, tok := range seq {
		if tok < 0 || tok >= V {
			panic("model: ReferenceLogits: token id out of range")
		}
		for c := 0; c < D; c++ {
			x[t][c] = wte[tok*D+c] + wpe[t*D+c]
		}
	}
	for l := range p.Blocks {
		b := &p.Blocks[l]
		h := refLayerNorm(x, f(b.LN1G), f(b.LN1B))
		qkv := refLinear(h, f(b.WQKV), f(b.BQKV), 3*D) // (T, 3D)
		att := refMat(T, D)                            // (T, D) heads concatenated
		scale := 1 / math.Sqrt(float64(hd))
		for hh := 0; hh < H; hh++ {
			qo, ko, vo := hh*hd, D+hh*hd, 2*D+hh*hd
			for i := 0; i < T; i++ {
				s := make([]float64, i+1) // scores over keys j <= i
				mx := math.Inf(-1)
				for j := 0; j <= i; j++ {
					dot := 0.0
					for c := 0; c < hd; c++ {
						dot += qkv[i][qo+c] * qkv[j][ko+c]
					}
					s[j] = dot * scale
					mx = math.Max(mx, s[j])
				}
				sum := 0.0
				for j := range s {
					s[j] = math.Exp(s[j] - mx)
					sum += s[j]
				}
				for j := range s {
					for c := 0; c < hd; c++ {
						att[i][hh*hd+c] += s[j] / sum * qkv[j][vo+c]
					}
				}
			}
		}
		a := refLinear(att, f(b.WO), f(b.BO), D)
		for t := range x {
			for c := range x[t] {
				x[t][c] += a[t][c]
			}
		}
		h = refLayerNorm(x, f(b.LN2G), f(b.LN2B))
		u := refLinear(h, f(b.W1), f(b.B1), M)
		for t := range u {
			for c := range u[t] {
				u[t][c] = refGELU(u[t][c])
			}
		}
		m := refLinear(u, f(b.W2), f(b.B2), D)
		for t := range x {
			for c := range x[t] {
				x[t][c] += m[t][c]
			}
		}
	}
	h := refLayerNorm(x, f(p.LNFG), f(p.LNFB))
	logits := refMat(T, V)
	for t := range h {
		for v := 0; v < V; v++ {
			dot := 0.0
			for c := 0; c < D; c++ {
				if cfg.Tied {
					dot += h[t][c] * float64(p.WTE.Data[v*D+c]) // wte^T: (D, V)
				} else {
					dot += h[t][c] * float64(p.Head.Data[c*V+v]) // head: (D, V)
				}
			}
			logits[t][v] = dot / temperature
		}
	}
	return logits
}

// ReferenceLogProbs returns log softmax(row) for each row of logits, in
// float64 (a helper for tests comparing against ReferenceLogits).
func ReferenceLogProbs(logits [][]float64) [][]float64 {
	out := refMat(len(logits), 0)
	for t, row := range logits {
		mx := math.Inf(-1)
		for _, z := range row {
			mx = math.Max(mx, z)
		}
		sum := 0.0
		for _, z := range row {
			sum += math.Exp(z - mx)
		}
		lse := mx + math.Log(sum)
		out[t] = make([]float64, len(row))
		for v, z := range row {
			out[t][v] = z - lse
		}
	}
	return out
}

func refMat(rows, cols int) [][]float64 {
	m := make([][]float64, rows)
	for i := range m {
		m[i] = make([]float64, cols)
	}
	return m
}

// refLinear returns x @ w + b for x (T, in), w (in, out) row-major, b (out).
func refLinear(x [][]float64, w, b []float64, out int) [][]float64 {
	y := refMat(len(x), out)
	for t, row := range x {
		for j := 0; j < out; j++ {
			s := 0.0
			for i, xi := range row {
				s += xi * w[i*out+j]
			}
			y[t][j] = s + b[j]
		}
	}
	return y
}

// refLayerNorm normalises each row to zero mean and unit (biased) variance,
// then applies gain g and bias b.
func refLayerNorm(x [][]float64, g, b []float64) [][]float64 {
	y := refMat(len(x), len(g))
	for t, row := range x {
		mean := 0.0
		for _, v := range row {
			mean += v
		}
		mean /= float64(len(row))
		vr := 0.0
		for _, v := range row {
			vr += (v - mean) * (v - mean)
		}
		vr /= float64(len(row))
		inv := 1 / math.Sqrt(vr+refLayerNormEps)
		for c, v := range row {
			y[t][c] = (v-mean)*inv*g[c] + b[c]
		}
	}
	return y
}

// refGELU is the tanh approximation of GELU (Hendrycks & Gimpel 2016):
// 0.5 u (1 + tanh(sqrt(2/pi) (u + 0.044715 u^3))).
func refGELU(u float64) float64 {
	return 0.5 * u * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(u+0.044715*u*u*u)))
}
