package model

import (
	"fmt"
	"math"
)

// Schedule is a learning-rate schedule over optimizer steps 0, 1, 2, ...
// Every kind starts with a linear warm-up from base/Warmup to base over the
// first Warmup steps, then:
//
//	constant: base forever
//	linear:   decays linearly from base at step Warmup to MinLR at step Total
//	cosine:   decays along half a cosine from base at Warmup to MinLR at Total
//
// and stays at MinLR after Total (linear and cosine).
type Schedule struct {
	Kind   string  `json:"kind"`   // "constant", "linear" or "cosine"
	Warmup int     `json:"warmup"` // warm-up steps, >= 0
	Total  int     `json:"total"`  // last step of the decay (linear, cosine); ignored by constant
	MinLR  float64 `json:"min_lr"` // floor of the decay (linear, cosine), >= 0
}

// Validate explains every bad value.
func (s Schedule) Validate() error {
	switch s.Kind {
	case "constant":
	case "linear", "cosine":
		if s.Total <= s.Warmup {
			return fmt.Errorf("model: schedule %s total = %d: want total > warmup = %d", s.Kind, s.Total, s.Warmup)
		}
	default:
		return fmt.Errorf("model: schedule kind %q: want constant, linear or cosine", s.Kind)
	}
	if s.Warmup < 0 {
		return fmt.Errorf("model: schedule warmup = %d: want a value >= 0", s.Warmup)
	}
	if !(s.MinLR >= 0) || math.IsInf(s.MinLR, 0) {
		return fmt.Errorf("model: schedule min_lr = %g: want a finite value >= 0", s.MinLR)
	}
	return nil
}

// LR returns the learning rate at step (0-based) for base rate base.
func (s Schedule) LR(step int, base float64) float64 {
	if step < s.Warmup {
		return base * float64(step+1) / float64(s.Warmup)
	}
	if s.Kind == "constant" {
		return base
	}
	if step >= s.Total {
		return s.MinLR
	}
	frac := float64(step-s.Warmup) / float64(s.Total-s.Warmup) // in [0, 1)
	if s.Kind == "cosine" {
		return s.MinLR + (base-s.MinLR)*0.5*(1+math.Cos(math.Pi*frac))
	}
	return base + (s.MinLR-base)*frac
}
