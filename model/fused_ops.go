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

// fusedOp is one row-wise layer of the training graph fused into a single
// gorgonia op with its own gradient ops, in place of the chains of
// elementwise primitives (Mean, BroadcastSub, Pow, Cube, Tanh, ...) that
// each cloned or broadcast a full (N, C) tensor:
//
//	fusedLayerNorm         (x (N,C), gain (C), bias (C)) -> (x - mean) / sqrt(var + 1e-5) * gain + bias
//	fusedBias              (x (N,C), v (C))              -> x + v on every row
//	fusedBiasGELU          (x (N,C), v (C))              -> gelu(x + v)
//	fusedResidualBias      (x (N,C), h (N,C), v (C))     -> x + (h + v), a residual connection
//
// with the biased variance of each row and the tanh approximation of GELU
// (Hendrycks & Gimpel 2016) as in GPT-2 and the rollout engine (kernels.go,
// kern_amd64.go), whose float32 arithmetic the kernels here repeat.
// Their gradients, also fusedOps (symbolic differentiation, G.Grad), are
//
//	fusedLayerNormGrad     (x, gain, dy) -> dx (N,C)
//	fusedLayerNormGainGrad (x, dy)       -> dgain (C) = sum_n xhat_n * dy_n
//	fusedBiasGELUGrad      (x, v, dy)    -> du (N,C) = dy * gelu'(x + v)
//	fusedColSum            (dy)          -> (C) = sum_n dy_n, for every bias
//
// (fusedBias and fusedResidualBias pass dy itself on as dx and dh.)
//
// LayerNorm keeps each row's mean and 1/sqrt(var + eps) from its forward
// pass, and its two gradient ops read them (fwd) rather than recompute
// them: the same arithmetic on the same x, so the same bits, for N C reads
// instead of 2 N C adds in a serial chain per op. float32 and float64
// (gradient checks) share generic kernels except GELU, whose float32 path
// uses the engine's vectorised exp.
//
// Rows are split into blocks of fusedRowBlock handed to the workers by
// stride; column sums are kept per block and added in block order, so every
// result is bitwise independent of the worker count. Do allocates only its
// output (the per-block partial sums live in the op), so an op must not run
// concurrently with itself (the executor and the tape machine run ops one
// at a time).
type fusedOp struct {
	kind    fusedKind
	N, C    int // rows, columns
	workers int // goroutines over the row blocks

	p32 []float32 // (blocks, C) partial column sums
	p64 []float64

	// st32, st64 (N, 2): each row's mean and rstd, written by a LayerNorm
	// when it runs. fwd is, for LayerNormGrad and LayerNormGainGrad, the
	// LayerNorm of the same x whose statistics they read (it runs before
	// them in every pass); nil (an op built alone) recomputes them.
	st32 []float32
	st64 []float64
	fwd  *fusedOp

	// The operands of the running call and the block function over them,
	// made once so that a call through a workPool builds no closure.
	a32          fusedArgs[float32]
	a64          fusedArgs[float64]
	blk32, blk64 func(blk, lo, hi int) // a32.block, a64.block
}

// fusedArgs holds one call's operands: output y, inputs in (x first) and
// the per-block column sums part.
type fusedArgs[F float32 | float64] struct {
	kind fusedKind
	C    int
	y    []F
	in   [3][]F
	part []F
	st   []F // (N, 2) row statistics: written by LayerNorm, read by its gradients; nil: computed per row
}

type fusedKind int

const (
	fusedLayerNorm fusedKind = iota
	fusedLayerNormGrad
	fusedLayerNormGainGrad
	fusedBias
	fusedBiasGELU
	fusedBiasGELUGrad
	fusedColSum
	fusedResidualBias
)

// fusedSigs gives each kind's name and the rank of its inputs and output:
// 2 is (N, C), 1 is (C).
var fusedSigs = [...]struct {
	name string
	in   []int
	out  int
}{
	fusedLayerNorm:         {"LayerNorm", []int{2, 1, 1}, 2},
	fusedLayerNormGrad:     {"LayerNormGrad", []int{2, 1, 2}, 2},
	fusedLayerNormGainGrad: {"LayerNormGainGrad", []int{2, 2}, 1},
	fusedBias:              {"Bias", []int{2, 1}, 2},
	fusedBiasGELU:          {"BiasGELU", []int{2, 1}, 2},
	fusedBiasGELUGrad:      {"BiasGELUGrad", []int{2, 1, 2}, 2},
	fusedColSum:            {"ColSum", []int{2}, 1},
	fusedResidualBias:      {"ResidualBias", []int{2, 2, 1}, 2},
}

