package sweep

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"tinyr1/rl/eval"
	"tinyr1/rl/train"
)

// This file resolves an arm's settings (its stage's config.json keys, then
// its own) and an evaluation's into the configs that tinyr1 sft, train and
// eval resolve the same flags to, refusing what those commands would.

// overlayKeys returns the keys of a config overlay (absent: none); it must
// be one JSON object without null values.
func overlayKeys(raw json.RawMessage) (map[string]json.RawMessage, error) {
	obj := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(raw)) == 0 {
		return obj, nil
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, fmt.Errorf("config %s: want one JSON object of settings", bytes.TrimSpace(raw))
	}
	for k, v := range obj {
		if string(bytes.TrimSpace(v)) == "null" {
			return nil, fmt.Errorf("config key %q is null: want a value", k)
		}
	}
	return obj, nil
}

// Overlay is an arm's settings: its stage's config.json keys, then its own.
func (e *Experiment) Overlay(a *Arm) map[string]json.RawMessage {
	st, _ := overlayKeys(e.Stages[a.Stage].Config)
	own, _ := overlayKeys(a.Config)
	for k, v := range own {
		st[k] = v
	}
	return st
}

// Mode is the training mode of an arm.
func (e *Experiment) Mode(a *Arm) train.Mode { return stageModes[e.Stages[a.Stage].Command] }

// Kind is the tinyr1 command an arm runs: sft (also rft) or train.
func (e *Experiment) Kind(a *Arm) string {
	if e.Stages[a.Stage].Command == "train" {
		return "train"
	}
	return "sft"
}

// TrainConfig is the config an arm's run of seed resolves to, with extra
// steps (compute matching) added, as tinyr1 sft or train resolves the same
// flags: the command's defaults, then the overlay. It refuses what the
// command would: keys outside the mode, the seed (the sweep's), bad values.
func (e *Experiment) TrainConfig(a *Arm, seed uint64, extra int) (train.Config, error) {
	def := train.DefaultSFTConfig()
	if e.Kind(a) == "train" {
		def = train.DefaultTrainConfig()
	}
	ov := e.Overlay(a)
	if err := checkKeys(ov, e.Stages[a.Stage].Command); err != nil {
		return def, err
	}
	raw, _ := json.Marshal(ov)
	cfg, err := train.DecodeConfig(raw, def, "overlay")
	if err != nil {
		return def, errors.New(strings.TrimPrefix(err.Error(), "rl: config overlay: "))
	}
	cfg.Seed = seed
	cfg.Steps += extra
	check := cfg
	if m := a.Match; m != nil && check.Steps == 0 {
		// steps 0: all its steps are the matched ones: fixed ones are known
		// now, measured ones only once measured (Check refuses 0 then)
		check.Steps = 1
		if m.Steps != nil {
			check.Steps = *m.Steps
		}
	}
	if err := check.ValidateFor(e.Mode(a)); err != nil {
		return def, errors.New(strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	set := make([]string, 0, len(ov))
	for k := range ov {
		set = append(set, k)
	}
	if err := cfg.CheckUnread(set, func(key string) string { return key }); err != nil {
		return def, err
	}
	return cfg, nil
}

// checkKeys refuses the keys of a training overlay that the stage's
// command would: unknown ones, ones of another mode, and the seed.
func checkKeys(ov map[string]json.RawMessage, command string) error {
	keys := make([]string, 0, len(ov))
	for k := range ov {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	kind := "sft"
	if command == "train" {
		kind = "train"
	}
	for _, k := range keys {
		f, ok := fieldOf(reflect.TypeOf(train.Config{}), k)
		switch {
		case !ok:
			return fmt.Errorf("unknown config key %q: want a key of config.json (a flag of 'tinyr1 %s --help' with _ for -)", k, kind)
		case k == "seed":
			return fmt.Errorf(`config key "seed": want the sweep's "seeds" list instead`)
		case !slices.Contains(strings.Split(f.Tag.Get("for"), ","), stageModes[command].String()):
			return fmt.Errorf("config key %q does not apply to stage command %q: it is a setting of %s", k, command, f.Tag.Get("for"))
		}
	}
	return nil
}

// EvalConfig is an evaluation's config as tinyr1 eval resolves the same
// flags: the defaults, then the overlay; without sampling (n 0) and no
// "ks", no k.
func EvalConfig(ev *Eval) (eval.EvalConfig, error) {
	cfg := eval.DefaultEvalConfig()
	ov, err := overlayKeys(ev.Config)
	if err != nil {
		return cfg, err
	}
	for k := range ov {
		if f, ok := fieldOf(reflect.TypeOf(eval.EvalConfig{}), k); !ok || f.Tag.Get("flag") == "-" {
			return cfg, fmt.Errorf("unknown config key %q: want a key of eval's config (tasks, split, problems, n, ks, temperature, top_p, greedy, seed, max_new, workers)", k)
		}
	}
	if len(ov) > 0 {
		dec := json.NewDecoder(bytes.NewReader(ev.Config))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cfg); err != nil {
			return cfg, fmt.Errorf("config: %v", err)
		}
	}
	if _, ok := ov["ks"]; cfg.N == 0 && !ok {
		cfg.Ks = nil
	}
	if err := cfg.Validate(); err != nil {
		return cfg, errors.New(strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return cfg, nil
}

// fieldOf returns the field of struct type t whose json key is key.
func fieldOf(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if strings.Split(f.Tag.Get("json"), ",")[0] == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}
