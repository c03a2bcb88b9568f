package main

import "tinyr1/model"

// Model FLOPs of the timed parts, counted from the shapes alone, so that
// one count serves tinyr1 and PyTorch (same model, same shapes) and a
// measured time turns into a work rate (GFLOP/s) that can be set against
// the machine's ceiling (ceiling.go).
//
// The convention is the usual one for transformers (Kaplan et al. 2020,
// "Scaling Laws for Neural Language Models", section 2.1; PaLM's MFU,
// Chowdhery et al. 2022, appendix B): only matrix products count, a
// multiply-add being 2 FLOPs. Feeding one token at position t (0-based)
// through the model costs
//
//	2 * L * (D*3D + D*D + D*M + M*D)   qkv, projection and MLP weights
//	+ 2 * 2 * D * (t+1) * L            causal attention: q.k and p.v over the
//	                                   t+1 positions attended, all heads
//	+ 2 * V * D                        output head, only where logits are needed
//
// Embedding lookups, LayerNorm, biases, GELU, softmax, sampling, the loss
// and AdamW are not counted, nor the padding of the engine's matrices to
// 16 columns: the count is a lower bound of the work either side must do.
// A training step is 3 forward passes (the backward pass is 2: one product
// for the gradient of the input, one for that of the weight).

// blockFLOPs is the matrix-product FLOPs of feeding the positions [from,
// to) of one sequence through the blocks, attention included, without the
// output head.
func blockFLOPs(cfg model.Config, from, to int) float64 {
	D, M, L := float64(cfg.Dim), float64(cfg.MLP), float64(cfg.Layers)
	weights := 2 * L * (D*3*D + D*D + D*M + M*D)
	// The positions attended: sum of t+1 over t in [from, to).
	attended := float64(to*(to+1)-from*(from+1)) / 2
	return float64(to-from)*weights + 2*2*D*L*attended
}

// headFLOPs is the output head's FLOPs for n rows of logits.
func headFLOPs(cfg model.Config, n int) float64 {
	return 2 * float64(cfg.Vocab) * float64(cfg.Dim) * float64(n)
}

// rolloutFLOPs is what one timed Generate computes (model/engine_generate.go)
// for batch prompts of prompt tokens and maxNew new tokens, no EOS. Each
// sequence runs its prompt through the blocks (positions 0..prompt-1) with
// logits for the last position only (the first draw), then feeds each drawn
// token but the last: maxNew-1 decode steps at positions prompt ..
// prompt+maxNew-2, each with logits. The last drawn token is never fed.
// PyTorch's twin also computes logits at the other prompt positions; that
// extra head work is not counted.
func rolloutFLOPs(cfg model.Config, batch, prompt, maxNew int) float64 {
	prefill := blockFLOPs(cfg, 0, prompt) + headFLOPs(cfg, 1)
	decode := blockFLOPs(cfg, prompt, prompt+maxNew-1) + headFLOPs(cfg, maxNew-1)
	return float64(batch) * (prefill + decode)
}

// scoreFLOPs is what one timed Score of batch sequences of length tokens
// computes: the first length-1 tokens of each (the last is only
// predicted) at positions 0..length-2, with logits at each.
func scoreFLOPs(cfg model.Config, batch, length int) float64 {
	return float64(batch) * (blockFLOPs(cfg, 0, length-1) + headFLOPs(cfg, length-1))
}

// trainFLOPs is one training step on B sequences of T tokens: forward with
// logits at every position, and backward at twice the forward.
func trainFLOPs(cfg model.Config, B, T int) float64 {
	return 3 * float64(B) * (blockFLOPs(cfg, 0, T) + headFLOPs(cfg, T))
}
