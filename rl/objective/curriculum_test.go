package objective

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func smallCurriculum(t *testing.T) *Curriculum {
	t.Helper()
	// Window 4, move after 4 outcomes, up at >= 0.75, down at <= 0.25, levels 1..3.
	cfg := CurriculumConfig{MinLevel: 1, MaxLevel: 3, StartLevel: 2, Window: 4, MinSamples: 4, Up: 0.75, Down: 0.25}
	c, err := NewCurriculum(cfg, "add", "sort")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCurriculumMoves(t *testing.T) {
	c := smallCurriculum(t)
	// Step by step, window 4 at level 2:
	//   1,1,1: fewer than 4 outcomes, no move.
	//   0: window [1,1,1,0], rate 0.75 >= 0.75 -> up to 3, window emptied.
	//   1,1,1,1 at level 3 (the max): rate 1 but no higher level, stays.
	//   0,0,0: window slides to [1,0,0,0], rate 0.25 <= 0.25 -> down to 2.
	seq := []struct {
		ok        bool
		wantMove  int
		wantLevel int
	}{
		{true, 0, 2}, {true, 0, 2}, {true, 0, 2}, {false, 1, 3},
		{true, 0, 3}, {true, 0, 3}, {true, 0, 3}, {true, 0, 3},
		{false, 0, 3}, {false, 0, 3}, {false, -1, 2},
	}
	for i, s := range seq {
		move := c.Record("add", s.ok)
		if move != s.wantMove || c.Level("add") != s.wantLevel {
			t.Fatalf("step %d: move %d, level %d, want %d, %d", i, move, c.Level("add"), s.wantMove, s.wantLevel)
		}
	}
	if rate, n := c.Rate("add"); rate != 0 || n != 0 {
		t.Errorf("after a move: rate %v over %d, want an empty window", rate, n)
	}
	if c.Level("sort") != 2 || c.Families["sort"].Seen != 0 {
		t.Errorf("sort moved without outcomes: %+v", c.Families["sort"])
	}
	if c.Families["add"].Seen != len(seq) {
		t.Errorf("seen %d, want %d", c.Families["add"].Seen, len(seq))
	}
}

func TestCurriculumFloor(t *testing.T) {
	c := smallCurriculum(t)
	// From 2: four failures -> down to 1; four more -> rate 0 but 1 is the floor.
	for range 8 {
		c.Record("sort", false)
	}
	if got := c.Level("sort"); got != 1 {
		t.Errorf("level %d, want 1", got)
	}
	if rate, n := c.Rate("sort"); rate != 0 || n != 4 {
		t.Errorf("rate %v over %d, want 0 over a full window of 4", rate, n)
	}
}

func TestCurriculumJSONRoundTrip(t *testing.T) {
	c := smallCurriculum(t)
	for _, ok := range []bool{true, false, true} {
		c.Record("add", ok)
	}
	c.Add("countdown")
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Curriculum
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if err := back.Validate(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, c) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, *c)
	}
	again, _ := json.Marshal(&back)
	if !bytes.Equal(again, data) {
		t.Errorf("re-encoded:\n%s\nwant\n%s", again, data)
	}
	// The restored curriculum continues exactly as the original.
	for _, ok := range []bool{true, true, false, true, true} {
		if m1, m2 := c.Record("add", ok), back.Record("add", ok); m1 != m2 {
			t.Fatalf("moves diverge after restore: %d vs %d", m1, m2)
		}
	}
	if !reflect.DeepEqual(&back, c) {
		t.Errorf("after more outcomes:\n got %+v\nwant %+v", back, *c)
	}
	want := `{"config":{"min_level":1,"max_level":3,"start_level":2,"window":4,"min_samples":4,"up":0.75,"down":0.25},` +
		`"families":{"add":{"level":2,"recent":[true,false,true],"seen":3},"countdown":{"level":2,"recent":[],"seen":0},"sort":{"level":2,"recent":[],"seen":0}}}`
	if string(data) != want {
		t.Errorf("JSON:\n%s\nwant\n%s", data, want)
	}
}

func TestCurriculumValidate(t *testing.T) {
	tests := []struct {
		name string
		json string
		want string
	}{
		{"level above max", `{"config":{"min_level":1,"max_level":4,"start_level":1,"window":8,"min_samples":4,"up":0.8,"down":0.2},"families":{"add":{"level":5,"recent":[],"seen":0}}}`,
			`family "add" at level 5: want a level in [1, 4]`},
		{"window overflow", `{"config":{"min_level":1,"max_level":4,"start_level":1,"window":2,"min_samples":2,"up":0.8,"down":0.2},"families":{"add":{"level":1,"recent":[true,true,true],"seen":3}}}`,
			`has 3 recent outcomes: want at most window = 2`},
		{"null family", `{"config":{"min_level":1,"max_level":4,"start_level":1,"window":2,"min_samples":2,"up":0.8,"down":0.2},"families":{"add":null}}`,
			`found null`},
		{"bad thresholds", `{"config":{"min_level":1,"max_level":4,"start_level":1,"window":2,"min_samples":2,"up":0.2,"down":0.8},"families":{}}`,
			`thresholds down 0.8, up 0.2: want 0 <= down < up <= 1`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c Curriculum
			if err := json.Unmarshal([]byte(tc.json), &c); err != nil {
				t.Fatal(err)
			}
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestCurriculumConfigValidate(t *testing.T) {
	mod := func(f func(*CurriculumConfig)) CurriculumConfig { c := DefaultCurriculumConfig(); f(&c); return c }
	tests := []struct {
		name string
		cfg  CurriculumConfig
		want string
	}{
		{"default", DefaultCurriculumConfig(), ""},
		{"levels", mod(func(c *CurriculumConfig) { c.MinLevel = 0 }), "levels [0, 4]: want 1 <= min_level <= max_level"},
		{"start", mod(func(c *CurriculumConfig) { c.StartLevel = 5 }), "start_level 5: want a value in [1, 4]"},
		{"window", mod(func(c *CurriculumConfig) { c.Window = 0 }), "window 0: want >= 1"},
		{"min samples", mod(func(c *CurriculumConfig) { c.MinSamples = 65 }), "min_samples 65: want a value in [1, window = 64]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
	if DefaultCurriculumConfig().MaxLevel != 4 {
		t.Error("default max level is not 4: level 5 is reserved for out-of-distribution tests")
	}
}

func TestCurriculumRecordAllocs(t *testing.T) {
	cfg := DefaultCurriculumConfig()
	cfg.Up, cfg.Down = 1, 0 // never moves at a 50% rate
	c, _ := NewCurriculum(cfg, "add")
	ok := false
	if n := testing.AllocsPerRun(200, func() { ok = !ok; c.Record("add", ok) }); n != 0 {
		t.Errorf("Record allocates %v times, want 0", n)
	}
}
