package model

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Tensor is a named, shaped view into the parameter arena.
type Tensor struct {
	Name   string    // e.g. "h.0.attn.wqkv"
	Shape  []int     // row-major; matmul weights are (in, out)
	Data   []float32 // view into Params.Data
	Offset int       // start of Data in Params.Data
	Decay  bool      // true for matmul weights, which get AdamW weight decay by default
}

// Block holds one transformer block's views.
type Block struct {
	LN1G, LN1B *Tensor // (D), (D)
	WQKV, BQKV *Tensor // (D, 3D) columns [q | k | v], heads contiguous in each; (3D)
	WO, BO     *Tensor // (D, D), (D)
	LN2G, LN2B *Tensor // (D), (D)
	W1, B1     *Tensor // (D, M), (M)
	W2, B2     *Tensor // (M, D), (D)
}

// Params is the flat arena of all parameters with named views. The training
// graph, the rollout engine, the optimizer and the checkpoint code all work on
// Data directly.
type Params struct {
	Cfg     Config
	Data    []float32 // every parameter, one buffer
	Tensors []*Tensor // in a fixed order (the checkpoint order)
	WTE     *Tensor   // (V, D) token embedding
	WPE     *Tensor   // (T, D) position embedding
	Blocks  []Block
	LNFG    *Tensor // (D)
	LNFB    *Tensor // (D)
	Head    *Tensor // (D, V); nil when Cfg.Tied
}

// NewParams lays out a zeroed arena for cfg. It panics on an invalid config
// (a programming error: validate user input with Config.Validate first).
func NewParams(cfg Config) *Params {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	p := &Params{Cfg: cfg}
	D, M := cfg.Dim, cfg.MLP
	type spec struct {
		dst   **Tensor
		name  string
		shape []int
		decay bool
	}
	var specs []spec
	add := func(dst **Tensor, name string, decay bool, shape ...int) {
		specs = append(specs, spec{dst, name, shape, decay})
	}
	add(&p.WTE, "wte", false, cfg.Vocab, D)
	add(&p.WPE, "wpe", false, cfg.Context, D)
	p.Blocks = make([]Block, cfg.Layers)
	for l := range p.Blocks {
		b := &p.Blocks[l]
		pre := fmt.Sprintf("h.%d.", l)
		add(&b.LN1G, pre+"ln1.g", false, D)
		add(&b.LN1B, pre+"ln1.b", false, D)
		add(&b.WQKV, pre+"attn.wqkv", true, D, 3*D)
		add(&b.BQKV, pre+"attn.bqkv", false, 3*D)
		add(&b.WO, pre+"attn.wo", true, D, D)
		add(&b.BO, pre+"attn.bo", false, D)
		add(&b.LN2G, pre+"ln2.g", false, D)
		add(&b.LN2B, pre+"ln2.b", false, D)
		add(&b.W1, pre+"mlp.w1", true, D, M)
		add(&b.B1, pre+"mlp.b1", false, M)
		add(&b.W2, pre+"mlp.w2", true, M, D)
		add(&b.B2, pre+"mlp.b2", false, D)
	}
	add(&p.LNFG, "lnf.g", false, D)
	add(&p.LNFB, "lnf.b", false, D)
	if !cfg.Tied {
		add(&p.Head, "head", true, D, cfg.Vocab)
	}
	n := 0
	for _, s := range specs {
		n += prod(s.shape)
	}
	p.Data = make([]float32, n)
	off := 0
	for _, s := range specs {
		k := prod(s.shape)
		t := &Tensor{Name: s.name, Shape: s.shape, Data: p.Data[off : off+k : off+k], Offset: off, Decay: s.decay}
		*s.dst = t
		p.Tensors = append(p.Tensors, t)
		off += k
	}
	return p
}

// NumParams is the number of scalar parameters.
func (p *Params) NumParams() int { return len(p.Data) }

// Lookup returns the tensor with the given name.
func (p *Params) Lookup(name string) (*Tensor, bool) {
	for _, t := range p.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return nil, false
}

// Init fills the arena deterministically from seed: LayerNorm gains 1,
// biases 0, weights and embeddings N(0, InitScale^2), residual output
// projections (attn.wo, mlp.w2) scaled by 1/sqrt(2*Layers) as in GPT-2.
func (p *Params) Init(seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x7469_6e79_7231)) // "tinyr1"
	std := float64(p.Cfg.InitScale)
	resid := std / math.Sqrt(2*float64(p.Cfg.Layers))
	for _, t := range p.Tensors {
		switch {
		case len(t.Shape) == 1 && hasSuffix(t.Name, ".g"):
			fill(t.Data, 1)
		case len(t.Shape) == 1:
			fill(t.Data, 0)
		default:
			s := std
			if hasSuffix(t.Name, "attn.wo") || hasSuffix(t.Name, "mlp.w2") {
				s = resid
			}
			for i := range t.Data {
				t.Data[i] = float32(rng.NormFloat64() * s)
			}
		}
	}
}

// Clone returns a deep copy with its own arena.
func (p *Params) Clone() *Params {
	q := NewParams(p.Cfg)
	copy(q.Data, p.Data)
	return q
}

func prod(shape []int) int {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return n
}

func fill(dst []float32, v float32) {
	for i := range dst {
		dst[i] = v
	}
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }
