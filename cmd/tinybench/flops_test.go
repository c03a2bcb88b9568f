package main

import (
	"testing"

	"tinyr1/model"
)

// flopsCfg is a toy model small enough to count by hand.
var flopsCfg = model.Config{Vocab: 10, Context: 16, Dim: 4, Layers: 2, Heads: 2, MLP: 8, Tied: true, InitScale: 0.1}

// TestFLOPsByHand holds the counts to figures worked out on paper for
// flopsCfg (D 4, L 2, M 8, V 10):
//
//	weights per token  2 * L * (D*3D + D*D + D*M + M*D) = 2*2*(48+16+32+32) = 512
//	attention at t     2 * 2 * D * (t+1) * L            = 32 (t+1)
//	head per row       2 * V * D                        = 80
func TestFLOPsByHand(t *testing.T) {
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		// 3 x 3 sequences of T 5: positions 0..4, logits at each:
		// 5*512 + 32*(1+2+3+4+5) + 5*80 = 2560 + 480 + 400 = 3440.
		{"train B3 T5", trainFLOPs(flopsCfg, 3, 5), 3 * 3 * 3440},
		// 2 prompts of 3 tokens, 4 new: positions 0..2 and 3..5 (the
		// 4th drawn token is not fed), logits at 2 and 3..5:
		// 6*512 + 32*(1+...+6) + 4*80 = 3072 + 672 + 320 = 4064.
		{"rollout B2 prompt 3 new 4", rolloutFLOPs(flopsCfg, 2, 3, 4), 2 * 4064},
		// 2 sequences of 5 tokens: positions 0..3, logits at each:
		// 4*512 + 32*(1+2+3+4) + 4*80 = 2048 + 320 + 320 = 2688.
		{"score B2 T5", scoreFLOPs(flopsCfg, 2, 5), 2 * 2688},
		// One new token: the prompt's prefill and one draw, no decode.
		{"rollout B1 prompt 3 new 1", rolloutFLOPs(flopsCfg, 1, 3, 1), 3*512 + 32*6 + 80},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: %g FLOPs, want %g", tc.name, tc.got, tc.want)
		}
	}
}

// bruteForward counts the forward FLOPs of the rows (position, with
// logits) of one sequence one multiply-add at a time: the weights from the
// model's own parameter shapes (every 2-D tensor but the position
// embedding: the token embedding is the tied head), attention head by
// head over the positions each row attends.
func bruteForward(cfg model.Config, rows []row) float64 {
	p := model.NewParams(cfg)
	var block float64
	for l := range p.Blocks {
		b := &p.Blocks[l]
		for _, w := range []*model.Tensor{b.WQKV, b.WO, b.W1, b.W2} {
			block += float64(w.Shape[0] * w.Shape[1])
		}
	}
	hw := p.Head // (D, V)
	if cfg.Tied {
		hw = p.WTE // (V, D): logits = x @ wte^T
	}
	head := float64(hw.Shape[0] * hw.Shape[1])
	hs := cfg.Dim / cfg.Heads
	macs := 0.0
	for _, r := range rows {
		macs += block
		if r.logits {
			macs += head
		}
		for range cfg.Layers {
			for range cfg.Heads {
				for range r.pos + 1 { // the positions attended
					macs += 2 * float64(hs) // q.k and p.v
				}
			}
		}
	}
	return 2 * macs
}

type row struct {
	pos    int
	logits bool
}

// TestFLOPsBruteForce holds the closed forms to a count over the rows each
// part feeds, listed as the engine feeds them (model/engine_generate.go,
// engine_score.go) and as the training graph does, for the real presets.
func TestFLOPsBruteForce(t *testing.T) {
	for _, preset := range []string{"tiny", "small", "medium"} {
		cfg, err := modelConfig(preset)
		if err != nil {
			t.Fatal(err)
		}
		var prefillDecode, score, train []row
		for pos := range promptLen {
			prefillDecode = append(prefillDecode, row{pos, pos == promptLen-1})
		}
		for i := range maxNew - 1 {
			prefillDecode = append(prefillDecode, row{promptLen + i, true})
		}
		for pos := range scoreT - 1 {
			score = append(score, row{pos, true})
		}
		B, T := trainShape(preset)
		for pos := range T {
			train = append(train, row{pos, true})
		}
		for _, tc := range []struct {
			name      string
			got, want float64
		}{
			{"rollout b64", rolloutFLOPs(cfg, 64, promptLen, maxNew), 64 * bruteForward(cfg, prefillDecode)},
			{"score", scoreFLOPs(cfg, scoreB, scoreT), scoreB * bruteForward(cfg, score)},
			{"train", trainFLOPs(cfg, B, T), 3 * float64(B) * bruteForward(cfg, train)},
		} {
			if tc.got != tc.want {
				t.Errorf("%s %s: %g FLOPs, want %g (brute force)", preset, tc.name, tc.got, tc.want)
			}
		}
	}
}
