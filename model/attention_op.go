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

// attentionOp is causal multi-head self-attention fused into one gorgonia op
// (Vaswani et al. 2017, "Attention Is All You Need", eq. 1, with a causal mask):
//
//	qkv (N, 3D) -> y (N, D),  N = B*T rows ordered (b, t), columns [q | k | v]
//	y_i[h] = sum_{j<=i} softmax_j(q_i[h] . k_j[h] / sqrt(hd)) v_j[h]
//
// within each sequence b and head h, where x[h] is columns h*hd..(h+1)*hd of
// the q, k or v block. Padding rows sit at the end of a sequence, so the
// causal mask alone keeps them from influencing real rows.
//
// Packing: when pos (the position ids, (N), shared with the Graph) is set,
// a row of T tokens may hold several sequences one after another, each
// starting at position 0. Row i then attends to j in [i-pos_i, i] only (its
// own segment), so a packed sequence computes exactly what it would alone.
// pos nil is the plain layout, one sequence per row (pos_i = i).
//
// It replaces the Reshape/Transpose/BatchedMatMul/SoftMax chain that gave
// wrong values for D >= 128 in gorgonia v0.9.18, and skips the (B*H, T, T)
// score and mask tensors. The gradient is attentionGradOp (symbolic
// differentiation, G.Grad). In float32 the forward pass keeps its softmax
// probabilities (B*H, T, T) for it when they fit in attentionKeepFloats,
// else the gradient recomputes them: the same Sgemm and softmax on the
// same qkv, so the same bits either way.
//
// float32 runs on this package's Sgemm (attentionForwardSgemm and
// attentionBackwardSgemm); float64, used by gradient checks, runs the plain
// loops (attentionForward, attentionBackward), which are also the reference
// the Sgemm path is tested against. Work is split over goroutines by whole
// (b, h) pairs, so results do not depend on the worker count.
//
// Do allocates only its output; the scratch lives in the op, so Do must not
// run concurrently with itself (the executor and the tape machine run ops
// one at a time).
type attentionOp struct {
	attentionShape
}

// into is Do for the executor (graph_exec.go): qkv in[0] (N, 3D) -> out
// (N, D), split over pool; it allocates nothing once the scratch exists.
func (op *attentionOp) into(pool *workPool, out []float32, in [][]float32) error {
	attentionRun(&op.attentionShape, pool, &op.a32, op.work32, &op.s32, out, in[0], nil)
	return nil
}

// into is Do for the executor: (qkv, dy) -> dqkv.
func (op *attentionGradOp) into(pool *workPool, out []float32, in [][]float32) error {
	attentionRun(&op.attentionShape, pool, &op.a32, op.work32, &op.s32, out, in[0], in[1])
	return nil
}

// attentionGradOp is d attentionOp: (qkv (N, 3D), dy (N, D)) -> dqkv (N, 3D).
type attentionGradOp struct {
	attentionShape
}

// Compile-time checks: the forward op is symbolically differentiable.
var (
	_ G.SDOp = (*attentionOp)(nil)
	_ G.Op   = (*attentionGradOp)(nil)
)

// attentionShape holds what both ops share: the fixed sizes and the scratch.
type attentionShape struct {
	B, T, H, hd int   // sequences, tokens per sequence, heads, head width
	workers     int   // goroutines over the B*H (sequence, head) pairs
	pos         []int // (B*T) position ids that delimit packed segments; nil: one sequence per row

	s32 []float32 // (workers, 2, T, T) probabilities and their gradient
	s64 []float64 // (workers, 2, T, T), of which each worker uses 2 rows of T

	// kept is shared by a float32 attentionOp and the attentionGradOp that
	// its SymDiff builds: the forward pass writes its probabilities
	// (B*H, T, T) there and the gradient reads them. nil (a forward-only
	// graph, an op built alone, or too large a shape) keeps nothing and the
	// gradient recomputes them.
	kept *[]float32

	// The operands of the running call and the work function over them,
	// made once (init) so that a call through a workPool builds no closure.
	a32            attentionArgs[float32]
	a64            attentionArgs[float64]
	work32, work64 func(w int) // a32.work, a64.work
}

