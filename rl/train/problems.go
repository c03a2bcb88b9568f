package train

import "tinyr1/data"

// This file is the training problem stream that every mode draws from.

// drawProblem draws the next train problem of mixture item it.
func (t *Trainer) drawProblem(it data.MixItem) (data.Problem, error) {
	f, err := data.Lookup(it.Family)
	if err != nil {
		return data.Problem{}, err
	}
	level := it.Level
	if t.Cur != nil && t.Mode == GRPO {
		level = t.Cur.Level(it.Family)
	}
	index := t.DataPos
	if n := uint64(t.Cfg.SFTData); n > 0 && t.Mode == SFT {
		index %= n // a fixed supervised dataset of n problems per task
	}
	p, err := data.Generate(f, level, data.Train, t.dataSeed(), index)
	t.DataPos++
	return p, err
}

// dataSeed is the seed of this stage's training problem stream: SFT and GRPO
// draw from separate streams, so GRPO does not start on the very problems
// the warm start was trained on (both splits stay the train split).
func (t *Trainer) dataSeed() uint64 {
	stage := uint64(1) // SFT
	switch t.Mode {
	case GRPO:
		stage = 2
	case RFT:
		stage = 3
	}
	return DeriveSeed(t.Cfg.Seed, streamData, stage)
}

// promptBound is the longest prompt among the first problems of every
// mixture item at levels up to 4, plus a margin.
func (t *Trainer) promptBound() int {
	longest := 0
	for _, it := range t.Mix {
		f, err := data.Lookup(it.Family)
		if err != nil {
			continue
		}
		for lv := 1; lv <= max(it.Level, 4); lv++ {
			for i := range uint64(64) {
				p, err := data.Generate(f, lv, data.Train, 0x5eed, i)
				if err == nil {
					longest = max(longest, len(p.Prompt)+1)
				}
			}
		}
	}
	return longest + 8
}
