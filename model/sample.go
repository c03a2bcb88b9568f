package model

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// SampleConfig says how Generate picks each next token. The sampling
// distribution is built in this order (as in Hugging Face's logits warpers):
//
//  1. temperature: softmax(logits / Temperature) over the whole vocabulary;
//  2. top-k: keep the TopK most probable tokens (0 = all);
//  3. top-p (nucleus, Holtzman et al. 2019): of those, keep the smallest set,
//     taken in order of decreasing probability, whose mass is at least TopP
//     of the mass left after top-k (1 = all);
//  4. min-p: keep tokens whose probability is at least MinP times the most
//     probable token's (0 = all);
//  5. renormalise over what is kept and draw one token.
//
// Ties in probability are broken by the lower token id, so the kept set is
// deterministic.
type SampleConfig struct {
	Greedy      bool    // pick the most probable token (lowest id on ties); TopK/TopP/MinP are ignored
	Temperature float32 // divides the logits; > 0 when sampling; for Greedy 0 means 1 (only LogP/Entropy use it)
	TopK        int     // keep the k most probable tokens; 0 disables
	TopP        float32 // nucleus mass in (0, 1]; 1 disables
	MinP        float32 // relative probability floor in [0, 1); 0 disables
	MaxNew      int     // most tokens generated per sequence (>= 1)
	EOS         int     // end-of-sequence token id; -1 for none
}

// DefaultSampleConfig is plain sampling at temperature 1 with no
// truncation, 128 new tokens and no EOS.
func DefaultSampleConfig() SampleConfig {
	return SampleConfig{Temperature: 1, TopK: 0, TopP: 1, MinP: 0, MaxNew: 128, EOS: -1}
}

// Validate explains every bad value.
func (c SampleConfig) Validate() error {
	var errs []error
	t := float64(c.Temperature)
	switch {
	case math.IsNaN(t) || math.IsInf(t, 0):
		errs = append(errs, fmt.Errorf("model: temperature = %g: want a finite value", t))
	case c.Greedy && t < 0:
		errs = append(errs, fmt.Errorf("model: temperature = %g: want >= 0 for greedy decoding", t))
	case !c.Greedy && t <= 0:
		errs = append(errs, fmt.Errorf("model: temperature = %g: want > 0 when sampling (or set greedy)", t))
	}
	if c.TopK < 0 {
		errs = append(errs, fmt.Errorf("model: top_k = %d: want >= 0 (0 disables)", c.TopK))
	}
	if !(c.TopP > 0 && c.TopP <= 1) {
		errs = append(errs, fmt.Errorf("model: top_p = %g: want a value in (0, 1] (1 disables)", c.TopP))
	}
	if !(c.MinP >= 0 && c.MinP < 1) {
		errs = append(errs, fmt.Errorf("model: min_p = %g: want a value in [0, 1) (0 disables)", c.MinP))
	}
	if c.MaxNew < 1 {
		errs = append(errs, fmt.Errorf("model: max_new = %d: want >= 1", c.MaxNew))
	}
	if c.EOS < -1 {
		errs = append(errs, fmt.Errorf("model: eos = %d: want a token id or -1 for none", c.EOS))
	}
	return errors.Join(errs...)
}

// temperature is the divisor of the logits used for LogP and Entropy.
func (c *SampleConfig) temperature() float64 {
	if c.Greedy && c.Temperature == 0 {
		return 1
	}
	return float64(c.Temperature)
}

