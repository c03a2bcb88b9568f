package model

import (
	"fmt"
	"hash"
	"math"
	"runtime"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// lossOp is the whole loss head of the training graph in one gorgonia op:
// logits (N, V) -> the scalar
//
//	Loss = sum_t w_t logp_t + sum_t e_t H_t,
//	logp_t = log softmax(z_t)[target_t],  H_t = -sum_v p_tv log p_tv,  z_t = logits_t / temperature,
//
// with targets, w and e read from the Graph's Targets, Weights and
// EntropyWeights when it runs. As it goes it writes LogP (and Entropy when
// the Graph has one), so there is no (N, V) log-softmax node and no dense
// (N, V) weight matrix. H_t is computed only where e_t != 0 or Entropy is
// wanted. Its gradient lossGradOp, with p = softmax(z_t), is
//
//	dz_tv = (w_t (1[v = target_t] - p_v) - e_t p_v (log p_v + H_t)) / temperature
//
// times the upstream gradient of the scalar.
//
// Rows are handed to the workers by stride in blocks of fusedRowBlock; each
// row's loss term is kept and the terms added in row order, so the results
// are bitwise independent of the worker count. The row sums run in float64
// for both dtypes. The forward pass keeps each row's log-sum-exp and
// entropy for the gradient that SymDiff builds, which would otherwise
// recompute them (a pass of exp over the row): the same function of the
// same row, so the same bits.
type lossOp struct {
	lossShape
	rowLoss []float64 // (N) w_t logp_t + e_t H_t
}

// lossGradOp is d lossOp: (logits (N, V), dLoss scalar) -> dlogits (N, V).
type lossGradOp struct {
	lossShape
}

// Compile-time checks: the loss is symbolically differentiable.
var (
	_ G.SDOp = (*lossOp)(nil)
	_ G.Op   = (*lossGradOp)(nil)
)

// lossShape holds what both ops share.
type lossShape struct {
	N, V    int
	temp    float64 // temperature > 0
	g       *Graph  // Targets, Weights, EntropyWeights in; LogP, Entropy out
	workers int

	// kept, shared by a lossOp and the lossGradOp its SymDiff builds, holds
	// (N, 2) each row's log-sum-exp and entropy (0 where the forward pass
	// did not compute it, and then the gradient does not use it), written
	// by the forward pass and read by the gradient; nil (forward-only
	// graph, op built alone): the gradient recomputes them.
	kept *[]float64

	// The operands of the running call and the block function over them,
	// made once (init) so that a call through a workPool builds no closure.
	a32          lossArgs[float32]
	a64          lossArgs[float64]
	blk32, blk64 func(blk, lo, hi int) // a32.block, a64.block
}

// lossArgs holds one call's operands: logits z, and dz for the gradient
// (else rowLoss, LogP and Entropy are written).
type lossArgs[F float32 | float64] struct {
	s         *lossShape
	z, dz     []F
	rowLoss   []float64
	targets   []int
	w, e      []float32
	logp, ent []float32
	up        float64
	kept      []float64 // (N, 2) lse and H per row: written forward, read backward; nil: not kept
}

// init points the operand slots at s; call it once s is in its op (again
// after copying a lossShape).
func (s *lossShape) init() {
	s.a32, s.a64 = lossArgs[float32]{s: s}, lossArgs[float64]{s: s}
	s.blk32, s.blk64 = s.a32.block, s.a64.block
}

// block computes rows lo..hi of the call in a.
func (a *lossArgs[F]) block(_, lo, hi int) {
	s := a.s
	if a.dz != nil {
		lossBackward(a.dz, a.z, a.targets, a.w, a.e, a.kept, s.V, s.temp, a.up, lo, hi)
	} else {
		lossForward(a.rowLoss, a.logp, a.ent, a.kept, a.z, a.targets, a.w, a.e, s.V, s.temp, lo, hi)
	}
}

// lossRun runs the loss (dz nil) or its gradient over the logits z, rows
// split over pool (nil: fresh goroutines) by blocks of fusedRowBlock, each
// row's loss term kept in rowLoss; it returns the loss, the terms added in
// row order, so the results do not depend on the worker count.
func lossRun[F float32 | float64](s *lossShape, pool *workPool, a *lossArgs[F], fn func(blk, lo, hi int), z, dz []F, up float64, rowLoss []float64) (float64, error) {
	targets, w, e, err := s.inputs()
	if err != nil {
		return 0, err
	}
	a.z, a.dz, a.up, a.rowLoss = z, dz, up, rowLoss
	a.targets, a.w, a.e, a.logp, a.ent = targets, w, e, s.g.LogP, s.g.Entropy
	switch {
	case s.kept == nil:
	case dz == nil:
		a.kept = attentionScratch(s.kept, 2*s.N)
	case len(*s.kept) == 2*s.N:
		a.kept = *s.kept
	}
	pool.parallelBlocks(s.N, s.N*s.V, s.workers, fn)
	*a = lossArgs[F]{s: s}
	var loss float64
	if dz == nil {
		for _, l := range rowLoss {
			loss += l
		}
	}
	return loss, nil
}

func newLossOp(g *Graph, N, V int, temp float64) *lossOp {
	if N <= 0 || V <= 0 || !(temp > 0) {
		panic(fmt.Sprintf("model: loss shape N=%d, V=%d, temperature %g: want N, V, temperature > 0", N, V, temp))
	}
	op := &lossOp{lossShape: lossShape{N: N, V: V, temp: temp, g: g, workers: max(1, runtime.GOMAXPROCS(0))}}
	op.init()
	return op
}

func (s *lossShape) String() string { return fmt.Sprintf("N=%d, V=%d, temp=%g", s.N, s.V, s.temp) }

// inputs checks the Graph's per-token slices and returns them; a nil or
// empty EntropyWeights counts as all zero.
func (s *lossShape) inputs() (targets []int, w, e []float32, err error) {
	g := s.g
	if len(g.Targets) != s.N || len(g.Weights) != s.N {
		return nil, nil, nil, fmt.Errorf("model: loss has %d targets and %d weights: want %d each", len(g.Targets), len(g.Weights), s.N)
	}
	if len(g.EntropyWeights) != 0 && len(g.EntropyWeights) != s.N {
		return nil, nil, nil, fmt.Errorf("model: loss has %d entropy weights: want %d or none", len(g.EntropyWeights), s.N)
	}
	for i, t := range g.Targets {
		if t < 0 || t >= s.V {
			return nil, nil, nil, fmt.Errorf("model: loss target %d at position %d: want an id in [0, %d)", t, i, s.V)
		}
	}
	return g.Targets, g.Weights, g.EntropyWeights, nil
}

// --- lossOp: gorgonia.Op and gorgonia.SDOp ---

func (op *lossOp) Arity() int { return 1 }

// Type is Matrix a -> a.
func (op *lossOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(G.TensorType{Dims: 2, Of: a}, a)
}

func (op *lossOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("model: loss got %d inputs: want 1", len(in))
	}
	if s, ok := in[0].(tensor.Shape); !ok || !s.Eq(tensor.Shape{op.N, op.V}) {
		return nil, fmt.Errorf("model: loss input shape %v: want (%d, %d)", in[0], op.N, op.V)
	}
	return tensor.ScalarShape(), nil
}