// attentionArgs holds one call's operands: out is y (forward) or dqkv
// (backward, when dy is set); scr is the workers' scratch; stride the
// number of workers running.
type attentionArgs[F float32 | float64] struct {
	s            *attentionShape
	out, qkv, dy []F
	scr          []F
	kept         []float32 // (B*H, T, T) probabilities of the float32 forward pass, or nil
	stride       int
	sg           []sgemmScratch // (stride): each worker's Sgemm packing buffers (sgemmSerial)
}

// attentionKeepFloats bounds the probabilities an attentionOp keeps for its
// gradient (16 MiB a layer); larger shapes recompute them.
const attentionKeepFloats = 4 << 20

// keptProbs returns the kept probabilities for a float32 call: the
// forward pass (dy nil) gets the buffer to fill, the gradient the filled
// one; nil when nothing is kept.
func (s *attentionShape) keptProbs(backward bool) []float32 {
	n := s.B * s.H * s.T * s.T
	switch {
	case s.kept == nil:
		return nil
	case !backward:
		return attentionScratch(s.kept, n)
	case len(*s.kept) == n:
		return *s.kept
	}
	return nil
}

// init points the operand slots at s; call it once s is in its op.
func (s *attentionShape) init() {
	s.a32.s, s.a64.s = s, s
	s.work32, s.work64 = s.a32.work, s.a64.work
}

// scratchLen is one worker's scratch in elements: two (T, T) matrices for
// the float32 path; the float64 loops use the first 2*T of it.
func (s *attentionShape) scratchLen() int { return 2 * s.T * s.T }

func newAttentionShape(B, T, H, hd int) attentionShape {
	if B <= 0 || T <= 0 || H <= 0 || hd <= 0 {
		panic(fmt.Sprintf("model: attention shape B=%d, T=%d, H=%d, hd=%d: want all > 0", B, T, H, hd))
	}
	return attentionShape{B: B, T: T, H: H, hd: hd, workers: max(1, min(runtime.GOMAXPROCS(0), B*H))}
}

// newAttentionOp returns the fused attention for B rows of T tokens, H
// heads of width hd. pos, if not nil, holds the (B*T) position ids read at
// every run: a row may then pack several sequences (see attentionOp).
func newAttentionOp(B, T, H, hd int, pos []int) *attentionOp {
	op := &attentionOp{newAttentionShape(B, T, H, hd)}
	op.pos = pos
	op.init()
	return op
}

// newAttentionGradOp returns the gradient of newAttentionOp(B, T, H, hd, pos).
func newAttentionGradOp(B, T, H, hd int, pos []int) *attentionGradOp {
	op := &attentionGradOp{newAttentionShape(B, T, H, hd)}
	op.pos = pos
	op.init()
	return op
}

// segStart returns where the segment of token i of sequence row b starts:
// i - pos[b*T+i], or 0 without packing. The Graph checks pos (graph.go).
func segStart(pos []int, b, T, i int) int {
	if pos == nil {
		return 0
	}
	return i - pos[b*T+i]
}

func (s *attentionShape) String() string {
	return fmt.Sprintf("B=%d, T=%d, H=%d, hd=%d", s.B, s.T, s.H, s.hd)
}

// checkInput returns v's data, which must be (rows, cols) of float32 or
// float64, contiguous in row-major order.
func (s *attentionShape) checkInput(v G.Value, name string, rows, cols int) (interface{}, error) {
	t, ok := v.(tensor.Tensor)
	if !ok {
		return nil, fmt.Errorf("model: attention %s is a %T: want a tensor", name, v)
	}
	if sh := t.Shape(); len(sh) != 2 || sh[0] != rows || sh[1] != cols {
		return nil, fmt.Errorf("model: attention %s has shape %v: want (%d, %d)", name, sh, rows, cols)
	}
	if d, ok := t.(*tensor.Dense); ok && d.RequiresIterator() {
		t = d.Materialize()
	}
	switch data := t.Data().(type) {
	case []float32:
		return data[:rows*cols], nil
	case []float64:
		return data[:rows*cols], nil
	default:
		return nil, fmt.Errorf("model: attention %s has dtype %v: want float32 or float64", name, t.Dtype())
	}
}

// attentionScratch returns the first n elements of *buf, grown if needed.
func attentionScratch[F float32 | float64](buf *[]F, n int) []F {
	if len(*buf) < n {
		*buf = make([]F, n)
	}
	return (*buf)[:n]
}

