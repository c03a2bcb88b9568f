package model

import (
	"errors"
	"fmt"
	"math"
)

// AdamWConfig configures the optimizer. AdamW is Adam with decoupled weight
// decay (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization"):
//
//	g = clip(grad)                    global norm clipped to ClipNorm
//	m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
//	p -= lr * (wd p + (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps))
//
// where wd applies only to decayed tensors.
type AdamWConfig struct {
	LR          float64 `json:"lr"`           // base learning rate (the schedule scales it)
	Beta1       float64 `json:"beta1"`        // first-moment decay, in [0, 1)
	Beta2       float64 `json:"beta2"`        // second-moment decay, in [0, 1)
	Eps         float64 `json:"eps"`          // added to sqrt(v_hat); > 0
	WeightDecay float64 `json:"weight_decay"` // decoupled decay coefficient, >= 0
	ClipNorm    float64 `json:"clip_norm"`    // global gradient-norm clip; 0 disables
	DecayAll    bool    `json:"decay_all"`    // decay every tensor; default only matmul weights (Tensor.Decay), not LayerNorm, biases or embeddings
}

// DefaultAdamWConfig returns nanoGPT-like settings for small models.
func DefaultAdamWConfig() AdamWConfig {
	return AdamWConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1, ClipNorm: 1}
}

// Validate explains every bad value.
func (c AdamWConfig) Validate() error {
	var errs []error
	if !(c.LR >= 0) || math.IsInf(c.LR, 0) {
		errs = append(errs, fmt.Errorf("model: adamw lr = %g: want a finite value >= 0", c.LR))
	}
	if !(c.Beta1 >= 0 && c.Beta1 < 1) {
		errs = append(errs, fmt.Errorf("model: adamw beta1 = %g: want a value in [0, 1)", c.Beta1))
	}
	if !(c.Beta2 >= 0 && c.Beta2 < 1) {
		errs = append(errs, fmt.Errorf("model: adamw beta2 = %g: want a value in [0, 1)", c.Beta2))
	}
	if !(c.Eps > 0) || math.IsInf(c.Eps, 0) {
		errs = append(errs, fmt.Errorf("model: adamw eps = %g: want a finite value > 0", c.Eps))
	}
	if !(c.WeightDecay >= 0) || math.IsInf(c.WeightDecay, 0) {
		errs = append(errs, fmt.Errorf("model: adamw weight_decay = %g: want a finite value >= 0", c.WeightDecay))
	}
	if !(c.ClipNorm >= 0) || math.IsInf(c.ClipNorm, 0) {
		errs = append(errs, fmt.Errorf("model: adamw clip_norm = %g: want a finite value >= 0 (0 disables)", c.ClipNorm))
	}
	return errors.Join(errs...)
}

// AdamW optimizes a flat parameter arena. M, V and Step are its whole state:
// a checkpoint that saves and restores them resumes bit-exactly.
type AdamW struct {
	Cfg  AdamWConfig
	M    []float32 // (NumParams) first moments
	V    []float32 // (NumParams) second moments
	Step int       // updates applied so far (bias correction uses Step after increment)

	spans []adamSpan // contiguous ranges of the arena with one decay setting
}

// adamSpan is the half-open range [lo, hi) of the arena with decay on or off.
type adamSpan struct {
	lo, hi int
	decay  bool
}

// NewAdamW returns an optimizer for p's arena with zero moments.
func NewAdamW(p *Params, cfg AdamWConfig) (*AdamW, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := &AdamW{Cfg: cfg, M: make([]float32, len(p.Data)), V: make([]float32, len(p.Data))}
	for _, t := range p.Tensors {
		d := t.Decay || cfg.DecayAll
		lo, hi := t.Offset, t.Offset+len(t.Data)
		if n := len(o.spans); n > 0 && o.spans[n-1].decay == d && o.spans[n-1].hi == lo {
			o.spans[n-1].hi = hi
			continue
		}
		o.spans = append(o.spans, adamSpan{lo, hi, d})
	}
	return o, nil
}