func (op *lossOp) Do(in ...G.Value) (G.Value, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("model: loss got %d inputs: want 1", len(in))
	}
	logits, err := denseData(in[0], "loss", tensor.Shape{op.N, op.V})
	if err != nil {
		return nil, err
	}
	if len(op.rowLoss) != op.N {
		op.rowLoss = make([]float64, op.N)
	}
	var loss float64
	switch z := logits.(type) {
	case []float32:
		loss, err = lossRun(&op.lossShape, nil, &op.a32, op.blk32, z, nil, 0, op.rowLoss)
	case []float64:
		loss, err = lossRun(&op.lossShape, nil, &op.a64, op.blk64, z, nil, 0, op.rowLoss)
	}
	if err != nil {
		return nil, err
	}
	if _, ok := logits.([]float32); ok {
		return G.NewF32(float32(loss)), nil
	}
	return G.NewF64(loss), nil
}

// into is Do for the executor (graph_exec.go): logits in[0] (N, V) -> the
// loss in out[0], rows split over pool; it allocates nothing once rowLoss
// exists.
func (op *lossOp) into(pool *workPool, out []float32, in [][]float32) error {
	if len(op.rowLoss) != op.N {
		op.rowLoss = make([]float64, op.N)
	}
	loss, err := lossRun(&op.lossShape, pool, &op.a32, op.blk32, in[0], nil, 0, op.rowLoss)
	out[0] = float32(loss)
	return err
}

