// Command tinyr1 teaches a small transformer to reason with reinforcement
// learning on verifiable rewards. This file only wires the commands; each
// command group lives in a file of its own.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
)

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// commands are tinyr1's commands as declared; newApp runs copies of them
// whose flags read their environment variables (flags.go).
var commands = []*cli.Command{
	tasksCommand,
	sftCommand,
	trainCommand,
	evalCommand, sampleCommand, scoreCommand, reportCommand,
	inspectCommand, exportCommand,
	sweepCommand,
}

// newApp builds the application; tests run it in-process.
func newApp() *cli.App {
	app := &cli.App{
		Name:                 "tinyr1",
		Usage:                "teach a tiny transformer to reason with RL on verifiable rewards",
		Version:              versionString(),
		EnableBashCompletion: true,
		Commands:             commandsWithEnv(nil, commands),
		OnUsageError:         onUsageError,
		CommandNotFound:      onCommandNotFound,
		ExitErrHandler: func(*cli.Context, error) {
			// run decides the exit status; the default handler would call os.Exit.
		},
	}
	setUsageErrorHandler(app.Commands)
	cli.VersionPrinter = func(c *cli.Context) { fmt.Fprintln(c.App.Writer, "tinyr1", c.App.Version) }
	return app
}

// setUsageErrorHandler makes every command report flag errors in one line
// with exit status 2 instead of printing its whole help text.
func setUsageErrorHandler(cmds []*cli.Command) {
	for _, c := range cmds {
		if c.OnUsageError == nil {
			c.OnUsageError = onUsageError
		}
		setUsageErrorHandler(c.Subcommands)
	}
}

// run executes the app and maps errors to exit statuses: 2 for usage errors
// (unknown flags, bad values), 1 for everything else.
func run(args []string, stdout, stderr *os.File) int {
	app := newApp()
	app.Writer = stdout
	app.ErrWriter = stderr
	app.Metadata = map[string]any{}
	err := app.Run(args)
	if e, ok := app.Metadata[unknownCommandKey].(error); ok && err == nil {
		err = e
	}
	if err == nil {
		return 0
	}
	var ie *interruptedErr
	if errors.As(err, &ie) {
		fmt.Fprintf(stderr, "tinyr1: %v\n", ie.msg)
		return 130
	}
	var ue *usageErr
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "tinyr1: %v\n", ue.err)
		return 2
	}
	fmt.Fprintf(stderr, "tinyr1: %v\n", err)
	return 1
}