// attentionRun computes the call's output into out (forward when dy is
// nil, else the gradient), split over pool (nil: fresh goroutines) by
// (b, h) pairs: worker w takes pairs w, w+workers, ..., so the result does
// not depend on the worker count.
func attentionRun[F float32 | float64](s *attentionShape, pool *workPool, a *attentionArgs[F], work func(w int), buf *[]F, out, qkv, dy []F) {
	a.stride = pool.size(s.workers)
	a.out, a.qkv, a.dy = out, qkv, dy
	a.scr = attentionScratch(buf, s.workers*s.scratchLen())
	if len(a.sg) < a.stride {
		a.sg = make([]sgemmScratch, a.stride)
	}
	if _, ok := any(out).([]float32); ok {
		a.kept = s.keptProbs(dy != nil)
	}
	pool.run(a.stride, work)
	a.out, a.qkv, a.dy, a.scr, a.kept = nil, nil, nil, nil, nil
}

// work runs worker w's pairs of the call in a.
func (a *attentionArgs[F]) work(w int) {
	s := a.s
	n := s.scratchLen()
	sw := a.scr[w*n:][:n]
	switch out := any(a.out).(type) {
	case []float32:
		qkv, sw := any(a.qkv).([]float32), any(sw).([]float32)
		if a.dy == nil {
			attentionForwardSgemm(out, qkv, s.B, s.T, s.H, s.hd, s.pos, a.kept, sw, &a.sg[w], w, a.stride)
		} else {
			attentionBackwardSgemm(out, qkv, any(a.dy).([]float32), s.B, s.T, s.H, s.hd, s.pos, a.kept, sw, &a.sg[w], w, a.stride)
		}
	case []float64:
		qkv, sw := any(a.qkv).([]float64), any(sw).([]float64)
		if a.dy == nil {
			attentionForward(out, qkv, s.B, s.T, s.H, s.hd, s.pos, sw[:s.T], w, a.stride)
		} else {
			attentionBackward(out, qkv, any(a.dy).([]float64), s.B, s.T, s.H, s.hd, s.pos, sw[:s.T], sw[s.T:2*s.T], w, a.stride)
		}
	}
}

// --- attentionOp: gorgonia.Op and gorgonia.SDOp ---

func (op *attentionOp) Arity() int { return 1 }

// Type is a -> a: a 2-D tensor in, a 2-D tensor of the same dtype out.
func (op *attentionOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}

func (op *attentionOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("model: attention got %d inputs: want 1", len(in))
	}
	N, D := op.B*op.T, op.H*op.hd
	if s, ok := in[0].(tensor.Shape); !ok || len(s) != 2 || s[0] != N || s[1] != 3*D {
		return nil, fmt.Errorf("model: attention input shape %v: want (%d, %d)", in[0], N, 3*D)
	}
	return tensor.Shape{N, D}, nil
}

func (op *attentionOp) Do(in ...G.Value) (G.Value, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("model: attention got %d inputs: want 1", len(in))
	}
	N, D := op.B*op.T, op.H*op.hd
	qkv, err := op.checkInput(in[0], "qkv", N, 3*D)
	if err != nil {
		return nil, err
	}
	var y interface{}
	switch qkv := qkv.(type) {
	case []float32:
		out := make([]float32, N*D)
		attentionRun(&op.attentionShape, nil, &op.a32, op.work32, &op.s32, out, qkv, nil)
		y = out
	case []float64:
		out := make([]float64, N*D)
		attentionRun(&op.attentionShape, nil, &op.a64, op.work64, &op.s64, out, qkv, nil)
		y = out
	}
	return tensor.New(tensor.WithShape(N, D), tensor.WithBacking(y)), nil
}

func (op *attentionOp) ReturnsPtr() bool     { return false }
func (op *attentionOp) CallsExtern() bool    { return false }
func (op *attentionOp) OverwritesInput() int { return -1 }
func (op *attentionOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "CausalAttention{%v}", &op.attentionShape)
}
func (op *attentionOp) Hashcode() uint32 { return opHash(op) }
func (op *attentionOp) String() string   { return fmt.Sprintf("CausalAttention{%v}", &op.attentionShape) }