// fusedRowBlock is the rows per task; it fixes the order of column sums.
const fusedRowBlock = 32

// fusedMinParallel is the element count below which one goroutine does it
// all: the tiny test graphs would spend more on spawning than computing.
const fusedMinParallel = 1 << 14

// Compile-time checks: fusedOp is symbolically differentiable (the
// gradient kinds report nothing to differentiate).
var _ G.SDOp = (*fusedOp)(nil)

func newFusedOp(kind fusedKind, N, C int) *fusedOp {
	if N <= 0 || C <= 0 {
		panic(fmt.Sprintf("model: fused %s shape N=%d, C=%d: want both > 0", fusedSigs[kind].name, N, C))
	}
	op := &fusedOp{kind: kind, N: N, C: C, workers: max(1, runtime.GOMAXPROCS(0))}
	op.a32 = fusedArgs[float32]{kind: kind, C: C}
	op.a64 = fusedArgs[float64]{kind: kind, C: C}
	op.blk32, op.blk64 = op.a32.block, op.a64.block
	return op
}

// applyFused applies a new fusedOp of the kind to the inputs; N and C are
// taken from the first input, which is (N, C) for every kind.
func applyFused(kind fusedKind, in ...*G.Node) (*G.Node, error) {
	s := in[0].Shape()
	if len(s) != 2 {
		return nil, fmt.Errorf("model: fused %s input shape %v: want 2-D", fusedSigs[kind].name, s)
	}
	return G.ApplyOp(newFusedOp(kind, s[0], s[1]), in...)
}

func (op *fusedOp) shape(rank int) tensor.Shape {
	if rank == 2 {
		return tensor.Shape{op.N, op.C}
	}
	return tensor.Shape{op.C}
}

func (op *fusedOp) Arity() int { return len(fusedSigs[op.kind].in) }

// Type: tensors of one dtype a, of the ranks in fusedSigs.
func (op *fusedOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	sig := fusedSigs[op.kind]
	ts := make([]hm.Type, 0, len(sig.in)+1)
	for _, r := range sig.in {
		ts = append(ts, G.TensorType{Dims: r, Of: a})
	}
	ts = append(ts, G.TensorType{Dims: sig.out, Of: a})
	return hm.NewFnType(ts...)
}

func (op *fusedOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	sig := fusedSigs[op.kind]
	if len(in) != len(sig.in) {
		return nil, fmt.Errorf("model: fused %s got %d inputs: want %d", sig.name, len(in), len(sig.in))
	}
	for i, r := range sig.in {
		if s, ok := in[i].(tensor.Shape); !ok || !s.Eq(op.shape(r)) {
			return nil, fmt.Errorf("model: fused %s input %d has shape %v: want %v", sig.name, i, in[i], op.shape(r))
		}
	}
	return op.shape(sig.out), nil
}

func (op *fusedOp) Do(in ...G.Value) (G.Value, error) {
	sig := fusedSigs[op.kind]
	if len(in) != len(sig.in) {
		return nil, fmt.Errorf("model: fused %s got %d inputs: want %d", sig.name, len(in), len(sig.in))
	}
	var f32 [3][]float32
	var f64 [3][]float64
	for i, r := range sig.in {
		d, err := denseData(in[i], sig.name, op.shape(r))
		if err != nil {
			return nil, err
		}
		switch d := d.(type) {
		case []float32:
			f32[i] = d
		case []float64:
			f64[i] = d
		}
		if (f32[0] == nil) != (f32[i] == nil) {
			return nil, fmt.Errorf("model: fused %s inputs 0 and %d differ in dtype", sig.name, i)
		}
	}
	var out interface{}
	size := op.shape(sig.out).TotalSize()
	if f32[0] != nil {
		y := make([]float32, size)
		fusedRun(op, nil, &op.a32, op.blk32, &op.p32, op.stats32(), y, f32)
		out = y
	} else {
		y := make([]float64, size)
		fusedRun(op, nil, &op.a64, op.blk64, &op.p64, op.stats64(), y, f64)
		out = y
	}
	return tensor.New(tensor.WithShape(op.shape(sig.out)...), tensor.WithBacking(out)), nil
}

