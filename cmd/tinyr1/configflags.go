package main

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/urfave/cli/v2"

	"tinyr1/rl/train"
)

// Every train.Config field is one flag, named after its config-file key with
// dashes (max_new -> --max-new), with the field's usage tag as help and the
// command's default as default. Flags are derived from the struct so that a
// setting is declared exactly once.

const catTrain = "Training"

// flagName turns a config key into a flag name.
func flagName(key string) string { return strings.ReplaceAll(key, "_", "-") }

// configFlags returns one flag per config field with defaults from def.
func configFlags(def train.Config) []cli.Flag {
	var flags []cli.Flag
	v := reflect.ValueOf(def)
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		key := strings.Split(f.Tag.Get("json"), ",")[0]
		name := flagName(key)
		usage := f.Tag.Get("usage")
		envs := env(strings.ToUpper(key))
		switch fv := v.Field(i); fv.Kind() {
		case reflect.Uint64:
			flags = append(flags, &cli.Uint64Flag{Name: name, Usage: usage, Value: fv.Uint(), Category: catTrain, EnvVars: envs})
		case reflect.Int:
			flags = append(flags, &cli.IntFlag{Name: name, Usage: usage, Value: int(fv.Int()), Category: catTrain, EnvVars: envs})
		case reflect.Float64:
			flags = append(flags, &cli.Float64Flag{Name: name, Usage: usage, Value: fv.Float(), Category: catTrain, EnvVars: envs})
		case reflect.String:
			flags = append(flags, &cli.StringFlag{Name: name, Usage: usage, Value: fv.String(), Category: catTrain, EnvVars: envs})
		case reflect.Bool:
			flags = append(flags, &cli.BoolFlag{Name: name, Usage: usage, Value: fv.Bool(), Category: catTrain, EnvVars: envs})
		default:
			panic(fmt.Sprintf("configflags: field %s has unsupported kind %s", f.Name, fv.Kind()))
		}
	}
	return flags
}

// applyFlags writes the flags the user set (on the command line or through
// the environment) over cfg and returns the names it set.
func applyFlags(c *cli.Context, cfg *train.Config) []string {
	var set []string
	v := reflect.ValueOf(cfg).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		key := strings.Split(t.Field(i).Tag.Get("json"), ",")[0]
		name := flagName(key)
		if !c.IsSet(name) {
			continue
		}
		set = append(set, name)
		switch fv := v.Field(i); fv.Kind() {
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
		}
	}
	return set
}
