package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"tinyr1/data"
)

var tasksCommand = &cli.Command{
	Name:  "tasks",
	Usage: "list, show, export and verify the verifiable task families",
	Subcommands: []*cli.Command{
		tasksListCommand,
		tasksShowCommand,
		tasksExportCommand,
		tasksVerifyCommand,
	},
}

var tasksListCommand = &cli.Command{
	Name:   "list",
	Usage:  "one line per family: name, levels, description",
	Action: tasksList,
}

var tasksShowCommand = &cli.Command{
	Name:      "show",
	Usage:     "print problems with their worked solutions and answers",
	ArgsUsage: "[FAMILY[:LEVEL]]",
	Flags:     []cli.Flag{familyFlag, levelFlag, splitFlag, countFlag, seedFlag},
	Action:    tasksShow,
}

var tasksExportCommand = &cli.Command{
	Name:      "export",
	Usage:     "write problems as JSON lines: family, level, split, key, prompt, answer, solution",
	ArgsUsage: "[FAMILY[:LEVEL]]",
	Flags:     []cli.Flag{familyFlag, levelFlag, splitFlag, countFlag, seedFlag, tasksFormatFlag},
	Action:    tasksExport,
}

var tasksVerifyCommand = &cli.Command{
	Name: "verify",
	Usage: "read JSON lines of problems with a \"completion\" field and write each back with " +
		"\"correct\", \"format_ok\" and \"reason\"",
	Flags:  []cli.Flag{inFlag},
	Action: tasksVerify,
}

func tasksList(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageError("tasks list: unexpected argument %q: want none", c.Args().First())
	}
	w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "FAMILY\tLEVELS\tDESCRIPTION")
	for _, f := range data.Families() {
		fmt.Fprintf(w, "%s\t1-%d\t%s\n", f.Name(), data.MaxLevel, f.Description())
	}
	return w.Flush()
}

// problemArgs is problemFlags for tasks show and export, where one
// positional FAMILY or FAMILY:LEVEL ("tasks show sort:3") may stand for
// --family and --level, and flags may follow it.
func problemArgs(c *cli.Context) (data.Family, int, data.Split, int, uint64, error) {
	pos, err := positionalArgs(c)
	if err != nil {
		return nil, 0, 0, 0, 0, err
	}
	if len(pos) > 1 {
		return nil, 0, 0, 0, 0, usageError("tasks %s: %d arguments %q: want at most one FAMILY or FAMILY:LEVEL", c.Command.Name, len(pos), pos)
	}
	return problemFlags(c, pos...)
}

// problemFlags reads and checks --family, --level, --split, --n and --seed;
// spec, if given, is FAMILY or FAMILY:LEVEL and replaces --family (and
// --level).
func problemFlags(c *cli.Context, spec ...string) (data.Family, int, data.Split, int, uint64, error) {
	family, level := c.String(familyFlag.Name), c.Int(levelFlag.Name)
	if len(spec) == 1 {
		fam, lv, hasLevel := cutFamilyLevel(spec[0])
		family = fam
		if hasLevel {
			var err error
			if level, err = strconv.Atoi(lv); err != nil {
				return nil, 0, 0, 0, 0, usageError("%s: level %q in %q: want an integer 1-%d", c.Command.Name, lv, spec[0], data.MaxLevel)
			}
		}
	}
	f, err := data.Lookup(family)
	if err != nil {
		return nil, 0, 0, 0, 0, usageError("--family: %v", err)
	}
	if err := data.CheckLevel(level); err != nil {
		return nil, 0, 0, 0, 0, usageError("--level: %v", err)
	}
	split, err := data.ParseSplit(c.String(splitFlag.Name))
	if err != nil {
		return nil, 0, 0, 0, 0, usageError("--split: %v", err)
	}
	n := c.Int(countFlag.Name)
	if n < 0 || n > 10_000_000 {
		return nil, 0, 0, 0, 0, usageError("--n = %d: want 0 to 10000000", n)
	}
	return f, level, split, n, c.Uint64(seedFlag.Name), nil
}

func tasksShow(c *cli.Context) error {
	f, level, split, n, seed, err := problemArgs(c)
	if err != nil {
		return err
	}
	w := c.App.Writer
	if line, ok := splitCounts(f, level); ok {
		fmt.Fprintln(w, line)
	}
	for i := range n {
		p, err := data.Generate(f, level, split, seed, uint64(i))
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "--- %s level %d %s #%d  key %s\n", p.Family, p.Level, p.Split, i, p.Key)
		fmt.Fprintf(w, "prompt:   %s\n", p.Prompt)
		fmt.Fprintf(w, "solution: %s\n", strings.ReplaceAll(p.Solution, "\n", "\n          "))
		fmt.Fprintf(w, "answer:   %s\n", p.Answer)
	}
	return nil
}

func tasksExport(c *cli.Context) error {
	f, level, split, n, seed, err := problemArgs(c)
	if err != nil {
		return err
	}
	switch format := c.String(tasksFormatFlag.Name); format {
	case "file":
		return exportDataset(c, f, level, split, n, seed)
	case "problem":
	default:
		return usageError("tasks export: --format %q: want problem or file", format)
	}
	bw := bufio.NewWriter(c.App.Writer)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i := range n {
		p, err := data.Generate(f, level, split, seed, uint64(i))
		if err != nil {
			return err
		}
		if err := enc.Encode(&p); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// verifyLine is one line of `tasks verify` input and output.
type verifyLine struct {
	data.Problem
	Completion string `json:"completion"`
	data.Verdict
	Line  int    `json:"line,omitempty"`
	Error string `json:"error,omitempty"`
}

// maxVerifyLine bounds one input line (a completion of 100 KB fits).
const maxVerifyLine = 4 << 20

func tasksVerify(c *cli.Context) error {
	if pos, err := positionalArgs(c); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError("tasks verify: unexpected argument %q: give the input file with --in", pos[0])
	}
	var r io.Reader = os.Stdin
	if c.App.Reader != nil {
		r = c.App.Reader
	}
	if name := c.String(inFlag.Name); name != "" && name != "-" {
		fh, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("tasks verify: %w", err)
		}
		defer fh.Close()
		r = fh
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxVerifyLine)
	bw := bufio.NewWriter(c.App.Writer)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	lineNo, bad := 0, 0
	for sc.Scan() {
		lineNo++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var in verifyLine
		out := verifyLine{Line: lineNo}
		if err := json.Unmarshal([]byte(text), &in); err != nil {
			bad++
			out.Error = fmt.Sprintf("line %d: not a JSON object with problem fields and \"completion\": %v", lineNo, err)
			out.Reason = "unreadable line"
		} else {
			out.Problem, out.Completion = in.Problem, in.Completion
			v, err := data.Verify(&in.Problem, in.Completion)
			if err != nil {
				bad++
				out.Error = fmt.Sprintf("line %d: %v", lineNo, err)
				out.Reason = "unknown family"
			} else {
				out.Verdict = v
				out.Line = 0
			}
		}
		if err := enc.Encode(&out); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("tasks verify: line %d is longer than %d bytes: want one JSON object per line", lineNo+1, maxVerifyLine)
		}
		return fmt.Errorf("tasks verify: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if bad > 0 {
		fmt.Fprintf(c.App.ErrWriter, "tinyr1: tasks verify: %d of %d lines could not be verified (see their \"error\" fields)\n", bad, lineNo)
	}
	return nil
}