// into is Do for the executor (graph_exec.go): float32 operands of the
// shapes checked when the graph was built, the output written into out,
// the work split over pool. It allocates nothing once the column-sum
// scratch exists.
func (op *fusedOp) into(pool *workPool, out []float32, in [][]float32) error {
	var x [3][]float32
	copy(x[:], in)
	fusedRun(op, pool, &op.a32, op.blk32, &op.p32, op.stats32(), out, x)
	return nil
}

// stats32 returns the row statistics a call of op writes (LayerNorm) or
// reads (its gradients, when built by SymDiff), else nil; stats64 is the
// same in float64. The first LayerNorm call allocates them.
func (op *fusedOp) stats32() []float32 {
	switch {
	case op.kind == fusedLayerNorm:
		return attentionScratch(&op.st32, 2*op.N)
	case op.fwd != nil && len(op.fwd.st32) == 2*op.N:
		return op.fwd.st32
	}
	return nil
}

func (op *fusedOp) stats64() []float64 {
	switch {
	case op.kind == fusedLayerNorm:
		return attentionScratch(&op.st64, 2*op.N)
	case op.fwd != nil && len(op.fwd.st64) == 2*op.N:
		return op.fwd.st64
	}
	return nil
}

// fusedRun runs op's kernel on inputs in (x first) into y (fully
// overwritten), the blocks split over pool (nil: fresh goroutines); a is
// op's operand slot of y's dtype, fn its block function, part its
// column-sum scratch and st its row statistics (stats32).
func fusedRun[F float32 | float64](op *fusedOp, pool *workPool, a *fusedArgs[F], fn func(blk, lo, hi int), part *[]F, st, y []F, in [3][]F) {
	C := op.C
	a.y, a.in, a.st = y, in, st
	colSum := fusedSigs[op.kind].out == 1
	nb := (op.N + fusedRowBlock - 1) / fusedRowBlock
	if colSum { // column sums, per block then in order
		a.part = attentionScratch(part, nb*C)
		clear(a.part)
	}
	pool.parallelBlocks(op.N, op.N*op.C, op.workers, fn)
	if colSum {
		clear(y)
		for b := 0; b < nb; b++ {
			for c, v := range a.part[b*C:][:C] {
				y[c] += v
			}
		}
	}
	a.y, a.in, a.part, a.st = nil, [3][]F{}, nil, nil
}

// block computes rows lo..hi (block blk) of the call in a.
func (a *fusedArgs[F]) block(blk, lo, hi int) {
	C, y, x, in := a.C, a.y, a.in[0], a.in
	switch a.kind {
	case fusedColSum:
		switch part := any(a.part).(type) {
		case []float32:
			colSumRows32(part[blk*C:][:C], any(x).([]float32), C, lo, hi)
		case []float64:
			colSumRows(part[blk*C:][:C], any(x).([]float64), C, lo, hi)
		}
	case fusedLayerNormGainGrad:
		layerNormGainGradRows(a.part[blk*C:][:C], x, in[1], a.st, C, lo, hi)
	case fusedLayerNorm:
		layerNormRows(y, x, in[1], in[2], a.st, C, lo, hi)
	case fusedLayerNormGrad:
		layerNormGradRows(y, x, in[1], in[2], a.st, C, lo, hi)
	case fusedBias:
		switch y := any(y).(type) {
		case []float32:
			biasRows32(y, any(x).([]float32), any(in[1]).([]float32), C, lo, hi)
		case []float64:
			biasRows(y, any(x).([]float64), any(in[1]).([]float64), C, lo, hi)
		}
	case fusedResidualBias:
		residualBiasRows(y, x, in[1], in[2], C, lo, hi)
	case fusedBiasGELU:
		switch y := any(y).(type) {
		case []float32:
			biasGELURows32(y, any(x).([]float32), any(in[1]).([]float32), C, lo, hi)
		case []float64:
			biasGELURows64(y, any(x).([]float64), any(in[1]).([]float64), C, lo, hi)
		}
	case fusedBiasGELUGrad:
		switch y := any(y).(type) {
		case []float32:
			biasGELUGradRows32(y, any(x).([]float32), any(in[1]).([]float32), any(in[2]).([]float32), C, lo, hi)
		case []float64:
			biasGELUGradRows64(y, any(x).([]float64), any(in[1]).([]float64), any(in[2]).([]float64), C, lo, hi)
		}
	}
}

