package model

import (
	"strings"
	"testing"
)

// TestConfigNumParams holds Config.NumParams, which bounds a config before
// anything is allocated, to the arena NewParams lays out.
func TestConfigNumParams(t *testing.T) {
	for _, name := range Presets() {
		for _, tied := range []bool{true, false} {
			cfg, err := Preset(name, 103)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Tied = tied
			if got, want := cfg.NumParams(), len(NewParams(cfg).Data); got != want {
				t.Errorf("%s tied=%v: NumParams %d, arena %d", name, tied, got, want)
			}
		}
	}
}

// TestConfigBounds checks that sizes beyond the bounds are refused by name.
func TestConfigBounds(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Dim, c.Heads = 1<<20, 1 }, "dim = 1048576: want at most 4096"},
		{func(c *Config) { c.Layers = 1e9 }, "layers = 1000000000: want at most 128"},
		{func(c *Config) { c.Context = 1 << 40 }, "context = 1099511627776: want at most 8192"},
		{func(c *Config) { c.MLP = 1 << 45 }, "mlp = 35184372088832: want at most 16384"},
		{func(c *Config) { c.Vocab = 1 << 17 }, "vocab = 131072: want at most 65536"},
		{func(c *Config) { c.Dim, c.MLP, c.Layers = 4096, 16384, 128 }, "parameters: want at most 268435456"},
	} {
		cfg := DefaultConfig(103)
		tc.edit(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: Validate() = %v, want %q", cfg, err, tc.want)
		}
	}
}
