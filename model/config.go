// Package model is tinyr1's GPT-style transformer: one flat []float32 arena
// of parameters and two ways to run it, a gorgonia training graph and a
// hand-written, allocation-free batched rollout engine with a KV cache.
//
// The model sees token ids only; it knows nothing of tasks or training
// policy.
package model

import (
	"errors"
	"fmt"
	"sort"
)

// Config is the blueprint of a model. Every field is saved in checkpoints
// and a resumed run refuses a different one.
type Config struct {
	Vocab     int     `json:"vocab"`      // number of token ids
	Context   int     `json:"context"`    // maximum sequence length (learned positions)
	Dim       int     `json:"dim"`        // residual width D
	Layers    int     `json:"layers"`     // transformer blocks
	Heads     int     `json:"heads"`      // attention heads; Dim % Heads == 0
	MLP       int     `json:"mlp"`        // hidden width of the GELU MLP
	Tied      bool    `json:"tied"`       // output head shares the token embedding (logits = x @ wte^T)
	InitScale float32 `json:"init_scale"` // std of the normal init of weights (residual projections are scaled by 1/sqrt(2*Layers))
}

// DefaultConfig returns the "small" preset for the given vocabulary size.
func DefaultConfig(vocab int) Config {
	return Config{Vocab: vocab, Context: 256, Dim: 128, Layers: 4, Heads: 4, MLP: 512, Tied: true, InitScale: 0.02}
}

// presets are the named model sizes. "small" is the default.
var presets = map[string]func(vocab int) Config{
	"tiny": func(vocab int) Config {
		return Config{Vocab: vocab, Context: 64, Dim: 16, Layers: 2, Heads: 2, MLP: 32, Tied: true, InitScale: 0.1}
	},
	"small": DefaultConfig,
	"medium": func(vocab int) Config {
		return Config{Vocab: vocab, Context: 256, Dim: 256, Layers: 6, Heads: 8, MLP: 1024, Tied: true, InitScale: 0.02}
	},
}

// Presets lists the preset names in order.
func Presets() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Preset returns the named preset for a vocabulary size.
func Preset(name string, vocab int) (Config, error) {
	f, ok := presets[name]
	if !ok {
		return Config{}, fmt.Errorf("model: unknown preset %q: want one of %v", name, Presets())
	}
	return f(vocab), nil
}

// Bounds on a Config. They are far above any preset and keep a config read
// from a file (a checkpoint header) from sizing buffers beyond memory: the
// largest model they allow holds 2^28 parameters (1 GiB as float32).
const (
	MaxVocab   = 1 << 16
	MaxContext = 1 << 13
	MaxDim     = 1 << 12
	MaxLayers  = 1 << 7
	MaxMLP     = 1 << 14
	MaxParams  = 1 << 28
)

// NumParams is the number of scalar parameters of a model of this config,
// the size of NewParams' arena. Within the bounds above it cannot overflow.
func (c Config) NumParams() int {
	D, M := c.Dim, c.MLP
	block := 2*D + D*3*D + 3*D + D*D + D + 2*D + D*M + M + M*D + D
	n := c.Vocab*D + c.Context*D + c.Layers*block + 2*D
	if !c.Tied {
		n += D * c.Vocab
	}
	return n
}

// Validate explains every bad value.
func (c Config) Validate() error {
	var errs []error
	pos := func(name string, v int) {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("model: %s = %d: want a positive value", name, v))
		}
	}
	pos("vocab", c.Vocab)
	pos("context", c.Context)
	pos("dim", c.Dim)
	pos("layers", c.Layers)
	pos("heads", c.Heads)
	pos("mlp", c.MLP)
	atMost := func(name string, v, hi int) {
		if v > hi {
			errs = append(errs, fmt.Errorf("model: %s = %d: want at most %d", name, v, hi))
		}
	}
	atMost("vocab", c.Vocab, MaxVocab)
	atMost("context", c.Context, MaxContext)
	atMost("dim", c.Dim, MaxDim)
	atMost("layers", c.Layers, MaxLayers)
	atMost("mlp", c.MLP, MaxMLP)
	if len(errs) == 0 {
		if n := c.NumParams(); n > MaxParams {
			errs = append(errs, fmt.Errorf("model: %d parameters: want at most %d", n, MaxParams))
		}
	}
	if c.Heads > 0 && c.Dim > 0 && c.Dim%c.Heads != 0 {
		errs = append(errs, fmt.Errorf("model: dim = %d is not divisible by heads = %d: want dim a multiple of heads", c.Dim, c.Heads))
	}
	if !(c.InitScale > 0 && c.InitScale < 10) {
		errs = append(errs, fmt.Errorf("model: init_scale = %g: want a value in (0, 10)", c.InitScale))
	}
	return errors.Join(errs...)
}

// HeadDim is Dim / Heads.
func (c Config) HeadDim() int { return c.Dim / c.Heads }