func (op *fusedOp) ReturnsPtr() bool     { return false }
func (op *fusedOp) CallsExtern() bool    { return false }
func (op *fusedOp) OverwritesInput() int { return -1 }
func (op *fusedOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "Fused%s{N=%d, C=%d}", fusedSigs[op.kind].name, op.N, op.C)
}
func (op *fusedOp) Hashcode() uint32 { return opHash(op) }
func (op *fusedOp) String() string {
	return fmt.Sprintf("Fused%s{N=%d, C=%d}", fusedSigs[op.kind].name, op.N, op.C)
}

func (op *fusedOp) DiffWRT(inputs int) []bool {
	d := make([]bool, inputs)
	switch op.kind {
	case fusedLayerNorm, fusedBias, fusedBiasGELU, fusedResidualBias:
		for i := range d {
			d[i] = true
		}
	}
	return d
}

// SymDiff returns the gradients of the forward kinds:
//
//	LayerNorm: dx = LayerNormGrad(x, gain, dy), dgain = LayerNormGainGrad(x, dy), dbias = ColSum(dy)
//	Bias:      dx = dy, dv = ColSum(dy)
//	ResidualBias: dx = dh = dy, dv = ColSum(dy)
//	BiasGELU:  du = BiasGELUGrad(x, v, dy), dx = du, dv = ColSum(du)
func (op *fusedOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	sig := fusedSigs[op.kind]
	if len(inputs) != len(sig.in) {
		return nil, fmt.Errorf("model: fused %s gradient got %d inputs: want %d", sig.name, len(inputs), len(sig.in))
	}
	var (
		out = make(G.Nodes, len(inputs))
		err error
	)
	switch op.kind {
	case fusedLayerNorm: // both gradients read op's row statistics
		dx, dgain := newFusedOp(fusedLayerNormGrad, op.N, op.C), newFusedOp(fusedLayerNormGainGrad, op.N, op.C)
		dx.fwd, dgain.fwd = op, op
		if out[0], err = G.ApplyOp(dx, inputs[0], inputs[1], grad); err != nil {
			return nil, err
		}
		if out[1], err = G.ApplyOp(dgain, inputs[0], grad); err != nil {
			return nil, err
		}
		out[2], err = applyFused(fusedColSum, grad)
	case fusedBias:
		out[0] = grad
		out[1], err = applyFused(fusedColSum, grad)
	case fusedResidualBias:
		out[0], out[1] = grad, grad
		out[2], err = applyFused(fusedColSum, grad)
	case fusedBiasGELU:
		if out[0], err = applyFused(fusedBiasGELUGrad, inputs[0], inputs[1], grad); err != nil {
			return nil, err
		}
		out[1], err = applyFused(fusedColSum, out[0])
	default:
		return nil, fmt.Errorf("model: fused %s has no gradient", sig.name)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// denseData returns v's data, which must be a float32 or float64 tensor of
// the given shape, contiguous in row-major order.
func denseData(v G.Value, op string, want tensor.Shape) (interface{}, error) {
	t, ok := v.(tensor.Tensor)
	if !ok {
		return nil, fmt.Errorf("model: %s input is a %T: want a tensor", op, v)
	}
	if !t.Shape().Eq(want) {
		return nil, fmt.Errorf("model: %s input has shape %v: want %v", op, t.Shape(), want)
	}
	if d, ok := t.(*tensor.Dense); ok && d.RequiresIterator() {
		t = d.Materialize()
	}
	n := want.TotalSize()
	switch data := t.Data().(type) {
	case []float32:
		return data[:n], nil
	case []float64:
		return data[:n], nil
	default:
		return nil, fmt.Errorf("model: %s input has dtype %v: want float32 or float64", op, t.Dtype())
	}
}

// --- kernels: rows lo..hi of (N, C) matrices; they allocate nothing ---

// colSumRows adds sum_r x_r to dst (C).
func colSumRows[F float32 | float64](dst, x []F, C, lo, hi int) {
	dst = dst[:C]
	for r := lo; r < hi; r++ {
		for c, v := range x[r*C:][:C] {
			dst[c] += v
		}
	}
}

// colSumRows32 is colSumRows adding 8 columns at a time where the CPU has
// AVX2 (addVecAVX): each column still adds the rows in order, one rounding
// per addition, so the same bits, about 4x faster than the scalar loop.
func colSumRows32(dst, x []float32, C, lo, hi int) {
	if !useAVX {
		colSumRows(dst, x, C, lo, hi)
		return
	}
	dst = dst[:C]
	for r := lo; r < hi; r++ {
		addVecAVX(dst, dst, x[r*C:][:C])
	}
}

// biasRows32 is biasRows through addVecAVX where the CPU has AVX2 (the same
// bits).
func biasRows32(y, x, v []float32, C, lo, hi int) {
	if !useAVX {
		biasRows(y, x, v, C, lo, hi)
		return
	}
	v = v[:C]
	for r := lo; r < hi; r++ {
		addVecAVX(y[r*C:][:C], x[r*C:][:C], v)
	}
}

// biasRows writes y = x + v on every row.
func biasRows[F float32 | float64](y, x, v []F, C, lo, hi int) {
	v = v[:C]
	for r := lo; r < hi; r++ {
		xr, yr := x[r*C:][:C], y[r*C:][:C]
		for c, u := range xr {
			yr[c] = u + v[c]
		}
	}
}

// residualBiasRows writes y = x + (h + v) on every row: the residual
// connection x + (h W + v) in one pass, without the intermediate h + v.
func residualBiasRows[F float32 | float64](y, x, h, v []F, C, lo, hi int) {
	v = v[:C]
	for r := lo; r < hi; r++ {
		xr, hr, yr := x[r*C:][:C], h[r*C:][:C], y[r*C:][:C]
		for c, u := range xr {
			yr[c] = u + (hr[c] + v[c])
		}
	}
}

const (
	geluC = 0.7978845608028654 // sqrt(2/pi)
	geluK = 0.044715
)

// biasGELURows32 is biasGELURowsGo32 in one vectorised pass where the CPU
// has AVX2: u = x + v (addVecAVX), then the engine's geluArr (geluVecAVX)
// on the columns biasGELURowsGo32 sends through expVec, the scalar formula
// with expf on the rest; the same operations in the same order, so the
// same bits (TestBiasGELURows32MatchGo).
func biasGELURows32(y, x, v []float32, C, lo, hi int) {
	if !useAVX {
		biasGELURowsGo32(y, x, v, C, lo, hi)
		return
	}
	v = v[:C]
	n8 := C &^ 7
	for r := lo; r < hi; r++ {
		xr, yr := x[r*C:][:C], y[r*C:][:C]
		if n8 > 0 {
			addVecAVX(yr[:n8], xr[:n8], v[:n8])
			geluVecAVX(yr[:n8])
		}
		for c := n8; c < C; c++ {
			u := xr[c] + v[c]
			yr[c] = u / (1 + expf(-2*0.7978845608028654*(u+0.044715*u*u*u)))
		}
	}
}

// biasGELURowsGo32 writes y = gelu(x + v) as the engine does (kernels.go,
// epilogueRowAVX): u / (1 + exp(-2 sqrt(2/pi) (u + 0.044715 u^3))), the
// exponentials through expInPlace in y's own row. It is the reference of
// biasGELURows32.
func biasGELURowsGo32(y, x, v []float32, C, lo, hi int) {
	v = v[:C]
	for r := lo; r < hi; r++ {
		xr, yr := x[r*C:][:C], y[r*C:][:C]
		for c, u := range xr {
			u += v[c]
			yr[c] = -2 * 0.7978845608028654 * (u + 0.044715*u*u*u)
		}
		expInPlace(yr)
		for c, u := range xr {
			yr[c] = (u + v[c]) / (1 + yr[c])
		}
	}
}

// expInPlace sets x[i] = exp(x[i]): 8 lanes at a time with expVec where the
// CPU has AVX2 (as the engine's GELU), the rest with expf; which one an
// element gets depends only on its index.
func expInPlace(x []float32) {
	n := 0
	if useAVX {
		n = len(x) &^ 7
		if n > 0 {
			expVec(x[:n])
		}
	}
	for i := n; i < len(x); i++ {
		x[i] = expf(x[i])
	}
}

// biasGELURows64 writes y = gelu(x + v) with math.Tanh, as refGELU.
func biasGELURows64(y, x, v []float64, C, lo, hi int) {
	v = v[:C]
	for r := lo; r < hi; r++ {
		xr, yr := x[r*C:][:C], y[r*C:][:C]
		for c, u := range xr {
			yr[c] = refGELU(u + v[c])
		}
	}
}

// biasGELUGradRows32 is biasGELUGradRowsGo32 in one vectorised pass where
// the CPU has AVX2 (geluGradVecAVX) on the columns biasGELUGradRowsGo32
// sends through expVec, the scalar formula with expf on the rest: the same
// operations in the same order, so the same bits
// (TestBiasGELUGradRows32MatchGo).
func biasGELUGradRows32(du, x, v, dy []float32, C, lo, hi int) {
	if !useAVX {
		biasGELUGradRowsGo32(du, x, v, dy, C, lo, hi)
		return
	}
	v = v[:C]
	n8 := C &^ 7
	for r := lo; r < hi; r++ {
		xr, dyr, dur := x[r*C:][:C], dy[r*C:][:C], du[r*C:][:C]
		if n8 > 0 {
			geluGradVecAVX(dur[:n8], xr[:n8], v[:n8], dyr[:n8])
		}
		for c := n8; c < C; c++ {
			u := xr[c] + v[c]
			s := 1 / (1 + expf(-2*0.7978845608028654*(u+0.044715*u*u*u)))
			dur[c] = dyr[c] * (s + 2*u*s*(1-s)*geluC*(1+3*geluK*u*u))
		}
	}
}

// biasGELUGradRowsGo32 writes du = dy * gelu'(u), u = x + v. With
// s = 1 / (1 + exp(-2a)) = 0.5 (1 + tanh a), a = c (u + k u^3):
// gelu(u) = u s and gelu'(u) = s + 2 u s (1 - s) c (1 + 3 k u^2). The
// exponentials go through expInPlace in du's own row. It is the reference
// of biasGELUGradRows32.
func biasGELUGradRowsGo32(du, x, v, dy []float32, C, lo, hi int) {
	v = v[:C]
	for r := lo; r < hi; r++ {
		xr, dyr, dur := x[r*C:][:C], dy[r*C:][:C], du[r*C:][:C]
		for c, u := range xr {
			u += v[c]
			dur[c] = -2 * 0.7978845608028654 * (u + 0.044715*u*u*u)
		}
		expInPlace(dur)
		for c, xv := range xr {
			u := xv + v[c]
			s := 1 / (1 + dur[c])
			dur[c] = dyr[c] * (s + 2*u*s*(1-s)*geluC*(1+3*geluK*u*u))
		}
	}
}

// biasGELUGradRows64 is biasGELUGradRows32 in float64 with t = tanh a:
// gelu'(u) = 0.5 (1 + t) + 0.5 u (1 - t^2) c (1 + 3 k u^2).
func biasGELUGradRows64(du, x, v, dy []float64, C, lo, hi int) {
	v = v[:C]
	for r := lo; r < hi; r++ {
		xr, dyr, dur := x[r*C:][:C], dy[r*C:][:C], du[r*C:][:C]
		for c, xv := range xr {
			u := xv + v[c]
			u2 := u * u
			t := math.Tanh(geluC * (u + geluK*u2*u))
			dur[c] = dyr[c] * (0.5*(1+t) + 0.5*u*(1-t*t)*geluC*(1+3*geluK*u2))
		}
	}
}
