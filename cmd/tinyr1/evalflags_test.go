package main

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"tinyr1/rl/eval"
)

// evalNotSettings are the flags of eval that are not EvalConfig fields.
var evalNotSettings = []string{"json", "csv", "out", "log-samples", "quiet"}

// TestEvalFlagPerSetting checks, from EvalConfig's tags rather than from
// the code that reads them, that every field of EvalConfig is exactly one
// flag of eval, with the field's usage as help, its topic as section and
// eval.DefaultEvalConfig's value as default, that a field without tags is
// noticed, and that eval declares no other flag than its non-settings.
func TestEvalFlagPerSetting(t *testing.T) {
	var cmd *cli.Command
	for _, c := range newApp().Commands {
		if c.Name == "eval" {
			cmd = c
		}
	}
	def := reflect.ValueOf(eval.DefaultEvalConfig())
	typ := def.Type()
	settings := map[string]bool{}
	for i := range typ.NumField() {
		sf := typ.Field(i)
		key := strings.Split(sf.Tag.Get("json"), ",")[0]
		name := sf.Tag.Get("flag")
		if name == "-" {
			if slices.ContainsFunc(cmd.Flags, func(f cli.Flag) bool { return f.Names()[0] == flagName(key) }) {
				t.Errorf("EvalConfig.%s says flag:\"-\" but eval has a flag --%s", sf.Name, flagName(key))
			}
			continue
		}
		if name == "" {
			name = flagName(key)
		}
		usage, topic := sf.Tag.Get("usage"), sf.Tag.Get("topic")
		if key == "" || usage == "" || topic == "" {
			t.Errorf("EvalConfig.%s has json %q, usage %q, topic %q: want all three tags, or flag:\"-\"", sf.Name, key, usage, topic)
			continue
		}
		settings[name] = true
		var found []cli.Flag
		for _, f := range cmd.Flags {
			if slices.Contains(f.Names(), name) {
				found = append(found, f)
			}
		}
		if len(found) != 1 {
			t.Errorf("EvalConfig.%s: eval has %d flags --%s, want 1", sf.Name, len(found), name)
			continue
		}
		fv := reflect.ValueOf(found[0]).Elem()
		if got := fv.FieldByName("Usage").String(); got != usage {
			t.Errorf("eval --%s: usage %q, want %q", name, got, usage)
		}
		if got := fv.FieldByName("Category").String(); got != topic {
			t.Errorf("eval --%s: category %q, want %q", name, got, topic)
		}
		want := def.Field(i).Interface()
		if ks, ok := want.([]int); ok {
			want = joinInts(ks)
		}
		if got := fv.FieldByName("Value").Interface(); got != want {
			t.Errorf("eval --%s: default %v, want %v (eval.DefaultEvalConfig)", name, got, want)
		}
	}
	for _, f := range cmd.Flags {
		if name := f.Names()[0]; !settings[name] && !slices.Contains(evalNotSettings, name) {
			t.Errorf("eval --%s is neither an EvalConfig field nor one of %q", name, evalNotSettings)
		}
	}
}

// TestStructFieldsRefusesUntagged checks that a config field without a
// usage or topic tag stops the program instead of going without a flag.
func TestStructFieldsRefusesUntagged(t *testing.T) {
	for _, typ := range []reflect.Type{
		reflect.TypeOf(struct {
			A int `json:"a"`
		}{}),
		reflect.TypeOf(struct {
			A int `json:"a" usage:"a setting"`
		}{}),
		reflect.TypeOf(struct {
			A int `json:"a" topic:"Run"`
		}{}),
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("structFields(%s) did not panic: want a panic naming the untagged field", typ)
				}
			}()
			structFields(typ)
		}()
	}
	if fs := structFields(reflect.TypeOf(struct {
		A int    `json:"a_b" usage:"a" topic:"Run"`
		B string `json:"b" flag:"-"`
		C []int  `json:"cs" flag:"c" usage:"c" topic:"Run"`
	}{})); len(fs) != 2 || fs[0].flag() != "a-b" || fs[1].flag() != "c" {
		t.Errorf("structFields: got %+v, want flags a-b and c", fs)
	}
}

// TestEvalSettingsReachConfig sets each eval setting to a value other than
// the base run's, by its flag and by its environment variable
// (TINYR1_EVAL_<FLAG>), and checks the value in the config eval --json
// reports.
func TestEvalSettingsReachConfig(t *testing.T) {
	base := map[string]string{"tasks": "add:1", "problems": "2", "n": "2", "k": "1,2", "max-new": "8", "workers": "1"}
	type setting struct {
		key, flag, val string
		want           any // the config's value
	}
	cases := []setting{
		{"tasks", "tasks", "add:2", "add:2"},
		{"split", "split", "validation", "validation"},
		{"problems", "problems", "3", 3},
		{"n", "n", "4", 4},
		{"ks", "k", "2", []int{2}},
		{"temperature", "temperature", "0.5", 0.5},
		{"top_p", "top-p", "0.9", 0.9},
		{"greedy", "greedy", "false", false},
		{"seed", "seed", "7", 7},
		{"max_new", "max-new", "9", 9},
		{"workers", "workers", "2", 2},
	}
	for _, f := range evalFields {
		if !slices.ContainsFunc(cases, func(tc setting) bool { return tc.key == f.key && tc.flag == f.flag() }) {
			t.Errorf("EvalConfig setting %s (--%s) is not in the table: add it", f.key, f.flag())
		}
	}
	// config runs eval and returns the config it reports, as JSON values.
	config := func(args ...string) map[string]any {
		t.Helper()
		code, stdout, stderr := runCLI(t, append([]string{"eval", evalFixture, "--json", "--quiet"}, args...)...)
		var out struct {
			Config map[string]any `json:"config"`
		}
		if err := json.Unmarshal([]byte(stdout), &out); code != 0 || err != nil {
			t.Fatalf("eval %q: exit %d, stderr %q", args, code, stderr)
		}
		return out.Config
	}
	for _, tc := range cases {
		var args []string
		for name, v := range base {
			if name != tc.flag {
				args = append(args, "--"+name+"="+v)
			}
		}
		ref := slices.Clone(args)
		if v, ok := base[tc.flag]; ok {
			ref = append(ref, "--"+tc.flag+"="+v)
		}
		without := config(ref...)[tc.key]
		var want any
		raw, _ := json.Marshal(tc.want)
		json.Unmarshal(raw, &want)
		if reflect.DeepEqual(without, want) {
			t.Fatalf("--%s: the base run has %v already: want a value that changes it", tc.flag, want)
		}
		env := envName([]string{"eval"}, tc.flag)
		if got := config(append(args, "--"+tc.flag+"="+tc.val)...)[tc.key]; !reflect.DeepEqual(got, want) {
			t.Errorf("--%s=%s: config %s = %v, want %v", tc.flag, tc.val, tc.key, got, want)
		}
		t.Setenv(env, tc.val)
		if got := config(args...)[tc.key]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s=%s: config %s = %v, want %v", env, tc.val, tc.key, got, want)
		}
		os.Unsetenv(env)
	}
}
