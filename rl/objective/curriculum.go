package objective

import (
	"fmt"
	"math"
	"slices"
)

// CurriculumConfig sets how each task family's difficulty level follows its
// rolling success rate.
type CurriculumConfig struct {
	MinLevel   int     `json:"min_level"`   // lowest level a family may drop to
	MaxLevel   int     `json:"max_level"`   // highest level; 4 by default, level 5 is reserved for out-of-distribution tests
	StartLevel int     `json:"start_level"` // level of a family when it is added
	Window     int     `json:"window"`      // recent outcomes kept per family
	MinSamples int     `json:"min_samples"` // outcomes needed at the current level before it may move
	Up         float64 `json:"up"`          // move up when the rolling success rate is >= Up
	Down       float64 `json:"down"`        // move down when the rolling success rate is <= Down
}

// DefaultCurriculumConfig returns levels 1..4 starting at 1, a window of 64
// outcomes, at least 32 before moving, up at 0.8 and down at 0.2: RL learns
// most where the policy is right 30-80% of the time (docs/method.md).
func DefaultCurriculumConfig() CurriculumConfig {
	return CurriculumConfig{MinLevel: 1, MaxLevel: 4, StartLevel: 1, Window: 64, MinSamples: 32, Up: 0.8, Down: 0.2}
}

// Validate reports the first bad field.
func (c CurriculumConfig) Validate() error {
	switch {
	case c.MinLevel < 1 || c.MaxLevel < c.MinLevel:
		return fmt.Errorf("rl: curriculum levels [%d, %d]: want 1 <= min_level <= max_level", c.MinLevel, c.MaxLevel)
	case c.StartLevel < c.MinLevel || c.StartLevel > c.MaxLevel:
		return fmt.Errorf("rl: curriculum start_level %d: want a value in [%d, %d]", c.StartLevel, c.MinLevel, c.MaxLevel)
	case c.Window < 1:
		return fmt.Errorf("rl: curriculum window %d: want >= 1", c.Window)
	case c.MinSamples < 1 || c.MinSamples > c.Window:
		return fmt.Errorf("rl: curriculum min_samples %d: want a value in [1, window = %d]", c.MinSamples, c.Window)
	case !(c.Down >= 0 && c.Down < c.Up && c.Up <= 1) || math.IsNaN(c.Up):
		return fmt.Errorf("rl: curriculum thresholds down %v, up %v: want 0 <= down < up <= 1", c.Down, c.Up)
	}
	return nil
}

// FamilyState is one family's place in the curriculum.
type FamilyState struct {
	Level  int    `json:"level"`  // current level
	Recent []bool `json:"recent"` // outcomes at this level, oldest first, at most Window
	Seen   int    `json:"seen"`   // outcomes recorded over the whole run
}

// Curriculum holds every family's level. It is plain data: encoding/json
// writes it deterministically (map keys sorted) and reads it back exactly,
// which is how checkpoints save and restore it. Call Validate after reading.
type Curriculum struct {
	Config   CurriculumConfig        `json:"config"`
	Families map[string]*FamilyState `json:"families"`
}

// NewCurriculum returns a curriculum with the given families at StartLevel.
func NewCurriculum(cfg CurriculumConfig, families ...string) (*Curriculum, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Curriculum{Config: cfg, Families: make(map[string]*FamilyState, len(families))}
	for _, f := range families {
		c.Add(f)
	}
	return c, nil
}

// Add starts family at StartLevel; a family already present is left as it is
// (so a resumed run can add families new to its config).
func (c *Curriculum) Add(family string) {
	if _, ok := c.Families[family]; !ok {
		c.Families[family] = &FamilyState{Level: c.Config.StartLevel, Recent: make([]bool, 0, c.Config.Window)}
	}
}

// Level returns family's current level. It panics for an unknown family.
func (c *Curriculum) Level(family string) int { return c.state(family).Level }

// Rate returns family's success rate over its recent outcomes and their number.
func (c *Curriculum) Rate(family string) (rate float64, n int) {
	s := c.state(family)
	return successRate(s.Recent), len(s.Recent)
}

// Record adds one outcome of family at its current level and moves the level
// once at least MinSamples outcomes are in the window: up if the success rate
// is >= Up, down if it is <= Down, within [MinLevel, MaxLevel]. A move empties
// the window, since outcomes at the old level say little about the new one.
// It returns the move: +1, -1 or 0. It allocates nothing once the window is full.
func (c *Curriculum) Record(family string, correct bool) int {
	s := c.state(family)
	s.Seen++
	if len(s.Recent) == c.Config.Window {
		copy(s.Recent, s.Recent[1:])
		s.Recent[len(s.Recent)-1] = correct
	} else {
		s.Recent = append(s.Recent, correct)
	}
	if len(s.Recent) < c.Config.MinSamples {
		return 0
	}
	move := 0
	switch rate := successRate(s.Recent); {
	case rate >= c.Config.Up && s.Level < c.Config.MaxLevel:
		move = 1
	case rate <= c.Config.Down && s.Level > c.Config.MinLevel:
		move = -1
	}
	if move != 0 {
		s.Level += move
		s.Recent = s.Recent[:0]
	}
	return move
}

// Validate checks a curriculum read from a checkpoint.
func (c *Curriculum) Validate() error {
	if err := c.Config.Validate(); err != nil {
		return err
	}
	names := make([]string, 0, len(c.Families))
	for f := range c.Families {
		names = append(names, f)
	}
	slices.Sort(names) // report the same error every time
	for _, f := range names {
		s := c.Families[f]
		switch {
		case s == nil:
			return fmt.Errorf("rl: curriculum family %q: found null, want a state", f)
		case s.Level < c.Config.MinLevel || s.Level > c.Config.MaxLevel:
			return fmt.Errorf("rl: curriculum family %q at level %d: want a level in [%d, %d]", f, s.Level, c.Config.MinLevel, c.Config.MaxLevel)
		case len(s.Recent) > c.Config.Window:
			return fmt.Errorf("rl: curriculum family %q has %d recent outcomes: want at most window = %d", f, len(s.Recent), c.Config.Window)
		case s.Seen < len(s.Recent):
			return fmt.Errorf("rl: curriculum family %q has seen %d outcomes: want at least its %d recent ones", f, s.Seen, len(s.Recent))
		}
	}
	return nil
}

func (c *Curriculum) state(family string) *FamilyState {
	s, ok := c.Families[family]
	if !ok || s == nil {
		panic(fmt.Sprintf("rl: curriculum: unknown family %q: Add it first", family))
	}
	return s
}

func successRate(r []bool) float64 {
	if len(r) == 0 {
		return 0
	}
	n := 0
	for _, ok := range r {
		if ok {
			n++
		}
	}
	return float64(n) / float64(len(r))
}
