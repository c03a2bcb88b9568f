package train

import "fmt"

// Mode is what a Trainer trains by. It is set once, when the trainer is
// made, and every difference between the three is a test of it.
type Mode int

const (
	// SFT is the supervised warm start from a random model on worked
	// solutions (`tinyr1 sft`).
	SFT Mode = iota + 1
	// RFT is rejection sampling: supervised steps on a frozen sampler's
	// verified completions (`tinyr1 sft --from-samples CKPT`); with
	// ref_reset_every the sampler becomes the policy every N steps.
	RFT
	// GRPO is reinforcement learning from an initial checkpoint, which is
	// also the frozen reference policy (`tinyr1 train --init CKPT`).
	GRPO
)

// ModeOf returns the mode of a run of command kind, "sft" or "train":
// train is GRPO, and sft is RFT when it samples from a checkpoint
// (--from-samples), SFT otherwise.
func ModeOf(kind string, fromSamples bool) Mode {
	switch {
	case kind == "train":
		return GRPO
	case fromSamples:
		return RFT
	}
	return SFT
}

// New makes a trainer of mode: SFT from a random model (init is ignored),
// RFT sampling from the checkpoint at init, GRPO starting from it.
func New(mode Mode, cfg Config, init, runID string) (*Trainer, error) {
	switch mode {
	case SFT:
		return NewSFT(cfg, runID)
	case RFT:
		return NewRFT(cfg, init, runID)
	case GRPO:
		return NewGRPO(cfg, init, runID)
	}
	return nil, fmt.Errorf("rl: mode %v: want SFT, RFT or GRPO", mode)
}

// Kind is the command of the mode, "sft" or "train": the kind of its
// manifest and run id and the first word of its progress lines.
func (m Mode) Kind() string {
	if m == GRPO {
		return "train"
	}
	return "sft"
}

// String names the mode: "sft", "rft" or "grpo".
func (m Mode) String() string {
	switch m {
	case SFT:
		return "sft"
	case RFT:
		return "rft"
	case GRPO:
		return "grpo"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// supervised reports whether the mode takes supervised steps (SFT, RFT).
func (m Mode) supervised() bool { return m == SFT || m == RFT }
