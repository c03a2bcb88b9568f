package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"tinyr1/rl/train"
)

// Every field of a command's config struct (train.Config for sft and
// train, eval.EvalConfig for eval) is one flag, named after its config-file
// key with dashes (max_new -> --max-new) or by its flag tag, with the
// field's usage tag as help, its topic tag as --help section and the
// command's default as default; flag:"-" marks a field that is not a
// setting. Flags are derived from the struct so that a setting is declared
// exactly once. A training command shows only the fields of its modes (the
// for tag), and a run refuses a setting outside its own mode, from a flag,
// the environment or --config alike.

// The modes of a training run are train.Mode; the for tags of train.Config
// name them as Mode.String() does: "sft", "rft" (sft --from-samples) and
// "grpo" (train).

// modeNames says what a mode is, for error messages.
var modeNames = map[train.Mode]string{
	train.SFT:  "sft without --from-samples",
	train.RFT:  "sft --from-samples (rejection sampling)",
	train.GRPO: "train (GRPO)",
}

// modeByName is the mode a for tag names.
var modeByName = map[string]train.Mode{train.SFT.String(): train.SFT, train.RFT.String(): train.RFT, train.GRPO.String(): train.GRPO}

// configField is one field of a config struct as the command line sees it.
type configField struct {
	index int          // field index in the struct
	key   string       // config-file key (the json tag)
	name  string       // flag name
	usage string       // help text
	topic string       // --help section
	modes []train.Mode // the modes it applies to (train.Config only)
}

// flag returns the field's flag name.
func (f configField) flag() string { return f.name }

// structFields lists the settings of the config struct type t in
// declaration order. A field must have a usage and a topic tag, or say
// flag:"-", so that no setting goes without a flag unnoticed.
func structFields(t reflect.Type) []configField {
	var fs []configField
	for i := range t.NumField() {
		sf := t.Field(i)
		name := sf.Tag.Get("flag")
		if name == "-" {
			continue
		}
		f := configField{index: i, key: strings.Split(sf.Tag.Get("json"), ",")[0], name: name, usage: sf.Tag.Get("usage"),
			topic: sf.Tag.Get("topic")}
		if f.name == "" {
			f.name = flagName(f.key)
		}
		if f.key == "" || f.usage == "" || f.topic == "" {
			panic(fmt.Sprintf("configflags: %s.%s needs a json, a usage and a topic tag, or flag:\"-\"", t, sf.Name))
		}
		fs = append(fs, f)
	}
	return fs
}

// pickFields returns the fields of fs with the given flag names, for a
// command that reads some of another command's settings.
func pickFields(fs []configField, names ...string) []configField {
	var out []configField
	for _, name := range names {
		i := slices.IndexFunc(fs, func(f configField) bool { return f.flag() == name })
		if i < 0 {
			panic("configflags: no setting --" + name)
		}
		out = append(out, fs[i])
	}
	return out
}

// configFields lists train.Config's fields in declaration order, each with
// the modes of its for tag.
var configFields = func() []configField {
	t := reflect.TypeOf(train.Config{})
	fs := structFields(t)
	for i := range fs {
		sf := t.Field(fs[i].index)
		if sf.Tag.Get("for") == "" {
			panic(fmt.Sprintf("configflags: train.Config.%s needs a for tag", sf.Name))
		}
		for _, name := range strings.Split(sf.Tag.Get("for"), ",") {
			m, ok := modeByName[name]
			if !ok {
				panic(fmt.Sprintf("configflags: train.Config.%s: unknown mode %q in its for tag: want sft, rft or grpo", sf.Name, name))
			}
			fs[i].modes = append(fs[i].modes, m)
		}
	}
	return fs
}()

// fieldByKey returns the field of a config key.
func fieldByKey(key string) (configField, bool) {
	for _, f := range configFields {
		if f.key == key {
			return f, true
		}
	}
	return configField{}, false
}

// flagName turns a config key into a flag name.
func flagName(key string) string { return strings.ReplaceAll(key, "_", "-") }

// configFlags returns one flag per config field that applies to at least
// one of modes, with defaults from def. A field that applies to only some
// of them says so in its help.
func configFlags(def train.Config, modes ...train.Mode) []cli.Flag {
	var flags []cli.Flag
	v := reflect.ValueOf(def)
	for _, f := range configFields {
		var in []train.Mode
		for _, m := range modes {
			if slices.Contains(f.modes, m) {
				in = append(in, m)
			}
		}
		if len(in) == 0 {
			continue
		}
		usage := f.usage
		if len(in) < len(modes) {
			usage += " [" + strings.Join(mapModes(in), "; ") + "]"
		}
		flags = append(flags, fieldFlag(f, usage, v.Field(f.index)))
	}
	return flags
}

// structFlags returns one flag per field of fs, with defaults from def,
// their config struct.
func structFlags(fs []configField, def any) []cli.Flag {
	v := reflect.ValueOf(def)
	flags := make([]cli.Flag, len(fs))
	for i, f := range fs {
		flags[i] = fieldFlag(f, f.usage, v.Field(f.index))
	}
	return flags
}

// fieldFlag returns the flag of field f with help usage and default def. A
// list of integers ([]int) is one string flag, written "1,4,16".
func fieldFlag(f configField, usage string, def reflect.Value) cli.Flag {
	name, cat := f.flag(), f.topic
	switch def.Kind() {
	case reflect.Uint64:
		return &cli.Uint64Flag{Name: name, Usage: usage, Value: def.Uint(), Category: cat}
	case reflect.Int:
		return &cli.IntFlag{Name: name, Usage: usage, Value: int(def.Int()), Category: cat}
	case reflect.Float64:
		return &cli.Float64Flag{Name: name, Usage: usage, Value: def.Float(), Category: cat}
	case reflect.String:
		return &cli.StringFlag{Name: name, Usage: usage, Value: def.String(), Category: cat}
	case reflect.Bool:
		return &cli.BoolFlag{Name: name, Usage: usage, Value: def.Bool(), Category: cat}
	case reflect.Slice:
		if xs, ok := def.Interface().([]int); ok {
			return &cli.StringFlag{Name: name, Usage: usage, Value: joinInts(xs), Category: cat}
		}
	}
	panic(fmt.Sprintf("configflags: field %s has unsupported type %s", f.key, def.Type()))
}

// mapModes names modes for help texts.
func mapModes(modes []train.Mode) []string {
	out := make([]string, len(modes))
	for i, m := range modes {
		out[i] = map[train.Mode]string{train.SFT: "not with --from-samples", train.RFT: "with --from-samples only", train.GRPO: "train only"}[m]
	}
	return out
}

// applyFlags writes the flags of fs that the user set (on the command line
// or through the environment) over cfg, a pointer to their config struct,
// and returns the keys it set. A list that does not parse is a usage error.
func applyFlags(c *cli.Context, fs []configField, cfg any) ([]string, error) {
	var set []string
	v := reflect.ValueOf(cfg).Elem()
	for _, f := range fs {
		name := f.flag()
		if !c.IsSet(name) {
			continue
		}
		set = append(set, f.key)
		switch fv := v.Field(f.index); fv.Kind() {
		case reflect.Uint64:
			fv.SetUint(c.Uint64(name))
		case reflect.Int:
			fv.SetInt(int64(c.Int(name)))
		case reflect.Float64:
			fv.SetFloat(c.Float64(name))
		case reflect.String:
			fv.SetString(c.String(name))
		case reflect.Bool:
			fv.SetBool(c.Bool(name))
		case reflect.Slice: // []int, as fieldFlag declares it
			xs, err := parseInts(c.String(name))
			if err != nil {
				return set, usageError("--%s: %v", name, err)
			}
			fv.Set(reflect.ValueOf(xs))
		}
	}
	return set, nil
}

// appliesTo says whether the setting key applies to mode.
func appliesTo(key string, mode train.Mode) bool {
	f, ok := fieldByKey(key)
	return ok && slices.Contains(f.modes, mode)
}

// notForMode explains that key, set by how ("--group", "key \"group\" of
// FILE"), does not apply to mode.
func notForMode(cmd, how, key string, mode train.Mode) error {
	f, _ := fieldByKey(key)
	return usageError("%s: %s does not apply to %s: it is a setting of %s (see 'tinyr1 %s --help')",
		cmd, how, modeNames[mode], modesPhrase(f.modes), cmd)
}

// modesPhrase names the modes a setting applies to: "train (GRPO)",
// "sft and train (GRPO)".
func modesPhrase(modes []train.Mode) string {
	var where []string
	for _, m := range modes {
		switch {
		case m == train.RFT && slices.Contains(modes, train.SFT):
		case m == train.SFT && slices.Contains(modes, train.RFT):
			where = append(where, "sft")
		default:
			where = append(where, modeNames[m])
		}
	}
	return strings.Join(where, " and ")
}

// checkMode refuses the settings given by flag (set) or by the --config
// file (fileKeys) that do not apply to mode.
func checkMode(cmd string, mode train.Mode, set, fileKeys []string, file string) error {
	for _, k := range set {
		if !appliesTo(k, mode) {
			return notForMode(cmd, "--"+flagName(k), k, mode)
		}
	}
	for _, k := range fileKeys {
		if !appliesTo(k, mode) {
			return notForMode(cmd, fmt.Sprintf("key %q of --config %s", k, file), k, mode)
		}
	}
	return nil
}

// configFileKeys returns the keys of a --config file's bytes in file order.
// It is called after train.DecodeConfig accepted the same bytes, which
// checks that they hold one object.
func configFileKeys(raw []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("key %v: want a string", tok)
		}
		keys = append(keys, key)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// modeConfig returns cfg as config.json records it: the settings of mode,
// in field order, and nothing else, so that a run's config.json can serve
// as --config for another run of the same command.
func modeConfig(cfg train.Config, mode train.Mode) json.RawMessage {
	v := reflect.ValueOf(cfg)
	var b bytes.Buffer
	b.WriteByte('{')
	for _, f := range configFields {
		if !slices.Contains(f.modes, mode) {
			continue
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.key)
		val, err := json.Marshal(v.Field(f.index).Interface())
		if err != nil {
			panic(err) // plain numbers, strings and booleans
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(val)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// modeKeys returns the keys of mode's settings, for comparisons on resume.
func modeKeys(mode train.Mode) map[string]bool {
	keys := map[string]bool{}
	for _, f := range configFields {
		if slices.Contains(f.modes, mode) {
			keys[f.key] = true
		}
	}
	return keys
}
