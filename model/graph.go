package model

import (
	"fmt"
	"math"
	"runtime"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// GraphOptions configures a training graph.
type GraphOptions struct {
	Temperature float32 // logits are divided by it before the log-softmax; 0 means 1
	Entropy     bool    // fill Graph.Entropy (entropy of the full softmax) after every pass
	// Float64 builds the graph in float64 over a private float64 copy of
	// p.Data (Graph.Data64), for gradient checks. Grads then live in
	// Grads64; Grads returns nil. Updates to p.Data are not seen.
	Float64 bool

	// tape runs the graph on gorgonia's tape machine instead of the
	// executor (graph_exec.go): the reference the executor is tested
	// against. Float64 graphs always use it.
	tape bool
}

// Graph is a gorgonia forward/backward graph of the model for one fixed
// micro-batch shape (B, T), built once and run every step. It computes
//
//	Loss = sum_t Weights[t] * LogP[t] + sum_t EntropyWeights[t] * H[t],
//	LogP[t] = log p(Targets[t] | Tokens[<=t]),  H[t] = -sum_v p(v | Tokens[<=t]) log p(v | Tokens[<=t])
//
// at the graph's temperature, which serves supervised training (w = -1/N on
// target tokens) and every GRPO variant (w = per-token coefficient computed
// outside, see docs/method.md; e = an entropy bonus, all zero by default and then
// free). Padding positions carry w = e = 0.
//
// Packing: Pos holds each token's position id, i%T by default (one sequence
// per row, padded at the end). A caller may pack several sequences into one
// row by restarting Pos at 0 where each begins; attention then stays within
// each sequence (attentionOp), so a packed sequence gets exactly the
// log-probs and gradient it would get alone, and far less padding is run.
//
// The parameter nodes are backed by p.Data itself, so optimizer updates are
// seen by the next step without copying. A step is: write Tokens, Targets,
// Weights (and EntropyWeights); Step(); optimizer over (p.Data, Grads()),
// which zeroes Grads.
//
// A float32 graph runs on this package's executor (graph_exec.go), which
// keeps every intermediate buffer across steps: Step allocates nothing
// after the first call. Close stops its worker goroutines.
type Graph struct {
	B, T int // micro-batch shape

	Tokens  []int     // (B*T) input ids, row-major (b, t); written by the caller
	Targets []int     // (B*T) target ids: usually Tokens shifted left by one
	Weights []float32 // (B*T) loss coefficients w_t; 0 on padding
	Pos     []int     // (B*T) position ids: i%T unless the caller packs rows (0 starts a sequence, else previous+1)

	// EntropyWeights (B*T) are the coefficients e_t of the entropy H_t in
	// Loss; all zero (the default) adds nothing to Loss or its cost.
	EntropyWeights []float32

	LogP    []float32 // (B*T) log p(target_t | tokens_<=t) at the graph's temperature, after Step/Forward
	Entropy []float32 // (B*T) entropy of the softmax at each position, nil unless GraphOptions.Entropy
	Loss    float64   // sum_t w_t * logp_t + sum_t e_t * H_t, after Step/Forward

	Data64 []float64 // (NumParams) float64 parameter copy; nil unless GraphOptions.Float64

	p      *Params
	opts   GraphOptions
	dt     tensor.Dtype
	grads  []float32 // (NumParams) accumulated gradients, layout of p.Data
	grad64 []float64 // (NumParams) same in a float64 graph

	train, fwd *graphMachine // full graph with backward, and forward-only graph built on first Forward
	pool       *workPool     // the executor's workers, shared by both graphs
	closed     bool          // Close was called
}

// graphMachine is one built expression graph and what runs it.
type graphMachine struct {
	g      *G.ExprGraph
	params []*G.Node // in p.Tensors order
	loss   *G.Node   // scalar, lossOp (loss_op.go), which also writes LogP and Entropy

	// Either the executor, with the loss and the gradients (in params
	// order) in its buffers,
	exec     *graphExec
	lossData []float32
	gradData [][]float32
	// or the tape machine (float64 graphs, GraphOptions.tape).
	vm G.VM
}

// NewGraph builds the training graph for micro-batches of B sequences of T
// tokens over p.
func NewGraph(p *Params, B, T int, opts GraphOptions) (*Graph, error) {
	cfg := p.Cfg
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if B <= 0 || T <= 0 || T > cfg.Context {
		return nil, fmt.Errorf("model: graph shape B=%d, T=%d: want B > 0 and 0 < T <= context %d", B, T, cfg.Context)
	}
	if opts.Temperature == 0 {
		opts.Temperature = 1
	}
	if !(opts.Temperature > 0) || math.IsInf(float64(opts.Temperature), 0) {
		return nil, fmt.Errorf("model: graph temperature %g: want a finite value > 0", opts.Temperature)
	}
	N := B * T
	g := &Graph{
		B: B, T: T,
		Tokens:  make([]int, N),
		Targets: make([]int, N),
		Weights: make([]float32, N),
		LogP:    make([]float32, N),
		p:       p,
		opts:    opts,
		Pos:     make([]int, N),

		EntropyWeights: make([]float32, N),
	}
	if opts.Entropy {
		g.Entropy = make([]float32, N)
	}
	for i := range g.Pos {
		g.Pos[i] = i % T
	}
	if opts.Float64 {
		g.dt = tensor.Float64
		g.Data64 = make([]float64, len(p.Data))
		for i, v := range p.Data {
			g.Data64[i] = float64(v)
		}
		g.grad64 = make([]float64, len(p.Data))
	} else {
		g.dt = tensor.Float32
		g.grads = make([]float32, len(p.Data))
		g.pool = newWorkPool(runtime.GOMAXPROCS(0))
	}
	var err error
	if g.train, err = g.build(true); err != nil {
		return nil, err
	}
	return g, nil
}

// Close stops the graph's worker goroutines; the graph must not run after
// it. A graph that is never closed keeps them, parked, until the program
// ends, and with them a pipe (two file descriptors) per worker (gate.go).
func (g *Graph) Close() {
	g.closed = true
	g.pool.close()
}

// Params returns the parameters the graph was built over.
func (g *Graph) Params() *Params { return g.p }

// Grads returns the accumulated gradient of Loss, one flat buffer with the
// layout of p.Data. Step adds to it (so several micro-batches graphAccumulate);
// the optimizer (AdamW.Update) or ZeroGrads clears it. nil in a float64 graph.
func (g *Graph) Grads() []float32 { return g.grads }

// Grads64 is Grads for a float64 graph (nil otherwise).
func (g *Graph) Grads64() []float64 { return g.grad64 }

// ZeroGrads clears the accumulated gradients.
func (g *Graph) ZeroGrads() {
	clear(g.grads)
	clear(g.grad64)
}

// Step runs forward and backward on the current Tokens, Targets, Weights
// and EntropyWeights: it sets LogP, Entropy and Loss and adds d Loss /
// d params to Grads.
func (g *Graph) Step() error { return g.run(g.train, true) }

// Forward runs the forward pass only: it sets LogP, Entropy and Loss and
// leaves Grads alone. The forward-only graph is built on the first call.
func (g *Graph) Forward() error {
	if g.fwd == nil {
		m, err := g.build(false)
		if err != nil {
			return err
		}
		g.fwd = m
	}
	return g.run(g.fwd, false)
}

func (g *Graph) run(m *graphMachine, backward bool) error {
	if g.closed {
		return fmt.Errorf("model: graph is closed: it cannot run after Close")
	}
	V, N := g.p.Cfg.Vocab, g.B*g.T
	if len(g.Tokens) != N || len(g.Targets) != N || len(g.Weights) != N {
		return fmt.Errorf("model: graph has %d tokens, %d targets, %d weights: want %d each", len(g.Tokens), len(g.Targets), len(g.Weights), N)
	}
	if len(g.EntropyWeights) != 0 && len(g.EntropyWeights) != N {
		return fmt.Errorf("model: graph has %d entropy weights: want %d or none", len(g.EntropyWeights), N)
	}
	for i, tok := range g.Tokens {
		if tok < 0 || tok >= V {
			return fmt.Errorf("model: graph token %d at position %d: want an id in [0, %d)", tok, i, V)
		}
		if tgt := g.Targets[i]; tgt < 0 || tgt >= V {
			return fmt.Errorf("model: graph target %d at position %d: want an id in [0, %d)", tgt, i, V)
		}
		p, t := g.Pos[i], i%g.T
		if p < 0 || p >= g.p.Cfg.Context || (p > 0 && (t == 0 || g.Pos[i-1] != p-1)) {
			return fmt.Errorf("model: graph position id %d at row %d, column %d: want 0 (a sequence starts) or the previous id + 1, below context %d", p, i/g.T, t, g.p.Cfg.Context)
		}
	}
	if m.exec != nil {
		return g.runExec(m, backward)
	}
	defer m.vm.Reset()
	if err := m.vm.RunAll(); err != nil {
		return fmt.Errorf("model: graph run: %w", err)
	}
	switch l := m.loss.Value().Data().(type) {
	case float32:
		g.Loss = float64(l)
	case float64:
		g.Loss = l
	}
	if !backward {
		return nil
	}
	// With BindDualValues every RunAll adds into the nodes' gradient
	// buffers (GORGONIA.md): move them into the flat buffer and zero them.
	for i, n := range m.params {
		gv, err := n.Grad()
		if err != nil {
			return fmt.Errorf("model: graph gradient of %s: %w", g.p.Tensors[i].Name, err)
		}
		off := g.p.Tensors[i].Offset
		switch d := gv.Data().(type) {
		case []float32:
			graphAccumulate(g.grads[off:off+len(d)], d)
		case []float64:
			graphAccumulate(g.grad64[off:off+len(d)], d)
		}
	}
	return nil
}

// runExec runs m on the executor and adds the gradients to Grads. It
// allocates nothing.
func (g *Graph) runExec(m *graphMachine, backward bool) error {
	if err := m.exec.run(); err != nil {
		return err
	}
	g.Loss = float64(m.lossData[0])
	if !backward {
		return nil
	}
	for i, d := range m.gradData {
		t := g.p.Tensors[i]
		dst := g.grads[t.Offset:][:len(d)]
		for j, v := range d {
			dst[j] += v
		}
	}
	return nil
}

// graphAccumulate adds src to dst and zeroes src.
func graphAccumulate[F float32 | float64](dst, src []F) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] += v
		src[i] = 0
	}
}

