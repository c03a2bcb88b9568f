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
	Usage:  "the families, their levels, notation and answer form",
	Action: tasksList,
}

var tasksShowCommand = &cli.Command{
	Name:      "show",
	Usage:     "a family's notation, then problems with worked solutions",
	ArgsUsage: "[FAMILY[:LEVEL]]",
	Flags:     []cli.Flag{familyFlag, levelFlag, splitFlag, countFlag, seedFlag},
	Action:    tasksShow,
}

var tasksExportCommand = &cli.Command{
	Name:        "export",
	Usage:       "write problems as JSON lines",
	Description: "Each line holds family, level, split, key, prompt, answer and solution\n(--format file: the dataset-file format that file:PATH reads).",
	ArgsUsage:   "[FAMILY[:LEVEL]]",
	Flags:       []cli.Flag{familyFlag, levelFlag, splitFlag, countFlag, seedFlag, tasksFormatFlag},
	Action:      tasksExport,
}

var tasksVerifyCommand = &cli.Command{
	Name:  "verify",
	Usage: "score completions (JSON lines) with the verifiers",
	Description: "Reads JSON lines of problems (family, key, answer, optional prompt) with a \"completion\" and\n" +
		"writes each back with \"correct\", \"format_ok\", \"reason\" and \"canonical\".\n" +
		"Each line must agree with itself: \"answer\" must be an answer the verifier accepts for \"key\", and\n" +
		"\"prompt\", when present, must state the key's problem. A line that does not (or lacks a key or an\n" +
		"answer, names an unknown family or is not JSON) is an input error, not a model failure: its output\n" +
		"line has \"line\" and \"error\" (what was found, what was expected) and no verdict.\n" +
		"Exit status: 0 when the whole input was read (input errors are counted on stderr), 1 when it\n" +
		"could not be read, 2 for a bad flag or argument.",
	Flags:  []cli.Flag{inFlag},
	Action: tasksVerify,
}

func tasksList(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageError("tasks list: unexpected argument %q: want none", c.Args().First())
	}
	w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "FAMILY\tTRAIN\tTEST ONLY\tDESCRIPTION")
	for _, f := range data.Families() {
		fmt.Fprintf(w, "%s\t1-%d\t%d\t%s\n", f.Name(), data.MaxLevel-1, data.MaxLevel, f.Description())
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "\nLevels 1-%d are for training; level %d is out of distribution, for tests only (eval, sample, tasks).\n",
		data.MaxLevel-1, data.MaxLevel)
	fmt.Fprintln(c.App.Writer, "A completion is <think>...</think><answer>ANSWER</answer>; ANSWER takes each family's form below.")
	for _, f := range data.Families() {
		fmt.Fprintf(c.App.Writer, "\n%s\n%s\n", f.Name(), indent(f.Notation()))
	}
	return nil
}

// indent prefixes every line of s with two spaces.
func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
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
	fmt.Fprintf(w, "%s: %s\n%s\n", f.Name(), f.Description(), indent(f.Notation()))
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

// verifyLine is one line of `tasks verify` input and output. An output
// line with an input error has Line and Error and no verdict.
type verifyLine struct {
	data.Problem
	Completion string `json:"completion"`
	*data.Verdict
	Canonical string `json:"canonical,omitempty"` // the answer as the verifier reads it; what maj@k votes on
	Line      int    `json:"line,omitempty"`
	Error     string `json:"error,omitempty"`
}

// checkVerifyLine applies tasks verify's input rule to one parsed line:
// a known family, a key, an answer that the verifier accepts for the key
// and, when a prompt is given, a prompt that states the key's problem. It
// returns "" or what is wrong, saying what was found and what was expected.
func checkVerifyLine(p *data.Problem) string {
	f, err := data.Lookup(p.Family)
	if err != nil {
		return err.Error()
	}
	if p.Key == "" {
		return `no "key": want the problem's key, as tasks export writes it`
	}
	if p.Answer == "" {
		return fmt.Sprintf(`key %q but no "answer": want the key's gold answer, as tasks export writes it`, p.Key)
	}
	if p.Prompt != "" {
		key, ok := f.KeyOfPrompt(p.Prompt)
		if !ok {
			return fmt.Sprintf("prompt %q is not a %s prompt: want one as tasks export writes it (tinyr1 tasks list)", p.Prompt, p.Family)
		}
		if key != p.Key {
			return fmt.Sprintf("prompt %q states the problem %q, but the key is %q: want the prompt and key of one problem", p.Prompt, key, p.Key)
		}
	}
	gold := data.TagThinkOpen + data.TagThinkClose + data.TagAnswerOpen + p.Answer + data.TagAnswerClose
	if v := f.Verify(p, gold); !v.Correct {
		return fmt.Sprintf("answer %q is not an answer to key %q (the verifier says %q): want the key's gold answer", p.Answer, p.Key, v.Reason)
	}
	return ""
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
		} else {
			out.Problem, out.Completion = in.Problem, in.Completion
			if msg := checkVerifyLine(&in.Problem); msg != "" {
				bad++
				out.Error = fmt.Sprintf("line %d: %s", lineNo, msg)
			} else {
				v, err := data.Verify(&in.Problem, in.Completion)
				if err != nil {
					return err // cannot happen: checkVerifyLine looked the family up
				}
				canon, _ := data.Canonical(&in.Problem, in.Completion)
				out.Verdict, out.Canonical, out.Line = &v, canon, 0
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
		fmt.Fprintf(c.App.ErrWriter, "tinyr1: tasks verify: %d of %d lines are input errors, not verified (see their \"error\" fields)\n", bad, lineNo)
	}
	return nil
}