func (op *lossOp) ReturnsPtr() bool      { return false }
func (op *lossOp) CallsExtern() bool     { return false }
func (op *lossOp) OverwritesInput() int  { return -1 }
func (op *lossOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "TokenLoss{%v}", &op.lossShape) }
func (op *lossOp) Hashcode() uint32      { return opHash(op) }
func (op *lossOp) String() string        { return fmt.Sprintf("TokenLoss{%v}", &op.lossShape) }

func (op *lossOp) DiffWRT(inputs int) []bool { return []bool{true} }

// SymDiff returns d logits = lossGradOp(logits, d Loss).
func (op *lossOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("model: loss gradient got %d inputs: want 1", len(inputs))
	}
	op.kept = new([]float64) // the forward pass keeps its row statistics for gop
	gop := &lossGradOp{op.lossShape}
	gop.init()
	d, err := G.ApplyOp(gop, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{d}, nil
}

// --- lossGradOp: gorgonia.Op ---

func (op *lossGradOp) Arity() int { return 2 }

// Type is Matrix a -> a -> Matrix a.
func (op *lossGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	m := G.TensorType{Dims: 2, Of: a}
	return hm.NewFnType(m, a, m)
}

func (op *lossGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("model: loss gradient got %d inputs: want 2", len(in))
	}
	if s, ok := in[0].(tensor.Shape); !ok || !s.Eq(tensor.Shape{op.N, op.V}) {
		return nil, fmt.Errorf("model: loss gradient input shape %v: want (%d, %d)", in[0], op.N, op.V)
	}
	return tensor.Shape{op.N, op.V}, nil
}

func (op *lossGradOp) Do(in ...G.Value) (G.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("model: loss gradient got %d inputs: want 2", len(in))
	}
	logits, err := denseData(in[0], "loss gradient", tensor.Shape{op.N, op.V})
	if err != nil {
		return nil, err
	}
	var up float64
	switch d := in[1].Data().(type) {
	case float32:
		up = float64(d)
	case float64:
		up = d
	case []float32:
		up = float64(d[0])
	case []float64:
		up = d[0]
	default:
		return nil, fmt.Errorf("model: loss gradient upstream is %T: want a float scalar", d)
	}
	var out interface{}
	switch z := logits.(type) {
	case []float32:
		dz := make([]float32, len(z))
		_, err = lossRun(&op.lossShape, nil, &op.a32, op.blk32, z, dz, up, nil)
		out = dz
	case []float64:
		dz := make([]float64, len(z))
		_, err = lossRun(&op.lossShape, nil, &op.a64, op.blk64, z, dz, up, nil)
		out = dz
	}
	if err != nil {
		return nil, err
	}
	return tensor.New(tensor.WithShape(op.N, op.V), tensor.WithBacking(out)), nil
}

// into is Do for the executor: (logits, dLoss (1)) -> dlogits.
func (op *lossGradOp) into(pool *workPool, out []float32, in [][]float32) error {
	_, err := lossRun(&op.lossShape, pool, &op.a32, op.blk32, in[0], out, float64(in[1][0]), nil)
	return err
}

func (op *lossGradOp) ReturnsPtr() bool      { return false }
func (op *lossGradOp) CallsExtern() bool     { return false }
func (op *lossGradOp) OverwritesInput() int  { return -1 }
func (op *lossGradOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "TokenLossGrad{%v}", &op.lossShape) }
func (op *lossGradOp) Hashcode() uint32      { return opHash(op) }
func (op *lossGradOp) String() string        { return fmt.Sprintf("TokenLossGrad{%v}", &op.lossShape) }

// --- kernels ---

