package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// positionalArgs returns the command's positional arguments after applying
// any flags written among or after them ("eval CKPT --n 8"): urfave/cli v2
// stops parsing flags at the first argument. "--" ends the flags. An unknown
// flag or a bad value is a usage error (exit status 2).
func positionalArgs(c *cli.Context) ([]string, error) {
	name := c.Command.Name
	var pos []string
	args := c.Args().Slice()
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		key, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := lookupFlag(c.Command.Flags, key)
		if f == nil {
			return nil, usageError("%s: unknown flag %s (see 'tinyr1 %s --help')", name, a, name)
		}
		if _, isBool := f.(*cli.BoolFlag); isBool && !hasVal {
			val, hasVal = "true", true
		}
		if !hasVal {
			if i+1 == len(args) {
				return nil, usageError("%s: flag %s needs a value", name, a)
			}
			i++
			val = args[i]
		}
		// Set the flag by its first name: urfave/cli reads a flag through
		// that name, and setting an alias ("-l") alone would be lost.
		if err := c.Set(f.Names()[0], val); err != nil {
			return nil, usageError("%s: flag %s: %v", name, a, err)
		}
	}
	return pos, nil
}

// lookupFlag returns the flag called name, or nil.
func lookupFlag(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}
