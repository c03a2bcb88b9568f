package model

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	"gonum.org/v1/gonum/blas"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// matMulOp is C = op(A) op(B) for matrices, op(X) = X or its transpose, in
// place of gorgonia's Mul: the same BLAS call (gorgonia's BLAS, FastBLAS by
// default) with the same arguments tensor's MatMul passes, so the same
// bits, but with an output the executor owns (graph_exec.go) and no
// transposed views. Its gradients are matMulOps again:
//
//	C = A B:   dA = dC Bᵀ, dB = Aᵀ dC
//	C = A Bᵀ:  dA = dC B,  dB = dCᵀ A
//	C = Aᵀ B:  dA = B dCᵀ, dB = A dC
type matMulOp struct {
	tA, tB  bool
	m, n, k int // C (m, n) = op(A) (m, k) op(B) (k, n)
}

// applyMatMul returns the node op(a) op(b).
func applyMatMul(a, b *G.Node, tA, tB bool) (*G.Node, error) {
	as, bs := a.Shape(), b.Shape()
	if len(as) != 2 || len(bs) != 2 {
		return nil, fmt.Errorf("model: matmul of shapes %v and %v: want matrices", as, bs)
	}
	m, k := as[0], as[1]
	if tA {
		m, k = k, m
	}
	k2, n := bs[0], bs[1]
	if tB {
		k2, n = n, k2
	}
	if k != k2 {
		return nil, fmt.Errorf("model: matmul of shapes %v and %v (transposed %v, %v): inner sizes %d and %d differ", as, bs, tA, tB, k, k2)
	}
	return G.ApplyOp(&matMulOp{tA: tA, tB: tB, m: m, n: n, k: k}, a, b)
}

// shapes returns the stored shapes of A and B.
func (op *matMulOp) shapes() (a, b tensor.Shape) {
	a, b = tensor.Shape{op.m, op.k}, tensor.Shape{op.k, op.n}
	if op.tA {
		a = tensor.Shape{op.k, op.m}
	}
	if op.tB {
		b = tensor.Shape{op.n, op.k}
	}
	return a, b
}

func (op *matMulOp) Arity() int { return 2 }

// Type is Matrix a -> Matrix a -> Matrix a.
func (op *matMulOp) Type() hm.Type {
	m := G.TensorType{Dims: 2, Of: hm.TypeVariable('a')}
	return hm.NewFnType(m, m, m)
}

func (op *matMulOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("model: %v got %d inputs: want 2", op, len(in))
	}
	a, b := op.shapes()
	for i, want := range []tensor.Shape{a, b} {
		if s, ok := in[i].(tensor.Shape); !ok || !s.Eq(want) {
			return nil, fmt.Errorf("model: %v input %d has shape %v: want %v", op, i, in[i], want)
		}
	}
	return tensor.Shape{op.m, op.n}, nil
}

func (op *matMulOp) Do(in ...G.Value) (G.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("model: %v got %d inputs: want 2", op, len(in))
	}
	as, bs := op.shapes()
	a, err := denseData(in[0], op.String(), as)
	if err != nil {
		return nil, err
	}
	b, err := denseData(in[1], op.String(), bs)
	if err != nil {
		return nil, err
	}
	var c interface{}
	switch a := a.(type) {
	case []float32:
		b, ok := b.([]float32)
		if !ok {
			return nil, fmt.Errorf("model: %v inputs differ in dtype", op)
		}
		out := make([]float32, op.m*op.n)
		op.gemm32(out, a, b)
		c = out
	case []float64:
		b, ok := b.([]float64)
		if !ok {
			return nil, fmt.Errorf("model: %v inputs differ in dtype", op)
		}
		out := make([]float64, op.m*op.n)
		lda, ldb := op.lds()
		G.WhichBLAS().Dgemm(blasT(op.tA), blasT(op.tB), op.m, op.n, op.k, 1, a, lda, b, ldb, 0, out, op.n)
		c = out
	}
	return tensor.New(tensor.WithShape(op.m, op.n), tensor.WithBacking(c)), nil
}

// into is Do for the executor (graph_exec.go). With FastBLAS it runs this
// package's Sgemm on the executor's pool (sgemmPool: the same bits,
// allocation-free); with another BLAS it calls it as Do does.
func (op *matMulOp) into(pool *workPool, out []float32, in [][]float32) error {
	if _, ok := G.WhichBLAS().(FastBLAS); !ok {
		op.gemm32(out, in[0], in[1])
		return nil
	}
	lda, ldb := op.lds()
	sgemmPool(pool, op.tA, op.tB, op.m, op.n, op.k, 1, in[0], lda, in[1], ldb, 0, out, op.n)
	return nil
}

func (op *matMulOp) gemm32(c, a, b []float32) {
	lda, ldb := op.lds()
	G.WhichBLAS().Sgemm(blasT(op.tA), blasT(op.tB), op.m, op.n, op.k, 1, a, lda, b, ldb, 0, c, op.n)
}

