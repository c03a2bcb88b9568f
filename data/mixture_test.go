package data

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// The mixture tests use the arithmetic families (add.go, mul.go, mod.go).

func TestParseMixture(t *testing.T) {
	tests := []struct {
		name, spec string
		want       Mixture
	}{
		{"one", "add:2", Mixture{{"add", 2, 1}}},
		{"weights", "add:2,mul:1=0.5,mod:5=3", Mixture{{"add", 2, 1}, {"mul", 1, 0.5}, {"mod", 5, 3}}},
		{"range", "mod:1-3", Mixture{{"mod", 1, 1}, {"mod", 2, 1}, {"mod", 3, 1}}},
		{"range with weight", "add:4-5=0.25", Mixture{{"add", 4, 0.25}, {"add", 5, 0.25}}},
		{"single-level range", "mul:3-3", Mixture{{"mul", 3, 1}}},
		{"spaces around items", " add:1 , addrev:1=2 ", Mixture{{"add", 1, 1}, {"addrev", 1, 2}}},
		{"all levels", "add:1-5", Mixture{{"add", 1, 1}, {"add", 2, 1}, {"add", 3, 1}, {"add", 4, 1}, {"add", 5, 1}}},
		{"same family other levels", "add:1,add:2-3", Mixture{{"add", 1, 1}, {"add", 2, 1}, {"add", 3, 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseMixture(tc.spec)
			if err != nil {
				t.Fatalf("ParseMixture(%q) error %v", tc.spec, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseMixture(%q) = %v, want %v", tc.spec, got, tc.want)
			}
		})
	}
}

func TestParseMixtureErrors(t *testing.T) {
	tests := []struct {
		name, spec string
		wantText   []string // substrings of the error: the bad part and what is expected
	}{
		{"empty", "", []string{"empty task mixture"}},
		{"blank", "  ", []string{"empty task mixture"}},
		{"no level", "add", []string{`"add"`, "family:level"}},
		{"unknown family", "add:1,nope:2", []string{`"nope:2"`, `unknown family "nope"`, "add"}},
		{"family case", "ADD:1", []string{`unknown family "ADD"`}},
		{"level zero", "add:0", []string{`level "0"`, "1 to 5"}},
		{"level six", "mul:6", []string{`level "6"`, "1 to 5"}},
		{"negative level", "mul:-1", []string{`level "-1"`}},
		{"level word", "mod:two", []string{`level "two"`}},
		{"empty level", "mod:", []string{`level ""`}},
		{"reversed range", "add:3-1", []string{`level "3-1"`}},
		{"open range", "add:1-", []string{`level "1-"`}},
		{"range past max", "add:4-6", []string{`level "4-6"`}},
		{"zero weight", "add:1=0", []string{`"add:1=0"`, `weight "0"`, "positive"}},
		{"negative weight", "add:1=-2", []string{`weight "-2"`}},
		{"word weight", "add:1=lots", []string{`weight "lots"`}},
		{"empty weight", "add:1=", []string{`weight ""`}},
		{"nan weight", "add:1=NaN", []string{`weight "NaN"`}},
		{"inf weight", "add:1=Inf", []string{`weight "Inf"`}},
		{"huge weight", "add:1=1e7", []string{`weight "1e7"`}},
		{"duplicate", "add:1,add:1", []string{`"add:1"`, "appears twice"}},
		{"duplicate in range", "add:1-3,add:2=5", []string{"add:2 appears twice"}},
		{"trailing comma", "add:1,", []string{`item ""`}},
		{"leading comma", ",add:1", []string{`item ""`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseMixture(tc.spec)
			if err == nil {
				t.Fatalf("ParseMixture(%q) = %v, want an error", tc.spec, m)
			}
			if !strings.HasPrefix(err.Error(), "data: ") {
				t.Errorf("error %q does not start with the package name", err)
			}
			for _, w := range tc.wantText {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ParseMixture(%q) error %q does not contain %q", tc.spec, err, w)
				}
			}
		})
	}
}

func TestMixtureStringRoundTrip(t *testing.T) {
	specs := []string{"add:2", "add:2,mul:1=0.5", "mod:1-3=0.001", "addrev:5=2.25,add:1=1e-05,mul:3=123456.789"}
	for _, spec := range specs {
		t.Run(spec, func(t *testing.T) {
			m, err := ParseMixture(spec)
			if err != nil {
				t.Fatal(err)
			}
			s := m.String()
			back, err := ParseMixture(s)
			if err != nil {
				t.Fatalf("ParseMixture(%q) (from String) error %v", s, err)
			}
			if !reflect.DeepEqual(back, m) {
				t.Errorf("round trip %q -> %q -> %v, want %v", spec, s, back, m)
			}
			if s2 := back.String(); s2 != s {
				t.Errorf("String not stable: %q then %q", s, s2)
			}
		})
	}
	if got, want := (Mixture{{"add", 1, 1}, {"mul", 2, 0.5}}).String(), "add:1,mul:2=0.5"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestMixturePick(t *testing.T) {
	m, err := ParseMixture("add:1=1,mul:1=2,mod:1=7")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 200000
	var counts [3]int
	for range n {
		counts[m.Pick(rng)]++
	}
	want := [3]float64{0.1, 0.2, 0.7}
	for i, c := range counts {
		// Standard error is at most sqrt(0.25/n) ~ 0.0011; allow 5 of them.
		if got := float64(c) / n; got < want[i]-0.0056 || got > want[i]+0.0056 {
			t.Errorf("item %d (%s) picked %.4f of the time, want %.2f", i, m[i].Family, got, want[i])
		}
	}
	// Same seed, same picks.
	r1, r2 := rand.New(rand.NewPCG(9, 9)), rand.New(rand.NewPCG(9, 9))
	for i := range 1000 {
		if a, b := m.Pick(r1), m.Pick(r2); a != b {
			t.Fatalf("pick %d: %d and %d from equal seeds", i, a, b)
		}
	}
	one := Mixture{{"add", 3, 0.5}}
	for range 100 {
		if got := one.Pick(rng); got != 0 {
			t.Fatalf("one-item mixture picked %d", got)
		}
	}
}

func BenchmarkMixturePick(b *testing.B) {
	m, _ := ParseMixture("add:1-5,mul:1-5=0.5,mod:1-5=2")
	rng := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	for b.Loop() {
		m.Pick(rng)
	}
}
