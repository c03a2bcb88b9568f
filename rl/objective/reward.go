package objective

import (
	"fmt"
	"math"

	"tinyr1/data"
)

// Outcome is one sampled completion as the reward sees it.
type Outcome struct {
	data.Verdict
	Len       int  `json:"len"`       // generated tokens
	Truncated bool `json:"truncated"` // cut off at the length limit
}

// RewardConfig weighs the reward terms. The reward of a completion is
//
//	r = Correct*correct + Format*format + Length*length + Overlong*overlong
//
// with correct in {0, 1} (0 for truncated completions whatever the verifier
// says), format = 1 if the format is valid and the completion ended (EOS) else FormatBad, length =
// -Len/LengthScale, and overlong DAPO's soft overlong punishment in [-1, 0].
type RewardConfig struct {
	Correct       float64 `json:"correct"`        // weight of the correctness term
	Format        float64 `json:"format"`         // weight of the format term
	FormatBad     float64 `json:"format_bad"`     // format term of an invalid format: 0 (no reward) or negative (a penalty)
	Length        float64 `json:"length"`         // weight of the linear length penalty -Len/LengthScale; 0 is off
	LengthScale   int     `json:"length_scale"`   // tokens per unit of length penalty (e.g. the length limit)
	Overlong      float64 `json:"overlong"`       // weight of the soft overlong penalty; 0 is off (DAPO uses 1)
	OverlongMax   int     `json:"overlong_max"`   // L_max: lengths beyond it get -1
	OverlongCache int     `json:"overlong_cache"` // L_cache: the penalty ramps over (L_max-L_cache, L_max]
}

// DefaultRewardConfig returns correctness 1 and format 0.1: a well-formatted
// wrong answer stays far below a correct one, and the format term still
// separates completions of a group that are all wrong.
func DefaultRewardConfig() RewardConfig {
	return RewardConfig{Correct: 1, Format: 0.1}
}

// Validate reports the first bad field.
func (c RewardConfig) Validate() error {
	for _, w := range []struct {
		name string
		v    float64
	}{{"correct", c.Correct}, {"format", c.Format}, {"length", c.Length}, {"overlong", c.Overlong}} {
		if !(w.v >= 0) || math.IsInf(w.v, 0) {
			return fmt.Errorf("rl: reward weight %s = %v: want a finite value >= 0", w.name, w.v)
		}
	}
	if !(c.FormatBad <= 0) || math.IsInf(c.FormatBad, 0) {
		return fmt.Errorf("rl: reward format_bad = %v: want a finite value <= 0", c.FormatBad)
	}
	if c.Length > 0 && c.LengthScale <= 0 {
		return fmt.Errorf("rl: reward length_scale = %d: want > 0 when the length weight is set", c.LengthScale)
	}
	if c.Overlong > 0 {
		if c.OverlongMax <= 0 {
			return fmt.Errorf("rl: reward overlong_max = %d: want > 0 when the overlong weight is set", c.OverlongMax)
		}
		if c.OverlongCache <= 0 || c.OverlongCache > c.OverlongMax {
			return fmt.Errorf("rl: reward overlong_cache = %d: want a value in [1, overlong_max = %d]", c.OverlongCache, c.OverlongMax)
		}
	}
	return nil
}

// RewardParts are the unweighted terms of one reward and the weighted total,
// for the per-reward-function metrics.
type RewardParts struct {
	Correct  float64 `json:"correct"`  // 1 or 0
	Format   float64 `json:"format"`   // 1 or FormatBad
	Length   float64 `json:"length"`   // -Len/LengthScale, 0 when off
	Overlong float64 `json:"overlong"` // in [-1, 0], 0 when off
	Total    float64 `json:"total"`    // the weighted sum: the reward
}

// Score returns the reward of one completion, term by term.
func (c RewardConfig) Score(o Outcome) RewardParts {
	var p RewardParts
	if o.Correct && !o.Truncated {
		p.Correct = 1
	}
	p.Format = c.FormatBad
	if o.FormatOK && !o.Truncated { // the contract ends with end-of-sequence
		p.Format = 1
	}
	if c.Length > 0 {
		p.Length = -float64(o.Len) / float64(c.LengthScale)
	}
	if c.Overlong > 0 {
		p.Overlong = OverlongPenalty(o.Len, c.OverlongMax, c.OverlongCache)
	}
	p.Total = c.Total(p)
	return p
}

// Total is the weighted sum of p's terms.
func (c RewardConfig) Total(p RewardParts) float64 {
	return c.Correct*p.Correct + c.Format*p.Format + c.Length*p.Length + c.Overlong*p.Overlong
}

// ScoreBatch writes the reward of each outcome into dst and, if parts is not
// nil, its terms into parts. It allocates nothing.
func (c RewardConfig) ScoreBatch(dst []float64, parts []RewardParts, outs []Outcome) {
	if len(dst) != len(outs) || (parts != nil && len(parts) != len(outs)) {
		panic(fmt.Sprintf("rl: ScoreBatch: len(dst) = %d, len(parts) = %d, want len(outs) = %d (parts may be nil)", len(dst), len(parts), len(outs)))
	}
	for i, o := range outs {
		p := c.Score(o)
		dst[i] = p.Total
		if parts != nil {
			parts[i] = p
		}
	}
}

// OverlongPenalty is DAPO's soft overlong punishment (Yu et al. 2025, eq. 13)
// of a completion of n tokens:
//
//	0                          if n <= max - cache
//	((max - cache) - n)/cache  if max - cache < n <= max
//	-1                         if n > max
func OverlongPenalty(n, max, cache int) float64 {
	switch {
	case n <= max-cache:
		return 0
	case n <= max:
		return float64(max-cache-n) / float64(cache)
	}
	return -1
}