func (op *attentionOp) DiffWRT(inputs int) []bool { return []bool{true} }

// SymDiff returns d qkv = attentionGradOp(qkv, d y).
func (op *attentionOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("model: attention gradient got %d inputs: want 1", len(inputs))
	}
	gop := newAttentionGradOp(op.B, op.T, op.H, op.hd, op.pos)
	if op.B*op.H*op.T*op.T <= attentionKeepFloats { // the forward pass keeps its probabilities for gop
		op.kept = new([]float32)
		gop.kept = op.kept
	}
	dqkv, err := G.ApplyOp(gop, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dqkv}, nil
}

// --- attentionGradOp: gorgonia.Op ---

func (op *attentionGradOp) Arity() int { return 2 }

// Type is a -> a -> a: qkv and dy are 2-D tensors of one dtype, as is dqkv.
func (op *attentionGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a, a)
}

func (op *attentionGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("model: attention gradient got %d inputs: want 2", len(in))
	}
	N, D := op.B*op.T, op.H*op.hd
	if s, ok := in[0].(tensor.Shape); !ok || len(s) != 2 || s[0] != N || s[1] != 3*D {
		return nil, fmt.Errorf("model: attention gradient input shape %v: want (%d, %d)", in[0], N, 3*D)
	}
	if s, ok := in[1].(tensor.Shape); !ok || len(s) != 2 || s[0] != N || s[1] != D {
		return nil, fmt.Errorf("model: attention gradient output-gradient shape %v: want (%d, %d)", in[1], N, D)
	}
	return tensor.Shape{N, 3 * D}, nil
}

func (op *attentionGradOp) Do(in ...G.Value) (G.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("model: attention gradient got %d inputs: want 2", len(in))
	}
	N, D := op.B*op.T, op.H*op.hd
	qkv, err := op.checkInput(in[0], "qkv", N, 3*D)
	if err != nil {
		return nil, err
	}
	dy, err := op.checkInput(in[1], "output gradient", N, D)
	if err != nil {
		return nil, err
	}
	var dqkv interface{}
	switch qkv := qkv.(type) {
	case []float32:
		dy, ok := dy.([]float32)
		if !ok {
			return nil, fmt.Errorf("model: attention gradient: qkv is float32, output gradient %T", dy)
		}
		out := make([]float32, len(qkv))
		attentionRun(&op.attentionShape, nil, &op.a32, op.work32, &op.s32, out, qkv, dy)
		dqkv = out
	case []float64:
		dy, ok := dy.([]float64)
		if !ok {
			return nil, fmt.Errorf("model: attention gradient: qkv is float64, output gradient %T", dy)
		}
		out := make([]float64, len(qkv))
		attentionRun(&op.attentionShape, nil, &op.a64, op.work64, &op.s64, out, qkv, dy)
		dqkv = out
	}
	return tensor.New(tensor.WithShape(N, 3*D), tensor.WithBacking(dqkv)), nil
}

func (op *attentionGradOp) ReturnsPtr() bool     { return false }
func (op *attentionGradOp) CallsExtern() bool    { return false }
func (op *attentionGradOp) OverwritesInput() int { return -1 }
func (op *attentionGradOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "CausalAttentionGrad{%v}", &op.attentionShape)
}
func (op *attentionGradOp) Hashcode() uint32 { return opHash(op) }
func (op *attentionGradOp) String() string {
	return fmt.Sprintf("CausalAttentionGrad{%v}", &op.attentionShape)
}

// --- kernels ---

// attentionForward writes y (B*T, H*hd) for the (b, h) pairs
// first, first+stride, ... < B*H, pair = b*H + h, from qkv (B*T, 3*H*hd);
// pos delimits packed segments (nil: none). p is scratch of T. It
// allocates nothing.
func attentionForward[F float32 | float64](y, qkv []F, B, T, H, hd int, pos []int, p []F, first, stride int) {
	D := H * hd
	for pair := first; pair < B*H; pair += stride {
		b, h := pair/H, pair%H
		for i := 0; i < T; i++ {
			row := b*T + i
			lo := segStart(pos, b, T, i)
			attentionProbs(p[:i+1-lo], qkv, b*T+lo, row, D, h*hd, hd)
			yi := y[row*D+h*hd:][:hd]
			clear(yi)
			for j, pj := range p[:i+1-lo] {
				vj := qkv[(b*T+lo+j)*3*D+2*D+h*hd:][:hd]
				for e, v := range vj {
					yi[e] += pj * v
				}
			}
		}
	}
}

