package main

import (
	"os"
	"reflect"
	"strings"

	"github.com/urfave/cli/v2"
)

// Flag categories shown by --help.
const (
	catData   = "Data"
	catOutput = "Output"
)

// Every flag of every command reads one environment variable, named by
// the command's path and the flag's name: TINYR1_<COMMAND>_<FLAG>, upper
// case, dashes as underscores ("train --max-new" reads TINYR1_TRAIN_MAX_NEW,
// "tasks show --seed" TINYR1_TASKS_SHOW_SEED). Flags are declared without
// one, once, and commandsWithEnv gives each command its own copy named so;
// no two commands read the same variable. A flag set on the command line wins
// over its variable. A variable in a command's namespace that names none
// of its flags is refused, and so is one of the old names without the
// command (TINYR1_SEED), which no command reads.

// envPrefix is the namespace of a command's variables: TINYR1_TRAIN_.
func envPrefix(path []string) string {
	return "TINYR1_" + strings.ToUpper(strings.Join(path, "_")) + "_"
}

// envName is the variable of flag in the command at path.
func envName(path []string, flag string) string {
	return envPrefix(path) + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// commandsWithEnv returns copies of cmds (and of their subcommands, below
// path) whose flags are copies with their environment variables, and whose
// leaf commands check their namespace. The declarations stay as they are:
// one flag may serve several commands, and urfave/cli writes into the flags
// and commands it runs (a value read from the environment becomes the
// flag's default), which must not leak from one run of newApp to the next.
func commandsWithEnv(path []string, cmds []*cli.Command) []*cli.Command {
	out := make([]*cli.Command, len(cmds))
	for i, c := range cmds {
		cp := *c
		p := append(append([]string(nil), path...), c.Name)
		cp.Flags = make([]cli.Flag, len(c.Flags))
		for j, f := range c.Flags {
			cp.Flags[j] = withEnv(f, envName(p, f.Names()[0]))
		}
		if len(c.Subcommands) > 0 {
			cp.Subcommands = commandsWithEnv(p, c.Subcommands)
		} else {
			cp.Before = checkEnvBefore(p)
		}
		out[i] = &cp
	}
	return out
}

// withEnv returns a copy of flag f reading the variable name.
func withEnv(f cli.Flag, name string) cli.Flag {
	v := reflect.ValueOf(f)
	cp := reflect.New(v.Elem().Type())
	cp.Elem().Set(v.Elem())
	cp.Elem().FieldByName("EnvVars").Set(reflect.ValueOf([]string{name}))
	return cp.Interface().(cli.Flag)
}

// checkEnvBefore returns the Before hook of the command at path: it
// refuses variables of the command's namespace that name none of its
// flags, and the old per-flag names (TINYR1_SEED) of its flags.
func checkEnvBefore(path []string) cli.BeforeFunc {
	return func(c *cli.Context) error {
		return checkEnv(path, c.Command.Flags, os.Environ())
	}
}

// checkEnv checks environ (KEY=VALUE lines) for the command at path with
// flags.
func checkEnv(path []string, flags []cli.Flag, environ []string) error {
	cmd := strings.Join(path, " ")
	prefix := envPrefix(path)
	known := map[string]bool{}
	old := map[string]string{}
	for _, f := range flags {
		known[envName(path, f.Names()[0])] = true
		old["TINYR1_"+strings.ToUpper(strings.ReplaceAll(f.Names()[0], "-", "_"))] = envName(path, f.Names()[0])
	}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if v == "" {
			continue // set to nothing: unset, as a shell user means it
		}
		if want, ok := old[k]; ok {
			return usageError("%s: environment variable %s is not read: want %s (variables are per command: TINYR1_<COMMAND>_<FLAG>)", cmd, k, want)
		}
		if !strings.HasPrefix(k, prefix) || known[k] {
			continue
		}
		if err := otherCommandSetting(cmd, "environment variable "+k, strings.ToLower(strings.TrimPrefix(k, prefix))); err != nil {
			return err
		}
		return usageError("%s: environment variable %s names no flag of %s: want one of its flags' variables (see 'tinyr1 %s --help')", cmd, k, cmd, cmd)
	}
	return nil
}

// Flags shared by several commands are declared once here.
var (
	familyFlag = &cli.StringFlag{Name: "family", Aliases: []string{"f"}, Category: catData,
		Usage: "task family (see 'tinyr1 tasks list')", Value: "add"}
	levelFlag = &cli.IntFlag{Name: "level", Aliases: []string{"l"}, Category: catData,
		Usage: "difficulty level 1-5 (5 is out-of-distribution)", Value: 1}
	splitFlag = &cli.StringFlag{Name: "split", Category: catData,
		Usage: "data split: train, validation or test", Value: "train"}
	countFlag = &cli.IntFlag{Name: "n", Category: catData,
		Usage: "number of problems", Value: 5}
	seedFlag = &cli.Uint64Flag{Name: "seed", Category: catData,
		Usage: "seed of the problem stream", Value: 0}
	inFlag = &cli.StringFlag{Name: "in", Category: catData,
		Usage: "input file of JSON lines; - or empty reads standard input", Value: "-"}
	jsonFlag = &cli.BoolFlag{Name: "json", Category: catOutput,
		Usage: "write JSON instead of text", Value: false}
)