// Reset zeroes the moments and the step count.
func (o *AdamW) Reset() {
	clear(o.M)
	clear(o.V)
	o.Step = 0
}

// Update applies one AdamW step to params with learning rate lr (the
// schedule's value) and zeroes grads. It returns the global gradient norm
// before clipping. If that norm is not finite it applies nothing, leaves
// Step unchanged, still zeroes grads, and returns the norm (the caller
// counts skipped steps). It allocates nothing. It panics if params or grads
// do not have the arena's length.
func (o *AdamW) Update(params, grads []float32, lr float64) (gradNorm float64) {
	n := len(o.M)
	if len(params) != n || len(grads) != n {
		panic(fmt.Sprintf("model: adamw update: got %d params and %d grads, want %d", len(params), len(grads), n))
	}
	var ss float64
	for _, g := range grads {
		ss += float64(g) * float64(g)
	}
	gradNorm = math.Sqrt(ss)
	if math.IsNaN(gradNorm) || math.IsInf(gradNorm, 0) {
		clear(grads)
		return gradNorm
	}
	scale := 1.0
	if c := o.Cfg.ClipNorm; c > 0 && gradNorm > c {
		scale = c / gradNorm
	}
	o.Step++
	b1, b2 := o.Cfg.Beta1, o.Cfg.Beta2
	bc1 := 1 - math.Pow(b1, float64(o.Step))
	bc2 := 1 - math.Pow(b2, float64(o.Step))
	c := [9]float32{
		float32(scale),                    // gs
		float32(b1),                       // fb1
		float32(1 - b1),                   // ib1
		float32(b2),                       // fb2
		float32(1 - b2),                   // ib2
		float32(1 - lr*o.Cfg.WeightDecay), // decay: decoupled, p *= 1 - lr*wd
		float32(lr / bc1),                 // step: lr * m_hat = step * m
		float32(1 / math.Sqrt(bc2)),       // rbc2: sqrt(v_hat) = sqrt(v) * rbc2
		float32(o.Cfg.Eps),                // eps
	}
	for _, s := range o.spans {
		p, g, m, v := params[s.lo:s.hi], grads[s.lo:s.hi], o.M[s.lo:s.hi], o.V[s.lo:s.hi]
		m, v, g = m[:len(p)], v[:len(p)], g[:len(p)]
		i := 0
		if useAVX && adamwAsm {
			i = adamwVecAVX(p, g, m, v, &c, s.decay)
		}
		adamwGo(p[i:], g[i:], m[i:], v[i:], &c, s.decay)
	}
	return gradNorm
}

// adamwAsm lets Update run its step 8 elements at a time with adamwArr
// where the CPU has AVX2 (useAVX): the same operations in the same order,
// so the same bits (TestAdamWVecMatchesGo). A knob for the benchmark that
// measures it.
var adamwAsm = true

// adamwGo is one AdamW step on p, g, m, v (the same length) with the
// constants c of Update (gs, fb1, ib1, fb2, ib2, decay, step, rbc2, eps),
// one element at a time. It zeroes g.
func adamwGo(p, g, m, v []float32, c *[9]float32, decay bool) {
	gs, fb1, ib1, fb2, ib2 := c[0], c[1], c[2], c[3], c[4]
	dec, step, rbc2, eps := c[5], c[6], c[7], c[8]
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	// The conversions round each product on its own, so that no build
	// (GOAMD64=v3 lets the compiler fuse a*b + c) turns a product and a
	// sum into one FMA: the bits are adamwArr's on every build.
	for i := range p {
		gi := g[i] * gs
		m[i] = float32(fb1*m[i]) + float32(ib1*gi)
		v[i] = float32(fb2*v[i]) + float32(float32(ib2*gi)*gi)
		if decay {
			p[i] *= dec
		}
		p[i] -= step * m[i] / (float32(float32(math.Sqrt(float64(v[i])))*rbc2) + eps)
		g[i] = 0
	}
}