// lossExpChunk is how many of a row's exps the kernels below compute at a
// time (expF64, 4 lanes at a time), into a lossScratch that each block's
// call keeps on its stack: a row of any width needs no heap scratch, and
// the sums over the exps run in the row's order, as one exp at a time did.
const lossExpChunk = 256

// lossScratch is a block's scratch for lossRowStats and lossBackward: a
// chunk of a row's exp arguments (or z) and their exps.
type lossScratch struct {
	x, ex [lossExpChunk]float64
}

// lossRowStats returns the log-sum-exp of z = row/temp and, if withH, the
// entropy H = lse - sum_v p_v z_v of softmax(z), in float64. scr is
// scratch.
func lossRowStats[F float32 | float64](row []F, temp float64, withH bool, scr *lossScratch) (lse, h float64) {
	mx := math.Inf(-1)
	for _, l := range row {
		mx = math.Max(mx, float64(l)/temp)
	}
	var sum, sz float64
	for c := 0; c < len(row); c += lossExpChunk {
		chunk := row[c:min(c+lossExpChunk, len(row))]
		z, ex := scr.x[:len(chunk)], scr.ex[:len(chunk)]
		for v, l := range chunk {
			z[v] = float64(l) / temp
			ex[v] = z[v] - mx
		}
		expF64(ex, ex)
		for v, e := range ex {
			sum += e
			if withH {
				sz += e * z[v]
			}
		}
	}
	lse = mx + math.Log(sum)
	if withH {
		h = lse - sz/sum
	}
	return lse, h
}

// lossForward writes, for rows lo..hi of logits (N, V), rowLoss[t] =
// w_t logp_t + e_t H_t, logp[t], if ent is not nil ent[t], and if kept is
// not nil the row's log-sum-exp and entropy to kept[2t], kept[2t+1]. e may
// be empty (all zero). It allocates nothing.
func lossForward[F float32 | float64](rowLoss []float64, logp, ent []float32, kept []float64, logits []F, targets []int, w, e []float32, V int, temp float64, lo, hi int) {
	var scr lossScratch
	for t := lo; t < hi; t++ {
		row := logits[t*V:][:V]
		var et float64
		if len(e) != 0 {
			et = float64(e[t])
		}
		lse, h := lossRowStats(row, temp, ent != nil || et != 0, &scr)
		if kept != nil {
			kept[2*t], kept[2*t+1] = lse, h
		}
		lp := float64(row[targets[t]])/temp - lse
		logp[t] = float32(lp)
		if ent != nil {
			ent[t] = float32(h)
		}
		rowLoss[t] = float64(w[t])*lp + et*h
	}
}

// lossBackward writes rows lo..hi of dz, the gradient of up * Loss with
// respect to the logits (see lossOp), with each row's log-sum-exp and
// entropy from kept (lossForward) or, if it is nil, recomputed. It
// allocates nothing.
func lossBackward[F float32 | float64](dz, logits []F, targets []int, w, e []float32, kept []float64, V int, temp, up float64, lo, hi int) {
	scale := up / temp
	var scr lossScratch
	for t := lo; t < hi; t++ {
		row, drow := logits[t*V:][:V], dz[t*V:][:V]
		wt := float64(w[t])
		var et float64
		if len(e) != 0 {
			et = float64(e[t])
		}
		if wt == 0 && et == 0 { // padding
			clear(drow)
			continue
		}
		var lse, h float64
		if kept != nil { // h was computed forward wherever et != 0
			lse, h = kept[2*t], kept[2*t+1]
		} else {
			lse, h = lossRowStats(row, temp, et != 0, &scr)
		}
		tgt := targets[t]
		for c := 0; c < V; c += lossExpChunk {
			chunk := row[c:min(c+lossExpChunk, V)]
			lps, ps := scr.x[:len(chunk)], scr.ex[:len(chunk)]
			for v, l := range chunk {
				lps[v] = float64(l)/temp - lse
			}
			expF64(ps, lps)
			for v, p := range ps {
				lp := lps[v]
				d := -wt * p
				if c+v == tgt {
					d += wt
				}
				if et != 0 {
					d -= et * p * (lp + h)
				}
				drow[c+v] = F(d * scale)
			}
		}
	}
}
