package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// usageErr marks an error in the command line itself (unknown flag, bad
// value, missing argument); run exits with status 2 for it.
type usageErr struct{ err error }

func (e *usageErr) Error() string { return e.err.Error() }
func (e *usageErr) Unwrap() error { return e.err }

// usageError returns a usage error with a one-line message saying what was
// found and what was expected.
func usageError(format string, args ...any) error {
	return &usageErr{fmt.Errorf(format, args...)}
}

// onUsageError turns urfave/cli's flag parsing errors into usage errors
// without printing the whole help text: one line is enough.
func onUsageError(c *cli.Context, err error, isSubcommand bool) error {
	msg := strings.TrimSpace(err.Error())
	name := "tinyr1"
	if c != nil && c.Command != nil && c.Command.HelpName != "" {
		name = c.Command.HelpName
	}
	if flag, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok && c != nil && c.Command != nil {
		flag = strings.TrimLeft(flag, "-")
		if err := otherCommandSetting(c.Command.Name, "--"+flag, strings.ReplaceAll(flag, "-", "_")); err != nil {
			return err
		}
	}
	return usageError("%s: %s (see '%s --help')", strings.TrimPrefix(name, "tinyr1 "), msg, name)
}

// otherCommandSetting explains that a setting given by how ("--beta",
// "environment variable TINYR1_SFT_BETA") for the config key key is not one
// of the training command cmd but of the other one; it returns nil when
// cmd is not a training command or key is not a config key.
func otherCommandSetting(cmd, how, key string) error {
	f, ok := fieldByKey(key)
	if !ok || (cmd != "sft" && cmd != "train") {
		return nil
	}
	return usageError("%s: %s does not apply to %s: it is a setting of %s (see 'tinyr1 %s --help')",
		cmd, how, cmd, modesPhrase(f.modes), cmd)
}

// onCommandNotFound records an unknown command as a usage error in the
// app's metadata; run reports it (urfave/cli gives this hook no error return).
func onCommandNotFound(c *cli.Context, name string) {
	cmds, help := c.App.Commands, "tinyr1 --help"
	if c.Command != nil && len(c.Command.Subcommands) > 0 && c.Command.Name != c.App.Name {
		cmds, help = c.Command.Subcommands, "tinyr1 "+c.Command.Name+" --help"
	}
	if s := suggestCommand(name, cmds); s != "" {
		c.App.Metadata[unknownCommandKey] = usageError("unknown command %q: did you mean %q? (see '%s')", name, s, help)
		return
	}
	c.App.Metadata[unknownCommandKey] = usageError("unknown command %q (see '%s')", name, help)
}

const unknownCommandKey = "unknown-command"
