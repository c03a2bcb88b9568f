package train

// Reference reset (ProRL: Liu et al. 2025, "ProRL: Prolonged Reinforcement
// Learning Expands Reasoning Boundaries in Large Language Models",
// arXiv:2505.24864). With ref_reset_every N, after steps N, 2N, ... the
// reference policy of the KL term becomes a copy of the current policy, so
// the KL pulls toward where the policy is now and not toward the warm start;
// with ref_reset_optimizer the AdamW moments and step count are zeroed as
// well, as a fresh optimizer's. The reset happens at the end of the step,
// before its validation and checkpoint, so the step-N checkpoint holds the
// new reference (as "ref.<param>" tensors, the format's embedded reference)
// and the reset optimizer: a run resumed from it, or a trainer restored from
// it, continues exactly as the uninterrupted run does.
//
// In RFT (sft --from-samples) the frozen policy is the sampler, so the same
// reset makes rejection sampling iterated (expert iteration, Anthony et al.
// 2017; ReST, Gulcehre et al. 2023; RAFT, Dong et al. 2023): every N steps
// the policy trained so far becomes the sampler of the next N steps.

// resetDue reports whether the step just done (t.Step) ends a reset period.
func (t *Trainer) resetDue() bool {
	n := t.Cfg.RefResetEvery
	return t.Mode != SFT && n > 0 && t.Step%n == 0
}

// resetReference makes the reference a copy of the current policy (and,
// with ref_reset_optimizer, resets AdamW) and records the step. The frozen
// engine reads t.Ref in place (Engine.prepare at each call), so it scores
// (GRPO) or samples (RFT) with the new weights; a GRPO run at beta 0
// without log_kl has no such engine, and the copy serves its checkpoints.
func (t *Trainer) resetReference() {
	copy(t.Ref.Data, t.Params.Data)
	t.RefStep = t.Step
	if t.Cfg.RefResetOpt {
		t.Opt.Reset()
	}
}