// Rollout holds Generate's results. It is allocated once by NewRollout and
// reused: Generate reslices every field to the number of prompts and each
// per-sequence slice to its number of generated tokens, without allocating.
//
// What LogP means (important for GRPO's importance ratios):
//   - When sampling, LogP[b][t] is the log-probability of Tokens[b][t] under
//     the distribution actually sampled from: softmax(logits/Temperature)
//     after top-k, top-p and min-p truncation and renormalisation.
//     Engine.Score computes the full temperature-scaled distribution (no
//     truncation); with TopK = 0, TopP = 1 and MinP = 0 the two agree
//     (bitwise, in this engine). With truncation, LogP >= Score's value.
//   - For Greedy, LogP[b][t] is the log-probability of the chosen (argmax)
//     token under the full softmax(logits/Temperature), Temperature 0
//     meaning 1; it equals Score at that temperature. It is not 0 (the
//     log-probability under the point mass greedy decoding really samples
//     from).
//
// Entropy[b][t] is the entropy, in nats, of that same distribution: the
// truncated, renormalised one when sampling; the full one for Greedy.
type Rollout struct {
	Tokens  [][]int     // per sequence: generated tokens, including the EOS if one was produced
	LogP    [][]float32 // per generated token: log-prob under the sampling distribution (see above)
	Entropy [][]float32 // per generated token: entropy of that distribution (nats)
	Stopped []bool      // true if EOS was produced; false means cut at MaxNew or at the engine's maxLen
}

// NewRollout allocates results for up to maxBatch sequences of up to maxNew
// generated tokens each.
func NewRollout(maxBatch, maxNew int) *Rollout {
	r := &Rollout{
		Tokens:  make([][]int, maxBatch),
		LogP:    make([][]float32, maxBatch),
		Entropy: make([][]float32, maxBatch),
		Stopped: make([]bool, maxBatch),
	}
	toks := make([]int, maxBatch*maxNew)
	lp := make([]float32, maxBatch*maxNew)
	ent := make([]float32, maxBatch*maxNew)
	for b := range maxBatch {
		s := b * maxNew
		r.Tokens[b] = toks[s : s : s+maxNew]
		r.LogP[b] = lp[s : s : s+maxNew]
		r.Entropy[b] = ent[s : s : s+maxNew]
	}
	return r
}

// SeedFor derives the seed of one sequence's random stream from the run
// seed, the training step, the prompt index and the sample index within the
// prompt's group (SplitMix64 finalizer over each field in turn), so that a
// completion's randomness does not depend on batching or scheduling.
func SeedFor(seed uint64, step, prompt, sample int) uint64 {
	h := seed
	for _, v := range [3]uint64{uint64(step), uint64(prompt), uint64(sample)} {
		h = Mix64(h ^ Mix64(v+0x9e3779b97f4a7c15))
	}
	return h
}

// Mix64 is the SplitMix64 finaliser (Steele, Lea and Flood 2014), the
// bijective 64-bit mixer behind every derived seed. data keeps its own copy
// for its split hashes: data and model do not import each other.
func Mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// rngStream is the second PCG seed word of every sequence's stream.
const rngStream = 0x73616d706c65 // "sample"

// uniform returns a float64 in [0, 1) from 53 random bits.
func uniform(r *rand.PCG) float64 { return float64(r.Uint64()>>11) * 0x1p-53 }

// softmaxStats fills p[i] = exp(s_i) with s_i = (z_i - max z) / T, in
// float64, and returns the index of the largest logit (lowest on ties) and
// sum_i p[i] (summed in index order).
func softmaxStats(p []float64, z []float32, T float64) (argmax int, sum float64) {
	p = p[:len(z)]
	mx := z[0]
	for i, v := range z {
		if v > mx {
			mx, argmax = v, i
		}
	}
	m := float64(mx)
	for i, v := range z {
		p[i] = (float64(v) - m) / T
	}
	expF64(p, p)
	for _, e := range p {
		sum += e
	}
	return argmax, sum
}

// logProbOf returns log softmax(z/T)[tok]: the full, untruncated
// distribution (what Score reports). p is scratch of length len(z).
func logProbOf(p []float64, z []float32, T float64, tok int) float32 {
	am, sum := softmaxStats(p, z, T)
	return float32((float64(z[tok])-float64(z[am]))/T - math.Log(sum))
}

