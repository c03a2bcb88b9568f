package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLossVariantFlagsRefused: a bad value of the loss variants' flags
// (--ratio-level, --gspo-eps-low/high, --is-correction, --is-cap,
// --entropy-top-frac), from a flag or --config, exits with status 2 and
// one line naming the value and what is expected, and creates nothing.
func TestLossVariantFlagsRefused(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "run")
	cfg := filepath.Join(dir, "cap.json")
	if err := os.WriteFile(cfg, []byte(`{"is_correction": "mis", "is_cap": -2}`), 0o644); err != nil {
		t.Fatal(err)
	}
	train := func(args ...string) []string {
		return append([]string{"train", "--init", evalFixture, "--out", out}, args...)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{train("--ratio-level", "seq"), `ratio_level "seq": want token or sequence`},
		{train("--ratio-level", "sequence", "--gspo-eps-low", "-0.0003"), "gspo_eps_low -0.0003: want a value in [0, 1)"},
		{train("--ratio-level", "sequence", "--gspo-eps-high", "-1"), "gspo_eps_high -1: want a finite value >= 0"},
		{train("--is-correction", "vllm"), `is_correction "vllm": want none, tis or mis`},
		{train("--is-cap", "0"), "is_cap = 0: want a finite value > 0"},
		{train("--is-correction", "tis", "--is-cap", "-1"), "is_cap -1: want a finite value > 0"},
		{train("--config", cfg), "is_cap -2: want a finite value > 0"},
		{train("--entropy-top-frac", "0"), "entropy_top_frac = 0: want a fraction in (0, 1]"},
		{train("--entropy-top-frac", "1.2"), "entropy_top_frac 1.2: want a fraction in (0, 1]"},
		{train("--entropy-top-frac", "NaN"), "entropy_top_frac NaN: want a fraction in (0, 1]"},
		{train("--ratio-level", "sequence", "--entropy-top-frac", "0.2"), "want is_correction none and entropy_top_frac 1"},
	} {
		code, _, stderr := runApp(t, tc.args...)
		if code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q: want exit 2 and one line with %q", tc.args[4:], code, stderr, tc.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%q: a refused run created %s", tc.args[4:], out)
		}
	}
}

// TestTrainLogKL: at beta 0 (the default) train logs no kl, its reference
// scoring nothing; --log-kl logs it, with the flag recorded in config.json;
// --log-kl with beta > 0, where kl is logged anyway, is refused with exit
// status 2 and one line, creating nothing.
func TestTrainLogKL(t *testing.T) {
	dir := t.TempDir()
	small := []string{"--init", evalFixture, "--steps", "2", "--tasks", "add:1", "--prompts", "2", "--group", "2", "--max-new", "8",
		"--eval-every", "0", "--workers", "1", "--quiet"}
	for _, tc := range []struct {
		name  string
		flags []string
		kl    bool
	}{
		{"default", nil, false},
		{"log-kl", []string{"--log-kl"}, true},
		{"beta", []string{"--beta", "0.04"}, true},
	} {
		out := filepath.Join(dir, tc.name)
		if code, _, stderr := runApp(t, append(append([]string{"train", "--out", out}, small...), tc.flags...)...); code != 0 {
			t.Fatalf("train %q: exit %d: %s", tc.flags, code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(string(readOrFail(t, filepath.Join(out, "metrics.jsonl")))), "\n")
		for i, line := range lines {
			if has := strings.Contains(line, `"kl":`); has != tc.kl {
				t.Errorf("train %q: metrics line %d has kl: %v, want %v:\n%s", tc.flags, i+1, has, tc.kl, line)
			}
		}
		if cfg := readConfigJSON(t, filepath.Join(out, "config.json")); cfg["log_kl"] != (tc.name == "log-kl") {
			t.Errorf("train %q: config.json log_kl = %v, want %v", tc.flags, cfg["log_kl"], tc.name == "log-kl")
		}
	}
	out := filepath.Join(dir, "refused")
	code, _, stderr := runApp(t, append(append([]string{"train", "--out", out}, small...), "--log-kl", "--beta", "0.04")...)
	if want := "log_kl = true: want beta 0 to use it"; code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, want) {
		t.Errorf("train --log-kl --beta 0.04: exit %d, stderr %q: want exit 2 and one line with %q", code, stderr, want)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("train --log-kl --beta 0.04: a refused run created %s", out)
	}
}
