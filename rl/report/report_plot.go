package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

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
	Metric    string       `json:"metric"`
	Title     string       `json:"title"`
	Files     []string     `json:"files"`             // one per format
	Series    []SeriesInfo `json:"series"`            // one per run group that logged the metric
	Offsets   []int        `json:"offsets,omitempty"` // initial checkpoints' steps marked with a dashed line
	Smoothing float64      `json:"smoothing"`         // EMA weight of the smoothed lines; 0 for none
	Zoom      bool         `json:"zoom"`              // a second panel shows the steps from the first offset on
}

// SeriesInfo describes one curve of a plot.
type SeriesInfo struct {
	Label    string      `json:"label"`    // the group's name, with the seed count when more than one
	Runs     int         `json:"runs"`     // runs averaged
	Points   int         `json:"points"`   // steps drawn
	Band     bool        `json:"band"`     // a min-max band is drawn around the mean
	Smoothed bool        `json:"smoothed"` // an EMA line is drawn over the faint raw one
	Color    color.RGBA  `json:"-"`        // line colour
	Dashes   []vg.Length `json:"-"`        // line dashes: none in the palette's first pass, then dashed, then dotted
}

// ReportResult lists what Report wrote.
type ReportResult struct {
	Plots   []PlotInfo `json:"plots"`
	Summary string     `json:"summary"`  // the markdown file
	EvalCSV string     `json:"eval_csv"` // the final evaluation tables, one cell a line
	Groups  []string   `json:"groups"`   // group names, in plot order
}

