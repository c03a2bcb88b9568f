package train

import (
	"sort"

	"tinyr1/model"
)

// packing places whole sequences into the rows of the training graph, as
// many to a row as fit (model.Graph, "Packing"), so the graph runs on real
// tokens instead of padding. A sequence of n tokens puts n-1 tokens through
// the graph (inputs seq[:n-1], targets seq[1:]).
//
// The placement is first fit decreasing: longest first (ties by index), each
// into the first row with room. It depends only on the lengths and the row
// width, never on the micro-batch size or on scheduling, and rows are then
// cut into passes of the graph's B rows in order.
type packing struct {
	T    int     // row width: the graph's T
	Rows int     // rows used
	Row  []int   // (sequences) row of each sequence
	Col  []int   // (sequences) first column of each sequence in its row
	fill []int   // (Rows) columns used in each row
	ord  []int   // scratch: sequence order
	seqs [][]int // the sequences, as given to pack
}

// pack places seqs into rows of T tokens; a sequence longer than T+1 tokens
// must have been cut by the caller.
func (pk *packing) pack(seqs [][]int, T int) {
	pk.T, pk.seqs = T, seqs
	pk.Row = resize(pk.Row, len(seqs))
	pk.Col = resize(pk.Col, len(seqs))
	pk.ord = resize(pk.ord, len(seqs))
	for i := range pk.ord {
		pk.ord[i] = i
	}
	n := func(k int) int { return max(len(seqs[k])-1, 0) }
	sort.SliceStable(pk.ord, func(a, b int) bool { return n(pk.ord[a]) > n(pk.ord[b]) })
	pk.fill = pk.fill[:0]
	for _, k := range pk.ord {
		r := 0
		for r < len(pk.fill) && pk.fill[r]+n(k) > T {
			r++
		}
		if r == len(pk.fill) {
			pk.fill = append(pk.fill, 0)
		}
		pk.Row[k], pk.Col[k] = r, pk.fill[r]
		pk.fill[r] += n(k)
	}
	pk.Rows = len(pk.fill)
}

// passes is the number of graph passes of B rows that cover the packing.
func (pk *packing) passes(B int) int { return (pk.Rows + B - 1) / B }

// write writes pass p (rows p*B .. p*B+B-1) into g: tokens, targets, position
// ids and weight(k, i), the coefficient of predicting seq[i+1] of sequence
// k, and, if entropy is not nil, entropy(k, i), the coefficient of the
// entropy there (Graph.EntropyWeights). Unused columns are padding with
// weight 0 and positions of their own.
func (pk *packing) write(g *model.Graph, p int, weight, entropy func(k, i int) float32) {
	clear(g.Tokens)
	clear(g.Targets)
	clear(g.Weights)
	clear(g.EntropyWeights)
	T, r0 := g.T, p*g.B
	for r := range g.B {
		used := 0
		if r0+r < pk.Rows {
			used = pk.fill[r0+r]
		}
		for c := range T {
			g.Pos[r*T+c] = c - used // the tail restarts at 0
			if c < used {
				g.Pos[r*T+c] = 0 // overwritten below by the sequences
			}
		}
	}
	for k, s := range pk.seqs {
		r := pk.Row[k] - r0
		if r < 0 || r >= g.B {
			continue
		}
		at := r*T + pk.Col[k]
		for i := 0; i+1 < len(s); i++ {
			g.Tokens[at+i] = s[i]
			g.Targets[at+i] = s[i+1]
			g.Pos[at+i] = i
			g.Weights[at+i] = weight(k, i)
			if entropy != nil {
				g.EntropyWeights[at+i] = entropy(k, i)
			}
		}
	}
}

// index is the graph index (within its pass) of token i of sequence k, and
// the pass it is in.
func (pk *packing) index(k, i, B int) (pass, at int) {
	return pk.Row[k] / B, (pk.Row[k]%B)*pk.T + pk.Col[k] + i
}

// resize returns s with length n, reusing its storage when it can.
func resize(s []int, n int) []int {
	if cap(s) < n {
		return make([]int, n)
	}
	return s[:n]
}