// attentionProbs writes p[j] = softmax_j(q_row . k_{row0+j} / sqrt(hd)) for
// j < len(p), head columns col..col+hd of the q and k blocks of qkv (., 3D).
func attentionProbs[F float32 | float64](p, qkv []F, row0, row, D, col, hd int) {
	scale := F(1 / math.Sqrt(float64(hd)))
	qi := qkv[row*3*D+col:][:hd]
	mx := F(math.Inf(-1))
	for j := range p {
		kj := qkv[(row0+j)*3*D+D+col:][:hd]
		var s F
		for e, k := range kj {
			s += qi[e] * k
		}
		s *= scale
		p[j] = s
		mx = max(mx, s)
	}
	var sum F
	for j, s := range p {
		e := F(math.Exp(float64(s - mx)))
		p[j] = e
		sum += e
	}
	inv := 1 / sum
	for j := range p {
		p[j] *= inv
	}
}

// attentionBackward adds to dqkv (B*T, 3*H*hd), which must be zero on the
// pairs' columns, the gradient of sum(y * dy) for the (b, h) pairs first,
// first+stride, ...; the softmax is recomputed from qkv. p and dp are
// scratch of T. With s_j = q.k_j / sqrt(hd), p = softmax(s), y = sum p_j v_j:
//
//	dv_j += p_j dy,  dp_j = dy . v_j,  ds_j = p_j (dp_j - sum_k p_k dp_k),
//	dq += sum_j ds_j k_j / sqrt(hd),  dk_j += ds_j q / sqrt(hd).
//
// It allocates nothing.
func attentionBackward[F float32 | float64](dqkv, qkv, dy []F, B, T, H, hd int, pos []int, p, dp []F, first, stride int) {
	D := H * hd
	scale := F(1 / math.Sqrt(float64(hd)))
	for pair := first; pair < B*H; pair += stride {
		b, h := pair/H, pair%H
		col := h * hd
		for i := 0; i < T; i++ {
			row := b*T + i
			lo := segStart(pos, b, T, i)
			pi := p[:i+1-lo]
			attentionProbs(pi, qkv, b*T+lo, row, D, col, hd)
			dyi := dy[row*D+col:][:hd]
			var dot F
			for j, pj := range pi {
				vj := qkv[(b*T+lo+j)*3*D+2*D+col:][:hd]
				var s F
				for e, v := range vj {
					s += dyi[e] * v
				}
				dp[j] = s
				dot += pj * s
			}
			qi := qkv[row*3*D+col:][:hd]
			dqi := dqkv[row*3*D+col:][:hd]
			for j, pj := range pi {
				base := (b*T + lo + j) * 3 * D
				kj := qkv[base+D+col:][:hd]
				dkj := dqkv[base+D+col:][:hd]
				dvj := dqkv[base+2*D+col:][:hd]
				ds := pj * (dp[j] - dot) * scale
				for e := range hd {
					dqi[e] += ds * kj[e]
					dkj[e] += ds * qi[e]
					dvj[e] += pj * dyi[e]
				}
			}
		}
	}
}

// attentionForwardSgemm is attentionForward for float32 on Sgemm, one
// (b, h) pair at a time: S = Q K^T / sqrt(hd) (T, T), causal softmax of
// each row (exact zeros above the diagonal), Y = S V. It computes the full
// T x T product, twice the flops of the causal half, but on the register-
// tiled kernel. scr holds 2*T*T; kept, if not nil, (B*H, T, T) receives
// each pair's probabilities for the gradient; sg is the worker's Sgemm
// packing buffers (nil: Sgemm's pool). It allocates nothing once they have
// grown.
func attentionForwardSgemm(y, qkv []float32, B, T, H, hd int, pos []int, kept, scr []float32, sg *sgemmScratch, first, stride int) {
	D := H * hd
	ld := 3 * D
	scale := float32(1 / math.Sqrt(float64(hd)))
	S := scr[:T*T]
	for pair := first; pair < B*H; pair += stride {
		if kept != nil {
			S = kept[pair*T*T:][:T*T]
		}
		b, h := pair/H, pair%H
		q := qkv[b*T*ld+h*hd:] // (T, hd), row stride 3D
		k, v := q[D:], q[2*D:]
		sgemmSerial(sg, false, true, T, T, hd, scale, q, ld, k, ld, 0, S, T)
		for i := 0; i < T; i++ {
			attentionSoftmaxRow(S[i*T:][:T], segStart(pos, b, T, i), i)
		}
		sgemmSerial(sg, false, false, T, hd, T, 1, S, T, v, ld, 0, y[b*T*D+h*hd:], D)
	}
}