// lineDashes is the dash pattern of group i's line: solid while the
// palette lasts, then dashed, then dotted, so that groups that share a
// colour stay apart.
func lineDashes(i int) []vg.Length {
	switch i / len(Palette) % 3 {
	case 1:
		return []vg.Length{vg.Points(6), vg.Points(3)}
	case 2:
		return []vg.Length{vg.Points(1.5), vg.Points(2)}
	}
	return nil
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
	for _, m := range plotKeys(groups) {
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

// plotKeys expands ReportMetrics over what the groups logged: a "/*" key
// becomes one key per task, in sorted order, and the overall val_pass1 is
// kept only when no run logged per-task values.
func plotKeys(groups []*RunGroup) []struct{ Key, Title string } {
	var keys []struct{ Key, Title string }
	perTask := false
	for _, m := range ReportMetrics {
		prefix, ok := strings.CutSuffix(m.Key, "*")
		if !ok {
			if m.Key == "val_pass1" && perTask {
				continue
			}
			keys = append(keys, m)
			continue
		}
		for _, task := range seriesTasks(groups, prefix) {
			keys = append(keys, struct{ Key, Title string }{prefix + task, m.Title + ", " + task})
			perTask = perTask || strings.HasPrefix(prefix, "val_pass1")
		}
	}
	return keys
}

// seriesTasks returns, sorted, the tasks of the per-task series
// "PREFIXtask" that some run of groups logged.
func seriesTasks(groups []*RunGroup, prefix string) []string {
	var tasks []string
	for _, g := range groups {
		for _, r := range g.Runs {
			for k := range r.Series {
				if task, ok := strings.CutPrefix(k, prefix); ok && !slices.Contains(tasks, task) {
					tasks = append(tasks, task)
				}
			}
		}
	}
	sort.Strings(tasks)
	return tasks
}

// plotFileName is key as a file name: "val_pass1_by_task/add:1" ->
// "val_pass1_by_task_add-1".
func plotFileName(key string) string {
	return strings.NewReplacer("/", "_", ":", "-").Replace(key)
}

// plotMetric draws one metric for every group that logged it and saves
// it, or returns nil when none did. A curve of smoothMin points or more is
// drawn faint, with its EMA (smoothWeight of the longest curve) solid over
// it. Runs that start from another run's checkpoint are drawn from that
// checkpoint's step, with a dashed line there, and, when another curve
// lies before that step, again in a second panel from it on.
func plotMetric(cfg ReportConfig, groups []*RunGroup, key, title string) (*PlotInfo, error) {
	p, info, err := metricPlot(groups, key, title)
	if info == nil || err != nil {
		return nil, err
	}
	panels := []*plot.Plot{p}
	if len(info.Offsets) > 0 {
		// A short GRPO run after a long SFT parent is a sliver at the right
		// of the shared axis: a second panel shows the steps from its
		// initial checkpoint on, when some curve lies before it.
		from := float64(info.Offsets[0])
		lo, hi, before := math.Inf(1), math.Inf(-1), false
		for _, g := range groups {
			s := g.Series(key)
			for j, x := range s.Steps {
				if x < from {
					before = true
					continue
				}
				lo, hi = min(lo, s.Min[j]), max(hi, s.Max[j])
			}
		}
		if before && hi >= lo {
			z, _, err := metricPlot(groups, key, fmt.Sprintf("steps from the initial checkpoint (%d) on", info.Offsets[0]))
			if err != nil {
				return nil, err
			}
			z.Legend = plot.NewLegend()
			z.X.Min = from
			if !isRate(key) {
				pad := max((hi-lo)*0.05, 1e-9*max(math.Abs(lo), 1))
				z.Y.Min, z.Y.Max = lo-pad, hi+pad
			}
			panels = append(panels, z)
			info.Zoom = true
		}
	}
	w, h := vg.Length(cfg.Width)*vg.Inch, vg.Length(cfg.Height)*vg.Inch
	if len(panels) > 1 {
		w *= 1.6 // two panels, each 0.8 of the asked width
	}
	for _, f := range cfg.Formats {
		path := filepath.Join(cfg.Out, plotFileName(key)+"."+f)
		if err := savePanels(panels, w, h, f, path); err != nil {
			return nil, fmt.Errorf("rl: report: %s: %w", path, err)
		}
		info.Files = append(info.Files, path)
	}
	return info, nil
}

// isRate reports whether a metric is a fraction drawn on [0, 1].
func isRate(key string) bool { return strings.HasPrefix(key, "val_pass1") || key == "accuracy" }

// savePanels draws the plots side by side, with aligned axes, into one
// file of the given format.
func savePanels(panels []*plot.Plot, w, h vg.Length, format, path string) error {
	c, err := draw.NewFormattedCanvas(w, h, format)
	if err != nil {
		return err
	}
	tiles := draw.Tiles{Rows: 1, Cols: len(panels), PadX: vg.Points(12)}
	for i, dc := range plot.Align([][]*plot.Plot{panels}, tiles, draw.New(c))[0] {
		panels[i].Draw(dc)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// metricPlot draws plotMetric's main panel; a nil PlotInfo when no group
// logged the metric.
func metricPlot(groups []*RunGroup, key, title string) (*plot.Plot, *PlotInfo, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "step"
	p.Y.Label.Text = key
	p.X.Tick.Marker = denseTicks{N: 10}
	p.Y.Tick.Marker = denseTicks{N: 8}
	p.Legend.Top = true
	p.Legend.Left = false
	p.Add(plotter.NewGrid())
	info := &PlotInfo{Metric: key, Title: title}
	var offsets []int
	longest := 0 // points of the longest curve, which sets the smoothing weight
	for _, g := range groups {
		longest = max(longest, len(g.Series(key).Steps))
	}
	weight := smoothWeight(longest)
	for i, g := range groups {
		s := g.Series(key)
		if s.Runs == 0 || len(s.Steps) == 0 {
			continue
		}
		for _, r := range g.Runs {
			if r.Offset > 0 && len(r.Series[key]) > 0 && !slices.Contains(offsets, r.Offset) {
				offsets = append(offsets, r.Offset)
			}
		}
		col, dashes := Palette[i%len(Palette)], lineDashes(i)
		si := SeriesInfo{Label: g.Name, Runs: s.Runs, Points: len(s.Steps), Color: col, Dashes: dashes}
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
				return nil, nil, fmt.Errorf("rl: report: %s: %w", key, err)
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
		var thumb plot.Thumbnailer
		switch {
		case len(xy) == 1:
			sc, err := plotter.NewScatter(xy)
			if err != nil {
				return nil, nil, fmt.Errorf("rl: report: %s: %w", key, err)
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
			p.Add(sc)
			thumb = sc
		case len(xy) < smoothMin:
			l, err := plotter.NewLine(xy)
			if err != nil {
				return nil, nil, fmt.Errorf("rl: report: %s: %w", key, err)
			}
			l.Color, l.Width, l.Dashes = col, vg.Points(1.5), dashes
			p.Add(l)
			thumb = l
		default:
			raw, err := plotter.NewLine(xy)
			if err != nil {
				return nil, nil, fmt.Errorf("rl: report: %s: %w", key, err)
			}
			raw.Color, raw.Width = color.NRGBA{col.R, col.G, col.B, 0x60}, vg.Points(0.8)
			ema := smoothEMA(nil, s.Mean, weight)
			sm := make(plotter.XYs, len(xy))
			for j := range xy {
				sm[j] = plotter.XY{X: xy[j].X, Y: ema[j]}
			}
			l, err := plotter.NewLine(sm)
			if err != nil {
				return nil, nil, fmt.Errorf("rl: report: %s: %w", key, err)
			}
			l.Color, l.Width, l.Dashes = col, vg.Points(1.8), dashes
			p.Add(raw, l)
			thumb = l
			si.Smoothed = true
		}
		p.Legend.Add(si.Label, thumb)
		info.Series = append(info.Series, si)
	}
	if len(info.Series) == 0 {
		return nil, nil, nil
	}
	if longest >= smoothMin {
		p.Title.Text += fmt.Sprintf("\n(faint: raw; solid: EMA, weight %.2f)", weight)
		info.Smoothing = weight
	}
	if isRate(key) {
		// A rate: the whole [0, 1] range, so that a flat 0.5 is not drawn
		// across the middle of an axis from -0.5 to 1.5.
		p.Y.Min, p.Y.Max = 0, 1
	}
	sort.Ints(offsets)
	for _, off := range offsets {
		l, err := plotter.NewLine(plotter.XYs{{X: float64(off), Y: p.Y.Min}, {X: float64(off), Y: p.Y.Max}})
		if err != nil {
			return nil, nil, fmt.Errorf("rl: report: %s: %w", key, err)
		}
		l.Color, l.Width, l.Dashes = color.Gray{0x70}, vg.Points(1), []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("initial checkpoint (step %d)", off), l)
		info.Offsets = append(info.Offsets, off)
	}
	if len(offsets) > 0 {
		p.X.Label.Text = "step (a run started from a checkpoint continues from its step)"
	}
	// Headroom for the legend (top right), one line per entry, so that it
	// does not hide the end of the curves.
	if span := p.Y.Max - p.Y.Min; span > 0 {
		p.Y.Max += span * 0.12 * float64(len(info.Series)+len(offsets))
	}
	return p, info, nil
}
