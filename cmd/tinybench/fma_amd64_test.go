//go:build amd64 && !purego

package main

import (
	"os"
	"strings"
	"testing"
)

// TestFMALoopFLOPs reads each FMA loop's body in fma_amd64.s and checks
// that the FLOPs per iteration fmaLoops credits it with (avx2LoopFLOPs,
// avx512LoopFLOPs) are what the body
// issues (2 x lanes per VFMADD231PS), and that every FMA has its own
// accumulator, so that none waits on another and the loop runs at the
// peak it claims to measure. The test of the loop's result
// (TestFMALoops) sees neither: a loop with an FMA fewer, or two on one
// register, sums the same.
func TestFMALoopFLOPs(t *testing.T) {
	src, err := os.ReadFile("fma_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		label, reg      string
		lanes, credited float64
	}{{"loopAVX2", "Y", 8, avx2LoopFLOPs}, {"loopAVX512", "Z", 16, avx512LoopFLOPs}} {
		body, ok := strings.CutPrefix(string(src)[strings.Index(string(src), c.label+":"):], c.label+":")
		if !ok {
			t.Fatalf("fma_amd64.s: no label %s", c.label)
		}
		body = body[:strings.Index(body, "J")] // up to the loop's branch
		fmas, acc := 0, map[string]bool{}
		for _, line := range strings.Split(body, "\n") {
			f := strings.Fields(strings.ReplaceAll(line, ",", " "))
			if len(f) == 4 && f[0] == "VFMADD231PS" {
				if !strings.HasPrefix(f[3], c.reg) {
					t.Errorf("%s: %q writes %s, want a %s register", c.label, line, f[3], c.reg)
				}
				fmas++
				acc[f[3]] = true
			}
		}
		if got := float64(fmas) * c.lanes * 2; got != c.credited {
			t.Errorf("%s: the body issues %d FMAs (%g FLOPs an iteration), fmaLoops credits %g", c.label, fmas, got, c.credited)
		}
		if len(acc) != fmas {
			t.Errorf("%s: %d FMAs on %d accumulators, want one each", c.label, fmas, len(acc))
		}
	}
}