// build constructs the expression graph; with backward it adds the
// symbolic gradient and binds dual values to the parameters.
func (g *Graph) build(backward bool) (m *graphMachine, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("model: build graph: %v", r)
		}
	}()
	cfg := g.p.Cfg
	B, T, D, H, V := g.B, g.T, cfg.Dim, cfg.Heads, cfg.Vocab
	hd, N := D/H, B*T
	m = &graphMachine{g: G.NewGraph()}
	b := &graphBuilder{g: m.g, dt: g.dt}

	// Parameters, backed by the arena (or its float64 copy).
	nodes := make(map[*Tensor]*G.Node, len(g.p.Tensors))
	for _, t := range g.p.Tensors {
		var backing interface{} = t.Data
		if g.Data64 != nil {
			backing = g.Data64[t.Offset : t.Offset+len(t.Data)]
		}
		val := tensor.New(tensor.WithShape(t.Shape...), tensor.WithBacking(backing))
		n := G.NewTensor(m.g, g.dt, len(t.Shape), G.WithShape(t.Shape...), G.WithValue(val), G.WithName(t.Name))
		nodes[t] = n
		m.params = append(m.params, n)
	}
	P := func(t *Tensor) *G.Node { return nodes[t] }

	// x = wte[tok] + wpe[pos], the ids read from the caller's Tokens and Pos
	emb := &embedOp{N: N, D: D, vocab: V, ctx: cfg.Context, tok: g.Tokens, pos: g.Pos}
	x := b.must(G.ApplyOp(emb, P(g.p.WTE), P(g.p.WPE))) // (N, D)
	for l := range g.p.Blocks {
		blk := &g.p.Blocks[l]
		h := b.layerNorm(x, P(blk.LN1G), P(blk.LN1B))     // (N, D)
		qkv := b.bias(b.mul(h, P(blk.WQKV)), P(blk.BQKV)) // (N, 3D)
		// Fused causal attention (attention_op.go): gorgonia's own
		// Reshape/Transpose/BatchedMatMul/SoftMax chain computed wrong
		// values for D >= 128.
		y := b.must(G.ApplyOp(newAttentionOp(B, T, H, hd, g.Pos), qkv)) // (N, D)
		x = b.residual(x, b.mul(y, P(blk.WO)), P(blk.BO))               // (N, D)
		h = b.layerNorm(x, P(blk.LN2G), P(blk.LN2B))                    // (N, D)
		u := b.biasGELU(b.mul(h, P(blk.W1)), P(blk.B1))                 // (N, M)
		x = b.residual(x, b.mul(u, P(blk.W2)), P(blk.B2))               // (N, D)
	}
	x = b.layerNorm(x, P(g.p.LNFG), P(g.p.LNFB)) // (N, D)
	var logits *G.Node
	if g.p.Head == nil {
		logits = b.must(applyMatMul(x, P(g.p.WTE), false, true)) // (N, V) = x wteᵀ
	} else {
		logits = b.mul(x, P(g.p.Head)) // (N, V)
	}
	// Temperature, log-softmax, the weighted sums and the entropy in one
	// op; it writes LogP and Entropy as it goes.
	m.loss = b.must(G.ApplyOp(newLossOp(g, N, V, float64(g.opts.Temperature)), logits)) // scalar

	var grads G.Nodes
	if backward {
		if grads, err = G.Grad(m.loss, m.params...); err != nil {
			return nil, fmt.Errorf("model: graph gradient: %w", err)
		}
	}
	if g.dt == tensor.Float64 || g.opts.tape {
		if backward {
			m.vm = G.NewTapeMachine(m.g, G.BindDualValues(m.params...))
		} else {
			m.vm = G.NewTapeMachine(m.g)
		}
		return m, nil
	}
	if m.exec, err = compileExec(m.g, append(G.Nodes{m.loss}, grads...), g.pool); err != nil {
		return nil, err
	}
	m.lossData = m.exec.vals[m.loss]
	for i, n := range grads {
		d := m.exec.vals[n]
		if len(d) != len(g.p.Tensors[i].Data) {
			return nil, fmt.Errorf("model: graph gradient of %s has %d values: want %d", g.p.Tensors[i].Name, len(d), len(g.p.Tensors[i].Data))
		}
		m.gradData = append(m.gradData, d)
	}
	return m, nil
}

