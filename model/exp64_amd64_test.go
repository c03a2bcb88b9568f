//go:build !purego

package model

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// expNormalPath says whether math.Exp (exp_amd64.s) computes exp(x) on its
// normal path: x finite, not past Overflow, and the biased exponent of
// round(x * LOG2E) in [1, 0x7FE].
func expNormalPath(x float64) bool {
	if math.IsNaN(x) || math.IsInf(x, 0) || x > expOverflow {
		return false
	}
	e := math.RoundToEven(x * expLog2E)
	return e >= -1022 && e <= 1023
}

// TestExp64VecAVX holds exp64VecAVX itself to math.Exp: on inputs that all
// take math.Exp's normal path it sets every group of 4 (the vector exp
// ran, not its fallback) with math.Exp's bits; where one does not, it
// stops exactly at the first group that holds one and leaves that group
// unwritten. It also checks that exp64MatchesMath holds wherever the CPU
// has AVX2 and FMA and GODEBUG leaves math.Exp's FMA path alone.
func TestExp64VecAVX(t *testing.T) {
	if !cpuHas.avx2FMA {
		t.Skip("no AVX2+FMA")
	}
	if !exp64MatchesMath {
		if !strings.Contains(os.Getenv("GODEBUG"), "cpu.") {
			t.Fatal("exp64MatchesMath is false on a CPU with AVX2 and FMA")
		}
		t.Skip("GODEBUG changes math.Exp's path; exp64MatchesMath turned the vector exp off")
	}
	rng := rand.New(rand.NewPCG(64, 13))
	x := expTestInputs(rng, 100000)
	for _, order := range []string{"sorted", "shuffled"} {
		if order == "shuffled" {
			rng.Shuffle(len(x), func(i, j int) { x[i], x[j] = x[j], x[i] })
		}
		dst := make([]float64, len(x))
		sentinel := math.Float64frombits(0x7ff8dead0000beef)
		for j := range dst {
			dst[j] = sentinel
		}
		for i := 0; i < len(x); {
			stop := len(x) &^ 3
			for g := i; g < len(x)&^3; g += 4 {
				if !expNormalPath(x[g]) || !expNormalPath(x[g+1]) || !expNormalPath(x[g+2]) || !expNormalPath(x[g+3]) {
					stop = g
					break
				}
			}
			got := i + exp64VecAVX(dst[i:], x[i:])
			if got != stop {
				t.Fatalf("%s: from %d, exp64VecAVX stopped at %d (%v), want %d (%v)", order, i, got, x[got:min(got+4, len(x))], stop, x[stop:min(stop+4, len(x))])
			}
			for j := i; j < stop; j++ {
				if g, w := math.Float64bits(dst[j]), math.Float64bits(math.Exp(x[j])); g != w {
					t.Fatalf("%s: exp(%v = %#x) = %v (%#x), want math.Exp's %v (%#x)", order, x[j], math.Float64bits(x[j]), dst[j], g, math.Exp(x[j]), w)
				}
			}
			for j := stop; j < min(stop+4, len(dst)); j++ {
				if math.Float64bits(dst[j]) != math.Float64bits(sentinel) {
					t.Fatalf("%s: exp64VecAVX stopped at %d but wrote dst[%d] = %v", order, stop, j, dst[j])
				}
			}
			i = stop + 4
		}
	}
	// The loss's inputs are all on the normal path: none may fall back.
	y := make([]float64, 1<<12)
	for i := range y {
		y[i] = -50 * rng.Float64()
	}
	if n := exp64VecAVX(y, y); n != len(y) {
		t.Errorf("exp64VecAVX on [-50, 0] set %d of %d", n, len(y))
	}
}

// TestExp64OffWithoutMathFMA: with GODEBUG=cpu.fma=off, math.Exp leaves
// its FMA path and rounds some inputs differently from exp64x4, so
// exp64MatchesMath must turn the vector exp off and expF64 must still give
// math.Exp's bits. It reruns TestExpF64MatchesMath and TestExp64VecAVX in a
// child process under that GODEBUG and demands that both pass and that the
// vector exp was off there.
func TestExp64OffWithoutMathFMA(t *testing.T) {
	if !cpuHas.avx2FMA {
		t.Skip("no AVX2+FMA: the vector exp never runs")
	}
	if strings.Contains(os.Getenv("GODEBUG"), "cpu.") {
		t.Skip("GODEBUG already sets CPU features (this is the child, or a run that chose them)")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^(TestExpF64MatchesMath|TestExp64VecAVX)$", "-test.v")
	cmd.Env = append(os.Environ(), "GODEBUG=cpu.fma=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("with GODEBUG=cpu.fma=off: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("exp64MatchesMath turned the vector exp off")) {
		t.Fatalf("with GODEBUG=cpu.fma=off the vector exp stayed on:\n%s", out)
	}
}
