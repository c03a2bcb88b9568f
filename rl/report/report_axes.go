package report

import (
	"math"
	"strconv"

	"gonum.org/v1/plot"
)

// smoothWeight is the weight of the exponential moving average drawn over
// a raw curve of n points, as TensorBoard's smoothing slider (0 is no
// smoothing): 1 - 25/n, so that the average spans about n/25 points, held
// to [0.6, 0.95]: TensorBoard's default 0.6 for short curves, and no more
// than a 20-point window for long ones, which would lag the curve.
func smoothWeight(n int) float64 {
	return min(max(1-25/float64(n), 0.6), 0.95)
}

// smoothMin is the fewest points a curve needs to get a smoothed line: a
// validation curve of a few points is drawn raw.
const smoothMin = 30

// smoothEMA is TensorBoard's debiased exponential moving average of ys with
// weight w: s_i = (w*m_{i-1} + (1-w)*y_i) / (1 - w^(i+1)), where m is the
// biased average that starts at 0. Dividing by 1 - w^(i+1) removes the pull
// towards 0 at the start of the curve.
func smoothEMA(dst, ys []float64, w float64) []float64 {
	dst = dst[:0]
	last, debias := 0.0, 1.0
	for _, y := range ys {
		last = last*w + (1-w)*y
		debias *= w
		dst = append(dst, last/(1-debias))
	}
	return dst
}

// denseTicks is a plot.Ticker with about N labelled ticks at round steps
// (1, 2, 2.5 or 5 times a power of ten) and 4 or 5 unlabelled ticks
// between them; gonum's default gives 3 to 5 labels and no minor ticks.
type denseTicks struct{ N int }

var _ plot.Ticker = denseTicks{}

// Ticks implements plot.Ticker.
func (t denseTicks) Ticks(lo, hi float64) []plot.Tick {
	// A flat curve (hi - lo within rounding of the values) has no round
	// step that float64 can count in; gonum's ticker handles it.
	if !(hi-lo > 1e-9*max(math.Abs(lo), math.Abs(hi))) || math.IsInf(hi-lo, 0) {
		return plot.DefaultTicks{}.Ticks(lo, hi)
	}
	step, minor := niceStep((hi - lo) / float64(max(t.N, 2)))
	// Values of 10000 and more are labelled in thousands ("175k"), with
	// the decimals the step needs and no more.
	scale, suffix := 1.0, ""
	if max(math.Abs(lo), math.Abs(hi)) >= 1e4 && step >= 100 {
		scale, suffix = 1e3, "k"
	}
	exp := int(math.Floor(math.Log10(step/scale) + 1e-9))
	prec := max(0, -exp)
	if exp <= 0 && math.Abs(step/scale/math.Pow(10, float64(exp))-2.5) < 1e-9 {
		prec++ // 0.25 needs two decimals where 0.2 needs one
	}
	var ticks []plot.Tick
	sub := step / float64(minor)
	first := math.Ceil(lo/sub - 1e-9)
	for i := first; i*sub <= hi+sub*1e-9 && len(ticks) <= 6*max(t.N, 2)*minor; i++ {
		v := i * sub
		tick := plot.Tick{Value: v}
		if k := math.Round(v / step); math.Abs(v-k*step) < sub*1e-6 {
			v = k * step
			if v == 0 {
				v = 0 // no "-0"
			}
			label := strconv.FormatFloat(v/scale, 'f', prec, 64) + suffix
			if v == 0 {
				label = "0"
			} else if a := math.Abs(v); a < 1e-3 || a >= 1e7 {
				label = strconv.FormatFloat(v, 'g', 4, 64)
			}
			tick = plot.Tick{Value: v, Label: label}
		}
		ticks = append(ticks, tick)
	}
	return ticks
}

// niceStep rounds raw up to 1, 2, 2.5, 5 or 10 times a power of ten and
// returns it with the number of minor intervals per major one.
func niceStep(raw float64) (float64, int) {
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []struct {
		f     float64
		minor int
	}{{1, 5}, {2, 4}, {2.5, 5}, {5, 5}} {
		if m.f*mag >= raw*(1-1e-9) {
			return m.f * mag, m.minor
		}
	}
	return 10 * mag, 5
}