// lds returns the leading dimensions of the stored A and B (row-major).
func (op *matMulOp) lds() (lda, ldb int) {
	lda, ldb = op.k, op.n
	if op.tA {
		lda = op.m
	}
	if op.tB {
		ldb = op.k
	}
	return lda, ldb
}

func blasT(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

func (op *matMulOp) ReturnsPtr() bool      { return false }
func (op *matMulOp) CallsExtern() bool     { return false }
func (op *matMulOp) OverwritesInput() int  { return -1 }
func (op *matMulOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *matMulOp) Hashcode() uint32      { return opHash(op) }
func (op *matMulOp) String() string {
	a, b := "A", "B"
	if op.tA {
		a = "Aᵀ"
	}
	if op.tB {
		b = "Bᵀ"
	}
	return fmt.Sprintf("MatMul{%s×%s, m=%d, n=%d, k=%d}", a, b, op.m, op.n, op.k)
}

func (op *matMulOp) DiffWRT(inputs int) []bool { return []bool{true, true} }

func (op *matMulOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("model: %v gradient got %d inputs: want 2", op, len(inputs))
	}
	a, b := inputs[0], inputs[1]
	var da, db *G.Node
	var err error
	switch {
	case !op.tA && !op.tB:
		if da, err = applyMatMul(grad, b, false, true); err == nil {
			db, err = applyMatMul(a, grad, true, false)
		}
	case !op.tA && op.tB:
		if da, err = applyMatMul(grad, b, false, false); err == nil {
			db, err = applyMatMul(grad, a, true, false)
		}
	case op.tA && !op.tB:
		if da, err = applyMatMul(b, grad, false, true); err == nil {
			db, err = applyMatMul(a, grad, false, false)
		}
	default:
		return nil, fmt.Errorf("model: %v: no gradient for both inputs transposed", op)
	}
	if err != nil {
		return nil, err
	}
	return G.Nodes{da, db}, nil
}

// opHash is the Hashcode of every op of this package: FNV-1a of WriteHash.
func opHash(op G.Op) uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// embedOp is the input embedding x_i = wte[tok_i] + wpe[pos_i], (N, D),
// with the token and position ids read from the Graph's Tokens and Pos at
// every run (they are checked there), in place of two gorgonia ByIndices
// and an Add. Its gradients are embedGradOps, which add each row of dx
// into row tok_i (pos_i) in order of i, as gorgonia's ByIndicesB does.
type embedOp struct {
	N, D       int
	vocab, ctx int   // rows of wte, wpe
	tok, pos   []int // (N)
}

// embedGradOp is d embedOp with respect to one table: dx (N, D) -> (rows, D).
type embedGradOp struct {
	N, D, rows int
	idx        []int // (N) the rows each dx row adds into
	name       string
}

var (
	_ G.SDOp = (*embedOp)(nil)
	_ G.Op   = (*embedGradOp)(nil)
)

func (op *embedOp) Arity() int { return 2 }

// Type is Matrix a -> Matrix a -> Matrix a.
func (op *embedOp) Type() hm.Type {
	m := G.TensorType{Dims: 2, Of: hm.TypeVariable('a')}
	return hm.NewFnType(m, m, m)
}

func (op *embedOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("model: %v got %d inputs: want 2", op, len(in))
	}
	for i, want := range []tensor.Shape{{op.vocab, op.D}, {op.ctx, op.D}} {
		if s, ok := in[i].(tensor.Shape); !ok || !s.Eq(want) {
			return nil, fmt.Errorf("model: %v input %d has shape %v: want %v", op, i, in[i], want)
		}
	}
	return tensor.Shape{op.N, op.D}, nil
}

// check returns an error naming the first id out of range.
func (op *embedOp) check() error {
	for i := range op.N {
		if t, p := op.tok[i], op.pos[i]; t < 0 || t >= op.vocab || p < 0 || p >= op.ctx {
			return fmt.Errorf("model: embedding at row %d: token %d, position %d: want [0, %d) and [0, %d)", i, t, p, op.vocab, op.ctx)
		}
	}
	return nil
}

func (op *embedOp) Do(in ...G.Value) (G.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("model: %v got %d inputs: want 2", op, len(in))
	}
	if err := op.check(); err != nil {
		return nil, err
	}
	wte, err := denseData(in[0], op.String(), tensor.Shape{op.vocab, op.D})
	if err != nil {
		return nil, err
	}
	wpe, err := denseData(in[1], op.String(), tensor.Shape{op.ctx, op.D})
	if err != nil {
		return nil, err
	}
	var out interface{}
	switch wte := wte.(type) {
	case []float32:
		y := make([]float32, op.N*op.D)
		embedRows(y, wte, wpe.([]float32), op.tok, op.pos, op.D)
		out = y
	case []float64:
		y := make([]float64, op.N*op.D)
		embedRows(y, wte, wpe.([]float64), op.tok, op.pos, op.D)
		out = y
	}
	return tensor.New(tensor.WithShape(op.N, op.D), tensor.WithBacking(out)), nil
}

