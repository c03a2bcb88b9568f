package train

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tinyr1/rl/eval"
)

// TestDecodeConfigStrict checks that a config file is one JSON object of
// known keys, spelled exactly, with non-null values.
func TestDecodeConfigStrict(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`null`, "null: want one JSON object"},
		{`{"steps":null}`, `key "steps" is null`},
		{`{"Steps":2}`, `unknown key "Steps"`},
		{`{"STEPS":2}`, `unknown key "STEPS"`},
		{`{"lerning_rate":1}`, `unknown key "lerning_rate"`},
		{`[1]`, "want one JSON object"},
		{`{"steps":2} {"steps":3}`, "more than one JSON object"},
		{`{"steps":"2"}`, "steps"},
		{`{"steps": 2, "lr": 0.1, "steps": 3}`, `key "steps" appears twice`},
	} {
		if _, err := DecodeConfig([]byte(tc.in), DefaultTrainConfig(), "x.json"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.in, err, tc.want)
		}
	}
	c, err := DecodeConfig([]byte(`{"steps": 7, "tasks": "add:1"}`), DefaultTrainConfig(), "x.json")
	if err != nil || c.Steps != 7 || c.Tasks != "add:1" || c.LR != DefaultTrainConfig().LR {
		t.Errorf("good config: %+v, %v", c, err)
	}
}