// graphBuilder wraps gorgonia's constructors for one dtype; shape errors are
// programming errors and panic (recovered by build).
type graphBuilder struct {
	g  *G.ExprGraph
	dt tensor.Dtype
}

func (b *graphBuilder) must(n *G.Node, err error) *G.Node {
	if err != nil {
		panic(err)
	}
	return n
}

// mul is the matrix product x w (graph_ops.go).
func (b *graphBuilder) mul(x, w *G.Node) *G.Node { return b.must(applyMatMul(x, w, false, false)) }

// residual is x + (h + v) for x, h (N, C) and v (C): a residual connection
// around a linear layer h + v, in one op (fused_ops.go).
func (b *graphBuilder) residual(x, h, v *G.Node) *G.Node {
	return b.must(applyFused(fusedResidualBias, x, h, v))
}

// bias adds a (C) vector to every row of x (N, C) (fused_ops.go).
func (b *graphBuilder) bias(x, v *G.Node) *G.Node { return b.must(applyFused(fusedBias, x, v)) }

// biasGELU is gelu(x + v) for x (N, C) and v (C), with the tanh
// approximation 0.5u(1+tanh(sqrt(2/pi)(u+0.044715u^3))) (Hendrycks & Gimpel
// 2016), as in GPT-2 (fused_ops.go).
func (b *graphBuilder) biasGELU(x, v *G.Node) *G.Node {
	return b.must(applyFused(fusedBiasGELU, x, v))
}

// layerNorm normalises each row of x (N, D) with biased variance and eps
// 1e-5, then applies gain and bias (D) (fused_ops.go).
func (b *graphBuilder) layerNorm(x, gain, bias *G.Node) *G.Node {
	return b.must(applyFused(fusedLayerNorm, x, gain, bias))
}
