package rl

import (
	"bytes"
	"fmt"
	"image/color"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// ReportConfig says what to report and where.
type ReportConfig struct {
	Runs    []string // run folders
	Out     string   // output folder, created if missing
	Evals   []string // eval JSON files besides the runs' own eval/*.json
	Width   float64  // plot width in inches
	Height  float64  // plot height in inches
	Formats []string // image formats: png, svg (anything vg supports)
}

// DefaultReportConfig returns 6x4 inch plots as PNG and SVG.
func DefaultReportConfig() ReportConfig {
	return ReportConfig{Width: 6, Height: 4, Formats: []string{"png", "svg"}}
}

// Validate explains every bad value.
func (c ReportConfig) Validate() error {
	switch {
	case len(c.Runs) == 0:
		return ErrNoRuns
	case c.Out == "":
		return fmt.Errorf("rl: report: no output folder: want --out DIR")
	case !(c.Width >= 1 && c.Width <= 100) || !(c.Height >= 1 && c.Height <= 100):
		return fmt.Errorf("rl: report: plot size %gx%g inches: want 1 to 100 each", c.Width, c.Height)
	case len(c.Formats) == 0:
		return fmt.Errorf("rl: report: no image format: want png, svg or both")
	}
	for _, f := range c.Formats {
		if f != "png" && f != "svg" && f != "pdf" && f != "jpg" {
			return fmt.Errorf("rl: report: image format %q: want png, svg, pdf or jpg", f)
		}
	}
	return nil
}

// PlotInfo describes one written plot.
type PlotInfo struct {
	Metric string       `json:"metric"`
	Title  string       `json:"title"`
	Files  []string     `json:"files"`  // one per format
	Series []SeriesInfo `json:"series"` // one per run group that logged the metric
}

// SeriesInfo describes one curve of a plot.
type SeriesInfo struct {
	Label  string     `json:"label"`  // the group's name, with the seed count when more than one
	Runs   int        `json:"runs"`   // runs averaged
	Points int        `json:"points"` // steps drawn
	Band   bool       `json:"band"`   // a min-max band is drawn around the mean
	Color  color.RGBA `json:"-"`      // line colour
}

// ReportResult lists what Report wrote.
type ReportResult struct {
	Plots   []PlotInfo `json:"plots"`
	Summary string     `json:"summary"`  // the markdown file
	EvalCSV string     `json:"eval_csv"` // the final evaluation tables, one cell a line
	Groups  []string   `json:"groups"`   // group names, in plot order
}

// Palette is the line colours, one per group in order (Okabe and Ito's
// colour-blind-safe set).
var Palette = []color.RGBA{
	{0x00, 0x72, 0xb2, 0xff}, // blue
	{0xd5, 0x5e, 0x00, 0xff}, // vermillion
	{0x00, 0x9e, 0x73, 0xff}, // bluish green
	{0xcc, 0x79, 0xa7, 0xff}, // reddish purple
	{0xe6, 0x9f, 0x00, 0xff}, // orange
	{0x56, 0xb4, 0xe9, 0xff}, // sky blue
	{0x00, 0x00, 0x00, 0xff}, // black
	{0xf0, 0xe4, 0x42, 0xff}, // yellow
}

// Report reads the runs, writes one plot per metric in every format,
// summary.md and eval_summary.csv into cfg.Out, and says what it wrote.
func Report(cfg ReportConfig) (*ReportResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var runs []*RunMetrics
	for _, dir := range cfg.Runs {
		r, err := LoadRunMetrics(dir)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	groups := GroupRuns(runs)
	evals := runEvalTables(groups)
	for _, path := range cfg.Evals {
		ef, err := LoadEvalFile(path)
		if err != nil {
			return nil, err
		}
		evals = append(evals, fileEvalTable(groups, ef))
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, fmt.Errorf("rl: report: %w", err)
	}
	res := &ReportResult{}
	for _, g := range groups {
		res.Groups = append(res.Groups, g.Name)
	}
	for _, m := range ReportMetrics {
		info, err := plotMetric(cfg, groups, m.Key, m.Title)
		if err != nil {
			return nil, err
		}
		if info != nil {
			res.Plots = append(res.Plots, *info)
		}
	}
	res.Summary = filepath.Join(cfg.Out, "summary.md")
	if err := os.WriteFile(res.Summary, []byte(summaryMarkdown(groups, evals, res.Plots)), 0o644); err != nil {
		return nil, fmt.Errorf("rl: report: %w", err)
	}
	var csv bytes.Buffer
	if err := writeEvalCSV(&csv, evals); err != nil {
		return nil, fmt.Errorf("rl: report: eval_summary.csv: %w", err)
	}
	res.EvalCSV = filepath.Join(cfg.Out, "eval_summary.csv")
	if err := os.WriteFile(res.EvalCSV, csv.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("rl: report: %w", err)
	}
	return res, nil
}

// plotMetric draws one metric for every group that logged it, or returns
// nil when none did.
func plotMetric(cfg ReportConfig, groups []*RunGroup, key, title string) (*PlotInfo, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "step"
	p.Y.Label.Text = key
	p.Legend.Top = true
	p.Legend.Left = false
	p.Add(plotter.NewGrid())
	info := &PlotInfo{Metric: key, Title: title}
	for i, g := range groups {
		s := g.Series(key)
		if s.Runs == 0 || len(s.Steps) == 0 {
			continue
		}
		col := Palette[i%len(Palette)]
		si := SeriesInfo{Label: g.Name, Runs: s.Runs, Points: len(s.Steps), Color: col}
		if s.Runs > 1 && len(s.Steps) > 1 {
			// The band first, so that the mean line is drawn over it.
			ring := make(plotter.XYs, 0, 2*len(s.Steps))
			for j, x := range s.Steps {
				ring = append(ring, plotter.XY{X: x, Y: s.Max[j]})
			}
			for j := len(s.Steps) - 1; j >= 0; j-- {
				ring = append(ring, plotter.XY{X: s.Steps[j], Y: s.Min[j]})
			}
			band, err := plotter.NewPolygon(ring)
			if err != nil {
				return nil, fmt.Errorf("rl: report: %s: %w", key, err)
			}
			band.Color = color.NRGBA{col.R, col.G, col.B, 0x40}
			band.LineStyle.Width = 0
			p.Add(band)
			si.Band = true
			si.Label = fmt.Sprintf("%s (mean of %d seeds, min-max band)", g.Name, s.Runs)
		}
		xy := make(plotter.XYs, len(s.Steps))
		for j, x := range s.Steps {
			xy[j] = plotter.XY{X: x, Y: s.Mean[j]}
		}
		var line plot.Plotter
		var thumb plot.Thumbnailer
		if len(xy) == 1 {
			sc, err := plotter.NewScatter(xy)
			if err != nil {
				return nil, fmt.Errorf("rl: report: %s: %w", key, err)
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
			line, thumb = sc, sc
		} else {
			l, err := plotter.NewLine(xy)
			if err != nil {
				return nil, fmt.Errorf("rl: report: %s: %w", key, err)
			}
			l.Color, l.Width = col, vg.Points(1.5)
			line, thumb = l, l
		}
		p.Add(line)
		p.Legend.Add(si.Label, thumb)
		info.Series = append(info.Series, si)
	}
	if len(info.Series) == 0 {
		return nil, nil
	}
	// Headroom for the legend (top right), one line per series, so that it
	// does not hide the end of the curves.
	if span := p.Y.Max - p.Y.Min; span > 0 {
		p.Y.Max += span * 0.12 * float64(len(info.Series))
	}
	for _, f := range cfg.Formats {
		path := filepath.Join(cfg.Out, key+"."+f)
		if err := p.Save(vg.Length(cfg.Width)*vg.Inch, vg.Length(cfg.Height)*vg.Inch, path); err != nil {
			return nil, fmt.Errorf("rl: report: %s: %w", path, err)
		}
		info.Files = append(info.Files, path)
	}
	return info, nil
}
