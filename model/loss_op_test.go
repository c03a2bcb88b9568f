package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"
)

// lossForwardOneExp and lossBackwardOneExp are lossForward and
// lossBackward as they were before expF64: one math.Exp per logit inside
// the sums. The kernels must give their bits.
func lossForwardOneExp[F float32 | float64](rowLoss []float64, logp, ent []float32, logits []F, targets []int, w, e []float32, V int, temp float64) {
	for t := range rowLoss {
		row := logits[t*V:][:V]
		et := float64(e[t])
		lse, h := lossRowStatsOneExp(row, temp, ent != nil || et != 0)
		lp := float64(row[targets[t]])/temp - lse
		logp[t] = float32(lp)
		if ent != nil {
			ent[t] = float32(h)
		}
		rowLoss[t] = float64(w[t])*lp + et*h
	}
}

func lossRowStatsOneExp[F float32 | float64](row []F, temp float64, withH bool) (lse, h float64) {
	mx := math.Inf(-1)
	for _, l := range row {
		mx = math.Max(mx, float64(l)/temp)
	}
	var sum, sz float64
	for _, l := range row {
		z := float64(l) / temp
		ex := math.Exp(z - mx)
		sum += ex
		if withH {
			sz += ex * z
		}
	}
	lse = mx + math.Log(sum)
	if withH {
		h = lse - sz/sum
	}
	return lse, h
}

func lossBackwardOneExp[F float32 | float64](dz, logits []F, targets []int, w, e []float32, V int, temp, up float64) {
	scale := up / temp
	for t := range len(targets) {
		row, drow := logits[t*V:][:V], dz[t*V:][:V]
		wt, et := float64(w[t]), float64(e[t])
		if wt == 0 && et == 0 {
			clear(drow)
			continue
		}
		lse, h := lossRowStatsOneExp(row, temp, et != 0)
		for v, l := range row {
			lp := float64(l)/temp - lse
			p := math.Exp(lp)
			d := -wt * p
			if v == targets[t] {
				d += wt
			}
			if et != 0 {
				d -= et * p * (lp + h)
			}
			drow[v] = F(d * scale)
		}
	}
}

// TestLossKernelsOneExp: lossForward (LogP, Entropy, the row terms) and
// lossBackward (recomputing the row statistics and reading the kept ones)
// give bitwise what one math.Exp per logit gave, in float32 and float64,
// with the vector exp on and off, for widths below, at and across
// lossExpChunk and not multiples of 4, on logits of spread 2 and 400 (whose
// exps underflow, so groups fall back to math.Exp).
func TestLossKernelsOneExp(t *testing.T) {
	defer func(v bool) { exp64Asm = v }(exp64Asm)
	const N = 40
	for _, V := range []int{1, 3, 103, lossExpChunk, lossExpChunk + 1, 2*lossExpChunk + 87} {
		for _, spread := range []float64{2, 400} {
			for _, on := range []bool{true, false} {
				t.Run(fmt.Sprintf("V=%d/spread=%g/asm=%v", V, spread, on), func(t *testing.T) {
					exp64Asm = on
					rng := rand.New(rand.NewPCG(uint64(V), 17))
					logits, g := lossCase(rng, N, V)
					for i := range logits {
						logits[i] *= spread / 2
					}
					lossKernelsCheck(t, logits, g, V, 0.7)
					lossKernelsCheck(t, toDtype(logits, tensor.Float32).([]float32), g, V, 1)
				})
			}
		}
	}
}

func lossKernelsCheck[F float32 | float64](t *testing.T, logits []F, g *Graph, V int, temp float64) {
	t.Helper()
	N := len(g.Targets)
	type outputs struct {
		rowLoss   []float64
		logp, ent []float32
		dz        []F
	}
	var got, want outputs
	for _, r := range []*outputs{&got, &want} {
		r.rowLoss, r.logp, r.ent, r.dz = make([]float64, N), make([]float32, N), make([]float32, N), make([]F, N*V)
	}
	kept := make([]float64, 2*N)
	lossForward(got.rowLoss, got.logp, got.ent, kept, logits, g.Targets, g.Weights, g.EntropyWeights, V, temp, 0, N)
	lossForwardOneExp(want.rowLoss, want.logp, want.ent, logits, g.Targets, g.Weights, g.EntropyWeights, V, temp)
	for i := range N {
		if math.Float64bits(got.rowLoss[i]) != math.Float64bits(want.rowLoss[i]) ||
			math.Float32bits(got.logp[i]) != math.Float32bits(want.logp[i]) ||
			math.Float32bits(got.ent[i]) != math.Float32bits(want.ent[i]) {
			t.Fatalf("row %d: loss term, logp, entropy %v, %v, %v; one exp at a time %v, %v, %v",
				i, got.rowLoss[i], got.logp[i], got.ent[i], want.rowLoss[i], want.logp[i], want.ent[i])
		}
	}
	lossBackwardOneExp(want.dz, logits, g.Targets, g.Weights, g.EntropyWeights, V, temp, -0.5)
	for _, k := range [][]float64{nil, kept} {
		lossBackward(got.dz, logits, g.Targets, g.Weights, g.EntropyWeights, k, V, temp, -0.5, 0, N)
		for i := range got.dz {
			if got.dz[i] != want.dz[i] || math.Signbit(float64(got.dz[i])) != math.Signbit(float64(want.dz[i])) {
				t.Fatalf("kept %v: dz[%d] = %v, one exp at a time %v", k != nil, i, got.dz[i], want.dz[i])
			}
		}
	}
}