// sampleToken draws one token from logits z under cfg using the stream rng
// (exactly one draw when not greedy, none when greedy). p and idx are
// scratch of length len(z). It returns the token, its log-probability
// under the distribution sampled from and that distribution's entropy.
func sampleToken(z []float32, cfg *SampleConfig, rng *rand.PCG, p []float64, idx []int32) (tok int, logp, ent float32) {
	V := len(z)
	T := cfg.temperature()
	am, sum := softmaxStats(p, z, T)
	mx := float64(z[am])
	s := func(i int) float64 { return (float64(z[i]) - mx) / T } // log of unnormalised p[i]
	if cfg.Greedy {
		var h float64
		for i := range V {
			h += p[i] * s(i)
		}
		lse := math.Log(sum)
		return am, float32(-lse), float32(lse - h/sum)
	}

	// kept lists the candidate tokens in the order they are drawn from.
	topK := cfg.TopK > 0 && cfg.TopK < V
	topP := cfg.TopP < 1
	var kept []int32
	mass := sum
	switch {
	case topK || topP:
		// Pop tokens in decreasing probability from a max-heap over idx;
		// popped ones collect at the end of idx, largest last.
		for i := range idx[:V] {
			idx[i] = int32(i)
		}
		less := func(a, b int32) bool { // a ranks below b
			return p[a] < p[b] || (p[a] == p[b] && a > b)
		}
		heapify(idx[:V], less)
		n := V // heap size
		pop := func() {
			idx[0], idx[n-1] = idx[n-1], idx[0]
			n--
			siftDown(idx[:n], 0, less)
		}
		if topK {
			mass = 0
			for range cfg.TopK {
				pop()
				mass += p[idx[n]]
			}
		}
		popped := V - n
		if topP {
			limit := float64(cfg.TopP) * mass
			c, cum := 0, 0.0
			for {
				if c == popped {
					pop()
					popped++
				}
				cum += p[idx[V-1-c]]
				c++
				if cum >= limit || c == V || (topK && c == popped) {
					break
				}
			}
			popped, mass = c, cum
		}
		kept = idx[V-popped : V]
		// Reverse so that kept runs from most to least probable.
		for i, j := 0, len(kept)-1; i < j; i, j = i+1, j-1 {
			kept[i], kept[j] = kept[j], kept[i]
		}
		if cfg.MinP > 0 { // p[am] == 1, so the floor is MinP itself
			c := 0
			mass = 0
			for _, t := range kept {
				if p[t] < float64(cfg.MinP) {
					break
				}
				mass += p[t]
				c++
			}
			kept = kept[:c]
		}
	case cfg.MinP > 0:
		c := 0
		mass = 0
		for i := range V {
			if p[i] >= float64(cfg.MinP) {
				idx[c] = int32(i)
				mass += p[i]
				c++
			}
		}
		kept = idx[:c]
	}

	u := uniform(rng) * mass
	var h float64
	if kept == nil { // the full distribution, in token order
		tok = V - 1
		cum := 0.0
		found := false
		for i := range V {
			cum += p[i]
			if !found && cum > u {
				tok, found = i, true
			}
			h += p[i] * s(i)
		}
	} else {
		tok = int(kept[len(kept)-1])
		cum := 0.0
		found := false
		for _, t := range kept {
			cum += p[t]
			if !found && cum > u {
				tok, found = int(t), true
			}
			h += p[t] * s(int(t))
		}
	}
	lm := math.Log(mass)
	return tok, float32(s(tok) - lm), float32(lm - h/mass)
}

// heapify arranges a as a max-heap under less.
func heapify(a []int32, less func(a, b int32) bool) {
	for i := len(a)/2 - 1; i >= 0; i-- {
		siftDown(a, i, less)
	}
}

func siftDown(a []int32, i int, less func(a, b int32) bool) {
	for {
		c := 2*i + 1
		if c >= len(a) {
			return
		}
		if c+1 < len(a) && less(a[c], a[c+1]) {
			c++
		}
		if !less(a[i], a[c]) {
			return
		}
		a[i], a[c] = a[c], a[i]
		i = c
	}
}