// into is Do for the executor (graph_exec.go), which runs only from
// Graph.run, after it has checked every token and position id.
func (op *embedOp) into(_ *workPool, out []float32, in [][]float32) error {
	embedRows(out, in[0], in[1], op.tok, op.pos, op.D)
	return nil
}

// embedRows writes y_i = wte[tok_i] + wpe[pos_i].
func embedRows[F float32 | float64](y, wte, wpe []F, tok, pos []int, D int) {
	for i, t := range tok {
		yr, a, b := y[i*D:][:D], wte[t*D:][:D], wpe[pos[i]*D:][:D]
		for c := range yr {
			yr[c] = a[c] + b[c]
		}
	}
}

func (op *embedOp) ReturnsPtr() bool      { return false }
func (op *embedOp) CallsExtern() bool     { return false }
func (op *embedOp) OverwritesInput() int  { return -1 }
func (op *embedOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *embedOp) Hashcode() uint32      { return opHash(op) }
func (op *embedOp) String() string {
	return fmt.Sprintf("Embed{N=%d, D=%d, vocab=%d, context=%d}", op.N, op.D, op.vocab, op.ctx)
}

func (op *embedOp) DiffWRT(inputs int) []bool { return []bool{true, true} }

func (op *embedOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("model: %v gradient got %d inputs: want 2", op, len(inputs))
	}
	dwte, err := G.ApplyOp(&embedGradOp{N: op.N, D: op.D, rows: op.vocab, idx: op.tok, name: "token"}, grad)
	if err != nil {
		return nil, err
	}
	dwpe, err := G.ApplyOp(&embedGradOp{N: op.N, D: op.D, rows: op.ctx, idx: op.pos, name: "position"}, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dwte, dwpe}, nil
}

func (op *embedGradOp) Arity() int { return 1 }

// Type is Matrix a -> Matrix a.
func (op *embedGradOp) Type() hm.Type {
	m := G.TensorType{Dims: 2, Of: hm.TypeVariable('a')}
	return hm.NewFnType(m, m)
}

func (op *embedGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("model: %v got %d inputs: want 1", op, len(in))
	}
	if s, ok := in[0].(tensor.Shape); !ok || !s.Eq(tensor.Shape{op.N, op.D}) {
		return nil, fmt.Errorf("model: %v input has shape %v: want (%d, %d)", op, in[0], op.N, op.D)
	}
	return tensor.Shape{op.rows, op.D}, nil
}

// check returns an error naming the first id out of range.
func (op *embedGradOp) check() error {
	for i, r := range op.idx[:op.N] {
		if r < 0 || r >= op.rows {
			return fmt.Errorf("model: embedding gradient: %s id %d at row %d: want [0, %d)", op.name, r, i, op.rows)
		}
	}
	return nil
}

func (op *embedGradOp) Do(in ...G.Value) (G.Value, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("model: %v got %d inputs: want 1", op, len(in))
	}
	if err := op.check(); err != nil {
		return nil, err
	}
	dy, err := denseData(in[0], op.String(), tensor.Shape{op.N, op.D})
	if err != nil {
		return nil, err
	}
	var out interface{}
	switch dy := dy.(type) {
	case []float32:
		d := make([]float32, op.rows*op.D)
		scatterRows(d, dy, op.idx, op.D)
		out = d
	case []float64:
		d := make([]float64, op.rows*op.D)
		scatterRows(d, dy, op.idx, op.D)
		out = d
	}
	return tensor.New(tensor.WithShape(op.rows, op.D), tensor.WithBacking(out)), nil
}

// into is Do for the executor (graph_exec.go); the ids are checked by
// Graph.run.
func (op *embedGradOp) into(_ *workPool, out []float32, in [][]float32) error {
	clear(out)
	scatterRows(out, in[0], op.idx, op.D)
	return nil
}

// scatterRows adds row i of dy into row idx[i] of d, in order of i.
func scatterRows[F float32 | float64](d, dy []F, idx []int, D int) {
	for i, r := range idx {
		dr, src := d[r*D:][:D], dy[i*D:][:D]
		for c, v := range src {
			dr[c] += v
		}
	}
}

func (op *embedGradOp) ReturnsPtr() bool      { return false }
func (op *embedGradOp) CallsExtern() bool     { return false }
func (op *embedGradOp) OverwritesInput() int  { return -1 }
func (op *embedGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *embedGradOp) Hashcode() uint32      { return opHash(op) }
func (op *embedGradOp) String() string {
	return fmt.Sprintf("EmbedGrad{%s, N=%d, D=%d, rows=%d}", op.name, op.N, op.D, op.rows)
}
