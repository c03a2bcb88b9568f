package main

import (
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestHelpIsShortAndNamed checks every command's one-line usage (at most
// 80 characters as --help prints it, indented by three spaces under NAME)
// and that every flag taking a value names it (--lr RATE), not urfave/cli's
// generic "value".
func TestHelpIsShortAndNamed(t *testing.T) {
	app := newApp()
	const indent = "   "
	if line := indent + "tinyr1 - " + app.Usage; len(line) > 80 {
		t.Errorf("app usage is %d characters: %q", len(line), line)
	}
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			name := prefix + " " + c.Name
			if line := indent + name + " - " + c.Usage; len(line) > 80 {
				t.Errorf("%s: usage line is %d characters, want at most 80: %q", name, len(line), line)
			}
			for _, f := range c.Flags {
				s := cli.FlagStringer(f)
				head, _, _ := strings.Cut(s, "\t")
				if strings.Contains(head, " value") || strings.Contains(head, " VALUE") {
					t.Errorf("%s: flag %q has no named placeholder", name, head)
				}
			}
			walk(name, c.Subcommands)
		}
	}
	walk("tinyr1", app.Commands)
	s := cli.FlagStringer(&cli.Float64Flag{Name: "lr", Usage: "peak learning rate"})
	if !strings.HasPrefix(s, "--lr RATE\t") {
		t.Errorf("--lr prints as %q, want --lr RATE", s)
	}
}

// TestVersionAndDidYouMean checks --version and the suggestion for a
// mistyped command.
func TestVersionAndDidYouMean(t *testing.T) {
	code, stdout, stderr := runApp(t, "--version")
	if code != 0 || !strings.Contains(stdout, "revision") || !strings.Contains(stdout, "matrix kernel") {
		t.Errorf("--version: exit %d, stdout %q, stderr %q: want the module, revision and matrix kernel", code, stdout, stderr)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"evl"}, `unknown command "evl": did you mean "eval"?`},
		{[]string{"tasks", "shwo"}, `unknown command "shwo": did you mean "show"? (see 'tinyr1 tasks --help')`},
		{[]string{"xyzzy"}, `unknown command "xyzzy" (see 'tinyr1 --help')`},
	} {
		code, _, stderr := runApp(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q: want exit 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}
