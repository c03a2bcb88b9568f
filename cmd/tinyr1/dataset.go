package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"tinyr1/data"
)

// Dataset files (data.FileFamily) on the command line: the family
// "file:PATH" wherever a family or a task mixture is given.

var tasksFormatFlag = &cli.StringFlag{Name: "format", Category: catOutput, Value: "problem",
	Usage: "problem: every field of a problem (what tasks verify reads); file: dataset lines (prompt, answer, kind, solution, level, id, family) for --tasks file:PATH"}

// cutFamilyLevel splits FAMILY[:LEVEL]; the family of a dataset file is
// file:PATH, so its level follows a second ':'.
func cutFamilyLevel(spec string) (family, level string, hasLevel bool) {
	if rest, ok := strings.CutPrefix(spec, data.FilePrefix); ok {
		path, lv, has := strings.Cut(rest, ":")
		return data.FilePrefix + path, lv, has
	}
	return strings.Cut(spec, ":")
}

// splitCounts is one line of how many distinct problems level of a dataset
// file has in each split, e.g. "file:x.jsonl level 1: 160 train, 21
// validation, 19 test problems".
func splitCounts(f data.Family, level int) (string, bool) {
	if _, finite := data.Distinct(f, level, data.Train); !finite {
		return "", false
	}
	var parts []string
	for _, s := range []data.Split{data.Train, data.Validation, data.Test} {
		n, _ := data.Distinct(f, level, s)
		parts = append(parts, fmt.Sprintf("%d %s", n, s))
	}
	return fmt.Sprintf("%s level %d: %s problems", f.Name(), level, strings.Join(parts, ", ")), true
}

// printFileSplits writes splitCounts for every dataset file item of a task
// mixture. (eval itself warns of a level with fewer distinct problems than
// --problems, for every family.)
func printFileSplits(w io.Writer, cmd, tasks string) {
	mix, err := data.ParseMixture(tasks)
	if err != nil {
		return
	}
	for _, it := range mix {
		f, err := data.Lookup(it.Family)
		if err != nil {
			continue
		}
		if line, ok := splitCounts(f, it.Level); ok {
			fmt.Fprintf(w, "%s: %s\n", cmd, line)
		}
	}
}

// exportDataset writes n problems as dataset lines, each problem once: a
// generated stream may repeat a problem, and a dataset file refuses repeats.
func exportDataset(c *cli.Context, f data.Family, level int, split data.Split, n int, seed uint64) error {
	bw := bufio.NewWriter(c.App.Writer)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	seen := map[string]bool{}
	repeats := 0
	for i := range n {
		p, err := data.Generate(f, level, split, seed, uint64(i))
		if err != nil {
			return err
		}
		if seen[p.Key] || seen["\x00"+p.Prompt] {
			repeats++
			continue
		}
		seen[p.Key], seen["\x00"+p.Prompt] = true, true
		l, err := data.DatasetLineOf(&p)
		if err != nil {
			return usageError("tasks export --format file: %v", err)
		}
		if err := enc.Encode(&l); err != nil {
			return err
		}
	}
	if repeats > 0 {
		fmt.Fprintf(c.App.ErrWriter, "tinyr1: tasks export: %d of %d problems were repeats and are written once\n", repeats, n)
	}
	return bw.Flush()
}
