package main

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/urfave/cli/v2"

	"tinyr1/checkpoints"
	"tinyr1/model"
	"tinyr1/rl/train"
)

// This file holds the command line's manners: named value placeholders in
// --help, --version, and "did you mean" for a mistyped command.

// placeholders names the value of a flag in --help ("--lr RATE"); flags
// not listed get one by their type: N for integers, X for other numbers.
var placeholders = map[string]string{
	"lr": "RATE", "min-lr": "RATE", "tasks": "MIX", "seed": "SEED",
	"preset": "NAME", "schedule": "NAME", "loss": "NAME", "scale": "NAME", "kl": "NAME", "reward": "NAME",
	"advantage": "NAME", "passk-k": "K",
	"out": "DIR", "resume": "RUN", "config": "FILE", "init": "CKPT", "from-samples": "CKPT",
	"family": "FAMILY", "level": "LEVEL", "split": "SPLIT", "in": "FILE", "prompt": "TEXT", "text": "TEXT",
	"file": "FILE", "format": "FORMAT", "eval": "FILE", "k": "LIST", "temperature": "T", "top-p": "P",
	"top-k": "K", "group": "G", "prompts": "P", "width": "INCHES", "height": "INCHES", "task-files": "PATH=HASH,...",
	"ratio-level": "NAME", "is-correction": "NAME", "is-cap": "C", "entropy-top-frac": "F",
}

// flagPlaceholders names the value of flags whose name means different
// things in different commands, by their help text (each command runs a
// copy of the declared flag: see commandsWithEnv).
var flagPlaceholders = map[string]string{outFlag.Usage: "RUN", evalOutFlag.Usage: "FILE", exportOutFlag.Usage: "DIR", reportOutFlag.Usage: "DIR"}

// placeholder returns the name of f's value in --help.
func placeholder(f cli.Flag) string {
	if u, ok := f.(interface{ GetUsage() string }); ok {
		if p, ok := flagPlaceholders[u.GetUsage()]; ok {
			return p
		}
	}
	if p, ok := placeholders[f.Names()[0]]; ok {
		return p
	}
	switch f.(type) {
	case *cli.IntFlag, *cli.Uint64Flag, *cli.Int64Flag, *cli.UintFlag:
		return "N"
	case *cli.Float64Flag:
		return "X"
	}
	return "VALUE"
}

// namedPlaceholders wraps a flag stringer so that urfave/cli's generic
// "value" placeholder becomes the flag's named one. A placeholder written
// in backquotes in the flag's Usage is kept as it is.
func namedPlaceholders(next cli.FlagStringFunc) cli.FlagStringFunc {
	return func(f cli.Flag) string {
		s := next(f)
		head, tail, ok := strings.Cut(s, "\t")
		if !ok || !strings.Contains(head, " value") {
			return s
		}
		return strings.ReplaceAll(head, " value", " "+placeholder(f)) + "\t" + tail
	}
}

func init() { cli.FlagStringer = namedPlaceholders(cli.FlagStringer) }

// versionString is what --version prints: the module version, the VCS
// revision, the Go version and platform, and the matrix kernel chosen at
// start-up, which bit-for-bit reproduction depends on.
func versionString() string {
	b := checkpoints.BuildInfo(train.Backend)
	or := func(s, none string) string {
		if s == "" {
			return none
		}
		return s
	}
	return fmt.Sprintf("%s, revision %s, %s %s/%s, matrix kernel %s",
		or(b.Module, "tinyr1 (unknown module version)"), or(b.Revision, "unknown"), b.GoVersion, runtime.GOOS, runtime.GOARCH, model.SgemmKernel())
}

// suggestCommand returns the command name closest to name (at most two
// edits away, or name is a prefix of it), or "".
func suggestCommand(name string, cmds []*cli.Command) string {
	best, bestD := "", 3
	for _, c := range cmds {
		for _, n := range c.Names() {
			d := editDistance(name, n)
			if strings.HasPrefix(n, name) && name != "" {
				d = min(d, 1)
			}
			if d < bestD {
				best, bestD = n, d
			}
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
