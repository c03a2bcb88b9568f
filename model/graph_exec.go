package model

import (
	"fmt"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// graphExec runs a built float32 expression graph without gorgonia's tape
// machine, which allocates every intermediate anew on each run (it drops
// them on Reset: GORGONIA.md) and also allocates per instruction and per
// run (input slices, channels, a goroutine). The graph is compiled once:
// its nodes in topological order, each op node a step that writes its
// output into a buffer owned by the executor, the buffers shared between
// nodes whose lives do not overlap. A run calls the steps in order and
// allocates nothing.
//
// Every op of the training graph runs here: this package's ops through
// their into method (execOp), which does what Do does into a given output
// with the work split over the executor's workPool, and the additions that
// gorgonia's symbolic differentiation inserts where a node has several
// consumers (addStep). Compiling a graph that holds any other op fails.
//
// The tape machine stays as the reference (GraphOptions.tape, tests) and
// runs the float64 graphs of the gradient checks.
type graphExec struct {
	steps []execStep
	pool  *workPool
	vals  map[*G.Node][]float32 // every node's data, for lookups after compiling
}

// execOp is an op the executor can run: float32 operands of the shapes
// checked when the graph was built, the output fully overwritten.
type execOp interface {
	into(pool *workPool, out []float32, in [][]float32) error
}

type execStep struct {
	node *G.Node
	op   execOp
	out  []float32
	in   [][]float32
}

// addStep is gorgonia's elementwise addition of two tensors of one shape,
// as its gradient sums have them: out = a + b.
type addStep struct{}

func (addStep) into(_ *workPool, out []float32, in [][]float32) error {
	a, b := in[0][:len(out)], in[1][:len(out)]
	if useAVX { // the same additions, 8 at a time
		addVecAVX(out, a, b)
		return nil
	}
	for i := range out {
		out[i] = a[i] + b[i]
	}
	return nil
}

// isGradientAdd reports whether n is a gorgonia Add of two tensors of n's
// own shape.
func isGradientAdd(n *G.Node, children []*G.Node) bool {
	op := n.Op()
	if fmt.Sprintf("%T", op) != "gorgonia.elemBinOp" || !strings.HasPrefix(op.String(), "+ ") || len(children) != 2 {
		return false
	}
	return children[0].Shape().Eq(n.Shape()) && children[1].Shape().Eq(n.Shape())
}

// compileExec compiles g; the nodes in keep (the loss, the gradients) keep
// their buffers to the end of a run, so they can be read after it.
func compileExec(g *G.ExprGraph, keep G.Nodes, pool *workPool) (*graphExec, error) {
	sorted, err := G.Sort(g)
	if err != nil {
		return nil, fmt.Errorf("model: graph executor: %w", err)
	}
	// G.Sort puts the root first: run in the reverse order.
	order := make([]*G.Node, len(sorted))
	for i, n := range sorted {
		order[len(sorted)-1-i] = n
	}
	x := &graphExec{pool: pool, vals: make(map[*G.Node][]float32, len(order))}

	type plan struct {
		n        *G.Node
		op       execOp
		children []*G.Node
	}
	var plans []plan
	lastUse := make(map[*G.Node]int)
	for _, n := range order {
		var children []*G.Node
		for it := g.From(n.ID()); it.Next(); {
			children = append(children, it.Node().(*G.Node))
		}
		if n.Op() == nil || len(children) == 0 { // parameter, input or constant
			v, err := valueData(n)
			if err != nil {
				return nil, err
			}
			x.vals[n] = v
			continue
		}
		if n.Dtype() != tensor.Float32 {
			return nil, fmt.Errorf("model: graph executor: node %v has dtype %v: want float32", n, n.Dtype())
		}
		var op execOp
		switch o := n.Op().(type) {
		case execOp:
			op = o
		default:
			if !isGradientAdd(n, children) {
				return nil, fmt.Errorf("model: graph executor: no kernel for op %v (%T) of node %v", n.Op(), n.Op(), n)
			}
			op = addStep{}
		}
		for _, c := range children {
			lastUse[c] = len(plans)
		}
		plans = append(plans, plan{n, op, children})
	}
	for _, n := range keep {
		lastUse[n] = len(plans)
	}

	// Buffers: each step's output takes a free buffer of its size, or a
	// new one; a buffer is freed after the last step that reads it. An
	// output is placed before its step's inputs are freed, so it never
	// shares memory with them.
	free := make(map[int][][]float32)
	owned := make(map[*G.Node]bool, len(plans))
	for i, p := range plans {
		size := max(1, p.n.Shape().TotalSize())
		var out []float32
		if l := free[size]; len(l) > 0 {
			out, free[size] = l[len(l)-1], l[:len(l)-1]
		} else {
			out = make([]float32, size)
		}
		x.vals[p.n] = out
		in := make([][]float32, len(p.children))
		for j, c := range p.children {
			in[j] = x.vals[c]
			if in[j] == nil {
				return nil, fmt.Errorf("model: graph executor: input %v of %v is not computed before it", c, p.n)
			}
		}
		x.steps = append(x.steps, execStep{node: p.n, op: p.op, out: out, in: in})
		owned[p.n] = true
		if _, ok := lastUse[p.n]; !ok { // computed but never read: free at once
			free[size] = append(free[size], out)
		}
		for j, c := range p.children {
			if lastUse[c] != i || !owned[c] || repeated(p.children[:j], c) {
				continue
			}
			s := len(x.vals[c])
			free[s] = append(free[s], x.vals[c])
		}
	}
	return x, nil
}

func repeated(ns []*G.Node, n *G.Node) bool {
	for _, m := range ns {
		if m == n {
			return true
		}
	}
	return false
}

// valueData returns the float32 data bound to an input node: a tensor
// backed by the caller's buffer, or a scalar constant.
func valueData(n *G.Node) ([]float32, error) {
	switch v := n.Value().(type) {
	case *tensor.Dense:
		if d, ok := v.Data().([]float32); ok {
			return d, nil
		}
		return nil, fmt.Errorf("model: graph executor: input %v holds %v: want float32", n, v.Dtype())
	case *G.F32:
		return []float32{float32(*v)}, nil
	case nil:
		return nil, fmt.Errorf("model: graph executor: input %v has no value", n)
	default:
		return nil, fmt.Errorf("model: graph executor: input %v holds a %T: want a float32 tensor or scalar", n, v)
	}
}

// run runs every step in order. It allocates nothing.
func (x *graphExec) run() error {
	for i := range x.steps {
		s := &x.steps[i]
		if err := s.op.into(x.pool, s.out, s.in); err != nil {
			return fmt.Errorf("model: graph step %d (%v): %w", i, s.node.Op(), err)
		}
	}
	return nil
}

// bytes returns the memory the executor's buffers hold.
func (x *graphExec) bytes() int {
	seen := make(map[*float32]bool)
	total := 0
	for _, s := range x.steps {
		if p := &s.out[0]; !seen[p] {
			seen[p] = true
			total += 4 * len(s.out)
		}
	}
	return total
}