// attentionSoftmaxRow replaces row[lo:i+1] by its softmax and zeroes the
// rest of row.
func attentionSoftmaxRow(row []float32, lo, i int) {
	seg := row[lo : i+1]
	if useAVX && softmaxAsm {
		softmaxRowAVX(seg)
	} else {
		attentionSoftmaxRowGo(seg)
	}
	clear(row[:lo])
	clear(row[i+1:])
}

// softmaxAsm lets attentionSoftmaxRow run softmaxRowAVX where the CPU has
// AVX2 (a knob for the benchmark that measures it).
var softmaxAsm = true

// attentionSoftmaxRowGo replaces seg by its softmax, one element at a time.
func attentionSoftmaxRowGo(seg []float32) {
	mx := float32(math.Inf(-1))
	for _, s := range seg {
		mx = max(mx, s)
	}
	for j, s := range seg {
		seg[j] = s - mx
	}
	expInPlace(seg)
	var sum float32
	for _, e := range seg {
		sum += e
	}
	inv := 1 / sum
	for j := range seg {
		seg[j] *= inv
	}
}

// attentionBackwardSgemm is attentionBackward for float32 on Sgemm; it
// writes (not adds) the pairs' columns of dqkv. Per (b, h), with P the
// recomputed probabilities (T, T) and dY (T, hd):
//
//	dP = dY V^T,  dS = P * (dP - rowsum(P * dP)) / sqrt(hd),
//	dQ = dS K,  dK = dS^T Q,  dV = P^T dY.
//
// P is recomputed unless kept (B*H, T, T) holds the forward pass's. scr
// holds 2*T*T; sg as in attentionForwardSgemm.
func attentionBackwardSgemm(dqkv, qkv, dy []float32, B, T, H, hd int, pos []int, kept, scr []float32, sg *sgemmScratch, first, stride int) {
	D := H * hd
	ld := 3 * D
	scale := float32(1 / math.Sqrt(float64(hd)))
	P, dP := scr[:T*T], scr[T*T:2*T*T]
	for pair := first; pair < B*H; pair += stride {
		b, h := pair/H, pair%H
		q := qkv[b*T*ld+h*hd:] // (T, hd), row stride 3D
		k, v := q[D:], q[2*D:]
		dq := dqkv[b*T*ld+h*hd:]
		dk, dv := dq[D:], dq[2*D:]
		g := dy[b*T*D+h*hd:] // (T, hd), row stride D
		if kept != nil {
			P = kept[pair*T*T:][:T*T]
		} else {
			sgemmSerial(sg, false, true, T, T, hd, scale, q, ld, k, ld, 0, P, T)
			for i := 0; i < T; i++ {
				attentionSoftmaxRow(P[i*T:][:T], segStart(pos, b, T, i), i)
			}
		}
		sgemmSerial(sg, false, true, T, T, hd, 1, g, D, v, ld, 0, dP, T)
		for i := 0; i < T; i++ {
			lo := segStart(pos, b, T, i)
			p, d := P[i*T+lo:i*T+i+1], dP[i*T:][:T]
			var dot float32
			for j, pj := range p {
				dot += pj * d[lo+j]
			}
			for j, pj := range p {
				d[lo+j] = pj * (d[lo+j] - dot) * scale
			}
			clear(d[:lo])
			clear(d[i+1:])
		}
		sgemmSerial(sg, false, false, T, hd, T, 1, dP, T, k, ld, 0, dq, ld)
		sgemmSerial(sg, true, false, T, hd, T, 1, dP, T, q, ld, 0, dk, ld)
		sgemmSerial(sg, true, false, T, hd, T, 1, P, T, g, D, 0, dv, ld)
	}
}