// TestLoadConfigCapsSize checks that /dev/zero and oversized files are
// refused after reading at most MaxConfigBytes+1 bytes.
func TestLoadConfigCapsSize(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(big, []byte(`{"steps": 2`+strings.Repeat(" ", MaxConfigBytes)+`}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/dev/zero", big} {
		if _, err := LoadConfig(path, DefaultTrainConfig()); err == nil || !strings.Contains(err.Error(), "more than 1048576 bytes") {
			t.Errorf("%s: error %v, want the size cap", path, err)
		}
	}
}

// TestValidateRefusesTestOnlyLevelAndNoSteps checks that level 5 (test only)
// and a run of zero steps are refused by name.
func TestValidateRefusesTestOnlyLevelAndNoSteps(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Tasks = "add:5" }, "level 5 of add is out-of-distribution"},
		{func(c *Config) { c.Tasks = "sort:1,mul:3-5" }, "level 5 of mul is out-of-distribution"},
		{func(c *Config) { c.Steps = 0 }, "steps = 0: want a value >= 1"},
	} {
		for _, def := range []Config{DefaultSFTConfig(), DefaultTrainConfig()} {
			c := def
			tc.edit(&c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%+v: Validate() = %v, want %q", c, err, tc.want)
			}
		}
	}
	c := DefaultTrainConfig()
	c.Tasks = "add:1-4"
	if err := c.Validate(); err != nil {
		t.Errorf("levels 1-4: %v", err)
	}
}

// eval does not import the trainer, so its defaults copy the training
// defaults it shares: they must stay equal.
func TestEvalDefaultsMatchTraining(t *testing.T) {
	tr, ev := DefaultTrainConfig(), eval.DefaultEvalConfig()
	if ev.Tasks != tr.Tasks || ev.MaxNew != tr.MaxNew || ev.Workers != tr.Workers {
		t.Errorf("eval defaults tasks %q, max_new %d, workers %d: want the training defaults %q, %d, %d",
			ev.Tasks, ev.MaxNew, ev.Workers, tr.Tasks, tr.MaxNew, tr.Workers)
	}
}

// TestValidateRefusesInfiniteRates: +Inf min_lr or weight_decay is a config
// error (exit 2 at the command line), not a failure later in the optimizer.
func TestValidateRefusesInfiniteRates(t *testing.T) {
	for _, tc := range []struct {
		key string
		set func(*Config)
	}{
		{"min_lr", func(c *Config) { c.MinLR = math.Inf(1) }},
		{"weight_decay", func(c *Config) { c.WeightDecay = math.Inf(1) }},
	} {
		c := DefaultTrainConfig()
		tc.set(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s = +Inf: Validate says %v: want a refusal naming it", tc.key, err)
		}
	}
}

// TestValidateEstimatorAndReset checks the advantage-estimator and
// reference-reset settings: each bad value or combination is one error
// naming the key and the value, and the good ones pass.
func TestValidateEstimatorAndReset(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Config)
		want string // "" for a good config
	}{
		{func(c *Config) {}, ""},
		{func(c *Config) { c.Advantage = "rloo" }, ""},
		{func(c *Config) { c.Advantage = "reinforce_pp"; c.AdvEps = 0.01 }, ""},
		{func(c *Config) { c.Advantage, c.PasskK = "passk", 7 }, ""},
		{func(c *Config) { c.Advantage, c.PasskK = "passk", 8 }, "passk_k = 8: want 1 to group-1 = 7"},
		{func(c *Config) { c.RefResetEvery = 1 }, "ref_reset_every = 1: want beta > 0 or ref_reset_optimizer"},
		{func(c *Config) { c.RefResetEvery, c.Beta = 5, 0.04 }, ""},
		{func(c *Config) { c.RefResetEvery, c.RefResetOpt = 5, true }, ""},
		{func(c *Config) { c.Advantage = "ppo" }, `unknown advantage estimator "ppo": want grpo, rloo, reinforce_pp or passk`},
		{func(c *Config) { c.Advantage = "" }, `advantage = "": want grpo, rloo, reinforce_pp or passk`},
		{func(c *Config) { c.Advantage, c.Scale = "rloo", "none" }, "scale = none: want advantage grpo to use it (advantage = rloo"},
		{func(c *Config) { c.Advantage, c.Scale = "passk", "batch" }, "scale = batch: want advantage grpo"},
		{func(c *Config) { c.Advantage, c.AdvEps = "rloo", 0.01 }, "adv_eps = 0.01: want advantage grpo, reinforce_pp or passk"},
		{func(c *Config) { c.Advantage, c.PasskK = "passk", 9 }, "passk_k = 9: want 1 to group-1 = 7"},
		{func(c *Config) { c.Advantage, c.PasskK = "passk", 0 }, "passk k 0: want 1 to the group size"},
		{func(c *Config) { c.PasskK = 2 }, "passk_k = 2: want advantage passk to use it (advantage = grpo)"},
		{func(c *Config) { c.RefResetEvery, c.Beta = -3, 0.04 }, "ref_reset_every = -3: want a value >= 0 (0 is off)"},
		{func(c *Config) { c.RefResetOpt = true }, "ref_reset_optimizer = true: want ref_reset_every >= 1"},
		// A loss variant's setting the run would not read.
		{func(c *Config) { c.RatioLevel, c.GSPOEpsLow, c.GSPOEpsHigh = "sequence", 0.01, 0.02 }, ""},
		{func(c *Config) { c.GSPOEpsLow = 0.01 }, "gspo_eps_low = 0.01: want ratio_level sequence to use it"},
		{func(c *Config) { c.GSPOEpsHigh = 0.02 }, "gspo_eps_high = 0.02: want ratio_level sequence to use it"},
		{func(c *Config) { c.RatioLevel, c.EpsLow = "sequence", 0.1 }, "eps_low = 0.1: want ratio_level token to use it"},
		{func(c *Config) { c.RatioLevel, c.EpsHigh = "sequence", 0.28 }, "eps_high = 0.28: want ratio_level token to use it"},
		{func(c *Config) { c.ISCap = 3 }, "is_cap = 3: want is_correction tis or mis to use it"},
		{func(c *Config) { c.ISCorrection, c.ISCap = "mis", 3 }, ""},
		// log_kl asks for a reference pass that beta > 0 makes anyway.
		{func(c *Config) { c.LogKL = true }, ""},
		{func(c *Config) { c.LogKL, c.Beta = true, 0.04 }, "log_kl = true: want beta 0 to use it (with beta = 0.04 the reference is scored"},
	} {
		c := DefaultTrainConfig()
		tc.edit(&c)
		err := c.ValidateFor(GRPO)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%+v: ValidateFor(GRPO) = %v, want nil", c, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ValidateFor(GRPO) = %v, want one error with %q", err, tc.want)
		}
	}
}

// TestValidateForMode: a reset period means a different thing in each
// mode. RFT resets its sampler whatever beta is (iterated rejection
// sampling); GRPO needs the KL term or an optimizer reset for a reset to
// change anything; SFT has no second policy to reset.
func TestValidateForMode(t *testing.T) {
	for _, tc := range []struct {
		mode Mode
		want string // "" for a good config
	}{
		{RFT, ""},
		{GRPO, "ref_reset_every = 4: want beta > 0 or ref_reset_optimizer"},
		{SFT, "ref_reset_every = 4: want 0 in a supervised warm start"},
	} {
		c := DefaultSFTConfig()
		c.RefResetEvery = 4
		if err := c.Validate(); err != nil {
			t.Fatalf("Validate() = %v: want the mode-free checks to pass", err)
		}
		err := c.ValidateFor(tc.mode)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%v: ValidateFor = %v, want %q", tc.mode, err, tc.want)
		}
	}
}

// TestRunIDUnchangedByLogKL pins the run id of the default GRPO config
// (kind "train", no initial checkpoint hash) to its value at 4f40ac6, the
// commit before log_kl: RunID hashes the JSON of the whole Config, and
// sweeps skip and resume jobs by run id, so a field that changed the JSON
// at its default would orphan every existing run. log_kl is omitempty: off,
// it is absent from the JSON; on, it is a different run. A deliberate change
// of the defaults changes this id: update it then, saying so.
func TestRunIDUnchangedByLogKL(t *testing.T) {
	cfg := DefaultTrainConfig()
	if got, want := RunID("train", cfg, ""), "train-5cbcd0fee662"; got != want {
		t.Errorf("RunID of the default GRPO config = %s, want %s (its value at 4f40ac6: every existing run id would change)", got, want)
	}
	cfg.LogKL = true
	if RunID("train", cfg, "") == "train-5cbcd0fee662" {
		t.Error("RunID with log_kl on equals the default's: want a different run")
	}
}
