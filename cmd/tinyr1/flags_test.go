package main

import (
	"os"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestEnvNamesPerCommand checks the naming scheme: every flag of every
// command reads exactly TINYR1_<COMMAND>_<FLAG>, no two flags anywhere
// read the same variable, and no flag value is shared between commands.
func TestEnvNamesPerCommand(t *testing.T) {
	seen := map[string]string{}
	owner := map[cli.Flag]string{}
	var walk func(path []string, cmds []*cli.Command)
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			p := append(append([]string(nil), path...), c.Name)
			cmd := strings.Join(p, " ")
			for _, f := range c.Flags {
				name := f.Names()[0]
				want := "TINYR1_" + strings.ToUpper(strings.ReplaceAll(strings.Join(p, "_")+"_"+name, "-", "_"))
				envs := f.(interface{ GetEnvVars() []string }).GetEnvVars()
				if len(envs) != 1 || envs[0] != want {
					t.Errorf("%s --%s reads %q, want [%s]", cmd, name, envs, want)
					continue
				}
				if other, dup := seen[want]; dup {
					t.Errorf("%s is read by %s and by %s --%s", want, other, cmd, name)
				}
				seen[want] = cmd + " --" + name
				if other, dup := owner[f]; dup {
					t.Errorf("%s --%s is the flag value of %s too", cmd, name, other)
				}
				owner[f] = cmd
			}
			walk(p, c.Subcommands)
		}
	}
	walk(nil, newApp().Commands)
	for _, name := range []string{"TINYR1_TRAIN_SEED", "TINYR1_SFT_SEED", "TINYR1_EVAL_SEED", "TINYR1_SAMPLE_SEED", "TINYR1_TASKS_SHOW_SEED", "TINYR1_TASKS_EXPORT_SEED"} {
		if seen[name] == "" {
			t.Errorf("no flag reads %s", name)
		}
	}
}

// TestEnvScheme runs commands with variables set: each command reads its
// own, a flag wins over its variable, another command's variable changes
// nothing, and an old name (TINYR1_SEED), a setting of the other training
// command and an unknown name in a command's namespace are refused.
func TestEnvScheme(t *testing.T) {
	show := []string{"tasks", "show", "add:2", "--n", "1"}
	_, plain, _ := runApp(t, show...)
	_, seeded, _ := runApp(t, append(show, "--seed", "7")...)
	if plain == seeded {
		t.Fatal("tasks show --seed 7 prints what --seed 0 does; the test needs a seed that matters")
	}
	for _, tc := range []struct {
		env, val string
		args     []string
		want     string // stdout
	}{
		{"TINYR1_TASKS_SHOW_SEED", "7", show, seeded},
		{"TINYR1_TASKS_SHOW_SEED", "7", append(show, "--seed", "0"), plain},
		{"TINYR1_TRAIN_SEED", "7", show, plain},
		{"TINYR1_EVAL_SEED", "7", show, plain},
	} {
		t.Setenv(tc.env, tc.val)
		code, stdout, stderr := runApp(t, tc.args...)
		if code != 0 || stdout != tc.want {
			t.Errorf("%s=%s %q: exit %d, stderr %q, stdout %q: want %q", tc.env, tc.val, tc.args, code, stderr, stdout, tc.want)
		}
		os.Unsetenv(tc.env)
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		env, val string
		args     []string
		want     string // stderr, one line, exit status 2
	}{
		{"TINYR1_SEED", "7", show, "environment variable TINYR1_SEED is not read: want TINYR1_TASKS_SHOW_SEED"},
		{"TINYR1_SEED", "7", []string{"train", "--init", evalFixture, "--out", dir + "/a"}, "want TINYR1_TRAIN_SEED"},
		{"TINYR1_TRAIN_LOSS", "ppo", []string{"train", "--init", evalFixture, "--out", dir + "/b"}, "ppo"},
		{"TINYR1_SFT_LOSS", "dapo", []string{"sft", "--out", dir + "/c"}, "sft: environment variable TINYR1_SFT_LOSS does not apply to sft: it is a setting of train"},
		{"TINYR1_SFT_GROUP", "4", []string{"sft", "--out", dir + "/d"}, "sft: --group does not apply to sft without --from-samples"},
		{"TINYR1_EVAL_BOGUS", "1", []string{"eval", evalFixture}, "eval: environment variable TINYR1_EVAL_BOGUS names no flag of eval"},
	} {
		t.Setenv(tc.env, tc.val)
		code, _, stderr := runApp(t, tc.args...)
		if code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s=%s %q: exit %d, stderr %q: want exit 2 and one line with %q", tc.env, tc.val, tc.args, code, stderr, tc.want)
		}
		os.Unsetenv(tc.env)
	}
}
