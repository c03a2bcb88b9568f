package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"tinyr1/rl/report"
)

var reportDefaults = report.DefaultReportConfig()

var (
	reportOutFlag = &cli.StringFlag{Name: "out", Category: catOutput,
		Usage: "folder to write the plots, summary.md and eval_summary.csv into, created if missing (required)"}
	reportEvalFlag = &cli.StringSliceFlag{Name: "eval", Category: catData,
		Usage: "eval JSON file (tinyr1 eval --json) for the summary, besides each RUN/eval/*.json; repeatable"}
	reportFormatFlag = &cli.StringFlag{Name: "format", Category: catOutput,
		Usage: "comma-separated image formats: png, svg, pdf, jpg", Value: strings.Join(reportDefaults.Formats, ",")}
	reportWidthFlag = &cli.Float64Flag{Name: "width", Category: catOutput,
		Usage: "plot width in inches", Value: reportDefaults.Width}
	reportHeightFlag = &cli.Float64Flag{Name: "height", Category: catOutput,
		Usage: "plot height in inches", Value: reportDefaults.Height}
)

var reportCommand = &cli.Command{
	Name:  "report",
	Usage: "plot training runs and tabulate their evaluations",
	Description: "Plots every training metric (reward, validation pass@1, KL, entropy, length, clipping, " +
		"zero-variance groups, tokens/s) and writes summary.md with the final evaluation per arm (also as " +
		"eval_summary.csv); runs that differ only by seed are drawn as a mean with a band and averaged in tables.",
	UsageText: "tinyr1 report RUN [RUN...] --out DIR [--eval FILE]... [--format png,svg]",
	Flags:     []cli.Flag{reportOutFlag, reportEvalFlag, reportFormatFlag, reportWidthFlag, reportHeightFlag},
	Action:    reportAction,
}

func reportAction(c *cli.Context) error {
	runs, err := positionalArgs(c)
	if err != nil {
		return err
	}
	cfg := report.DefaultReportConfig()
	cfg.Runs, cfg.Out, cfg.Evals = runs, c.String(reportOutFlag.Name), c.StringSlice(reportEvalFlag.Name)
	cfg.Width, cfg.Height = c.Float64(reportWidthFlag.Name), c.Float64(reportHeightFlag.Name)
	cfg.Formats = nil
	for _, f := range strings.Split(c.String(reportFormatFlag.Name), ",") {
		if f = strings.TrimSpace(f); f != "" {
			cfg.Formats = append(cfg.Formats, f)
		}
	}
	if err := cfg.Validate(); err != nil {
		return usageError("report: %v", strings.TrimPrefix(err.Error(), "rl: report: "))
	}
	res, err := report.Report(cfg)
	if err != nil {
		return err
	}
	w := c.App.Writer
	fmt.Fprintf(w, "report: %d runs in %d groups (%s); %d plots\n", len(runs), len(res.Groups), strings.Join(res.Groups, ", "), len(res.Plots))
	width := 0 // per-task names run long: val_pass1_by_task/sort:2
	for _, p := range res.Plots {
		width = max(width, len(p.Metric))
	}
	for _, p := range res.Plots {
		fmt.Fprintf(w, "  %-*s %s\n", width, p.Metric, strings.Join(p.Files, " "))
	}
	fmt.Fprintf(w, "summary: %s\n", res.Summary)
	fmt.Fprintf(w, "evaluation table: %s\n", res.EvalCSV)
	return nil
}
