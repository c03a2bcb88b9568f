package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func engRandVec(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// TestMatmulMatchesReference holds linearGo to matmulRef for shapes that hit
// every tile and tail, for each epilogue, over whole and partial column
// ranges. The Go kernel sums in the reference's order (equal results up to
// the GELU approximation); OpenBLAS sums in its own order, so the tolerance
// is 2e-7 * in * (1 + |want|), a float32 bound for sums of unit terms.
func TestMatmulMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sh := range [][3]int{{1, 1, 1}, {1, 16, 24}, {3, 7, 5}, {4, 8, 8}, {5, 13, 19}, {9, 150, 37}, {16, 64, 192}} {
		n, in, out := sh[0], sh[1], sh[2]
		x, w, b := engRandVec(rng, n*in), engRandVec(rng, in*out), engRandVec(rng, out)
		want := make([]float32, n*out)
		matmulRef(want, x, w, b, n, in, out)
		m := newMat(w, in, out) // padded to a multiple of 16 columns as the engine does
		m.refresh()
		scratch := make([]float32, 4*m.ld)
		for _, epi := range []epilogue{epiSet, epiAdd, epiGELU} {
			for _, cols := range [][2]int{{0, out}, {min(16, out), out}, {0, min(16, out)}} {
				for _, k := range []struct {
					name string
					f    func(a *linArgs, r0, r1, j0, j1 int, scratch []float32)
				}{{"go", linearGo}, {matmulKernel, linearKernel}} {
					t.Run(fmt.Sprintf("%s/%dx%dx%d/epi%d/cols%d-%d", k.name, n, in, out, epi, cols[0], cols[1]), func(t *testing.T) {
						init := engRandVec(rng, n*out)
						got := append([]float32(nil), init...)
						a := linArgsFor(got, x, &m, b, n, epi)
						k.f(&a, 0, n, cols[0], cols[1], scratch)
						for i := range n {
							for j := range out {
								g, y, was := got[i*out+j], want[i*out+j], init[i*out+j]
								var exp float32
								switch {
								case j < cols[0] || j >= cols[1]:
									exp = was // untouched
								case epi == epiSet:
									exp = y
								case epi == epiAdd:
									exp = was + y
								default:
									exp = float32(refGELU(float64(y)))
								}
								if math.Abs(float64(g-exp)) > 2e-7*float64(in)*(1+math.Abs(float64(exp))) {
									t.Fatalf("(%d,%d): got %g, want %g", i, j, g, exp)
								}
							}
						}
					})
				}
			}
		}
	}
}

// TestMatmulRowIndependence: a row's result is bitwise the same whatever
// the number of rows in the call and the row's position (tile or tail).
func TestMatmulRowIndependence(t *testing.T) {
	if matmulKernel == "openblas" {
		t.Skipf("the %s kernel's result for a row may depend on the batch", matmulKernel)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	in, out := 67, 45
	w, b := engRandVec(rng, in*out), engRandVec(rng, out)
	m := newMat(w, in, out)
	m.refresh()
	scratch := make([]float32, 4*m.ld)
	x := engRandVec(rng, 11*in)
	all := make([]float32, 11*out)
	a := linArgsFor(all, x, &m, b, 11, epiGELU)
	linearKernel(&a, 0, 11, 0, out, scratch)
	one := make([]float32, out)
	for i := range 11 {
		a := linArgsFor(one, x[i*in:(i+1)*in], &m, b, 1, epiGELU)
		linearKernel(&a, 0, 1, 0, 32, scratch)
		linearKernel(&a, 0, 1, 32, out, scratch)
		for j := range out {
			if math.Float32bits(one[j]) != math.Float32bits(all[i*out+j]) {
				t.Fatalf("row %d col %d: alone %g, in a batch of 11 %g", i, j, one[j], all[i*out+j])
			}
		}
	}
}

// TestExpfGELU bounds the fast float32 exp and GELU against float64.
func TestExpfGELU(t *testing.T) {
	worst := 0.0
	for x := -87.0; x < 88; x += 0.0137 {
		got, want := float64(expf(float32(x))), math.Exp(float64(float32(x)))
		worst = math.Max(worst, math.Abs(got-want)/want)
	}
	if worst > 4e-7 {
		t.Errorf("expf max relative error %.3g, want <= 4e-7", worst)
	}
	if expf(-200) != 0 || !math.IsInf(float64(expf(200)), 1) {
		t.Errorf("expf(-200) = %g, expf(200) = %g: want 0 and +Inf", expf(-200), expf(200))
	}
	worst = 0
	for u := -20.0; u < 20; u += 0.001 {
		got, want := float64(gelu(float32(u))), refGELU(float64(float32(u)))
		worst = math.Max(worst, math.Abs(got-want)/(1+math.Abs(want)))
	}
	if worst > 1e-6 {
		t.Errorf("gelu max error %.3g, want <= 1e-6", worst)
	}
	if !useAVX {
		return
	}
	var xs []float32
	for x := -87.0; x < 88; x += 0.0137 {
		xs = append(xs, float32(x))
	}
	xs = xs[:len(xs)&^7]
	got := append([]float32(nil), xs...)
	expVec(got)
	worst = 0
	for i, x := range xs {
		want := math.Exp(float64(x))
		worst = math.Max(worst, math.Abs(float64(got[i])-want)/want)
	}
	if worst > 4e-7 {
		t.Errorf("expVec max relative error %.3g, want <= 4e-7", worst)
	}
}

func TestLayerNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	D := 37
	x, g, b := engRandVec(rng, D), engRandVec(rng, D), engRandVec(rng, D)
	got := make([]float32, D)
	layerNorm(got, x, g, b)
	x64, g64, b64 := make([]float64, D), make([]float64, D), make([]float64, D)
	for i := range D {
		x64[i], g64[i], b64[i] = float64(x[i]), float64(g[i]), float64(b[i])
	}
	want := refLayerNorm([][]float64{x64}, g64, b64)[0]
	for i := range D {
		if math.Abs(float64(got[i])-want[i]) > 2e-6 {
			t.Errorf("[%d] = %g, want %g", i, got[i], want[i])
		}
	}
}

// BenchmarkMatmul measures the kernel at the engine's shapes (small preset:
// D=128, 3D=384, M=512) for 1, 16 and 64 rows.
func BenchmarkMatmul(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, sh := range [][3]int{{1, 128, 384}, {16, 128, 384}, {64, 128, 384}, {64, 512, 128}, {256, 128, 512}} {
		n, in, out := sh[0], sh[1], sh[2]
		x, w, bias := engRandVec(rng, n*in), engRandVec(rng, in*out), engRandVec(rng, out)
		dst := make([]float32, n*out)
		m := newMat(w, in, out)
		a := linArgsFor(dst, x, &m, bias, n, epiSet)
		scratch := make([]float32, 4*m.ld)
		b.Run(fmt.Sprintf("%dx%dx%d", n, in, out), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				linearKernel(&a, 0, n, 0, out, scratch)
			}
			b.ReportMetric(2*float64(n*in*out)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
