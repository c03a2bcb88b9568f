package data

import (
	"fmt"
	"math/rand/v2"
)

// Split is one of the three data splits.
type Split uint8

const (
	Train Split = iota
	Validation
	Test
)

var splitNames = [...]string{"train", "validation", "test"}

func (s Split) String() string {
	if int(s) < len(splitNames) {
		return splitNames[s]
	}
	return fmt.Sprintf("Split(%d)", uint8(s))
}

// ParseSplit reads "train", "validation" (or "val") or "test".
func ParseSplit(s string) (Split, error) {
	switch s {
	case "train":
		return Train, nil
	case "validation", "val":
		return Validation, nil
	case "test":
		return Test, nil
	}
	return 0, fmt.Errorf("data: unknown split %q: want train, validation or test", s)
}

// Key-space partition. Every canonical key belongs to exactly one split by
// the hash of the key alone: hash(key) % 10 == 0 is test, == 1 is validation,
// the rest is train. Generators for a split redraw until the key falls in
// that split's slice, so a test key can never appear in training for any
// seed, and small key spaces keep a reserved slice for test by construction.
const (
	keySlices       = 10
	testSlice       = 0
	validationSlice = 1
)

// KeyHash is FNV-1a 64 of the key followed by a splitmix64 finaliser. It
// does not allocate.
func KeyHash(key string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= 1099511628211
	}
	return mix64(h)
}

// SplitOfKey returns the split a canonical key belongs to.
func SplitOfKey(key string) Split {
	switch KeyHash(key) % keySlices {
	case testSlice:
		return Test
	case validationSlice:
		return Validation
	}
	return Train
}

// mix64 is the splitmix64 finaliser; model.Mix64 is the same function
// (data and model do not import each other).
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hashString folds s into h.
func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = mix64(h ^ uint64(s[i]))
	}
	return h
}

// StreamSeed derives the generator seed of item index of (split, family,
// level) under a user seed. Splits live in separate seed namespaces.
func StreamSeed(seed uint64, split Split, family string, level int, index uint64) (uint64, uint64) {
	h := mix64(seed ^ 0x7469_6e79_7231_6461) // "tinyr1da"
	h = mix64(h ^ uint64(split+1)*0x9e3779b97f4a7c15)
	h = hashString(h, family)
	h = mix64(h ^ uint64(level))
	return h, mix64(index + 0x632be59bd9b4e019)
}

// maxRedraws bounds the redraws needed to land in a split's key slice. With
// a 10% slice, 1000 redraws fail with probability 0.9^1000 < 1e-45.
const maxRedraws = 1000

// Generate returns item index of the given split, family and level under a
// user seed. The same arguments always give the same problem. A Finite
// family (a dataset file) gives a problem of its own set (generateFinite).
func Generate(f Family, level int, split Split, seed, index uint64) (Problem, error) {
	if err := CheckLevel(level); err != nil {
		return Problem{}, err
	}
	if ff, ok := f.(Finite); ok {
		return generateFinite(f, ff, level, split, seed, index)
	}
	s1, s2 := StreamSeed(seed, split, f.Name(), level, index)
	rng := rand.New(rand.NewPCG(s1, s2))
	for range maxRedraws {
		p := f.Generate(rng, level)
		if SplitOfKey(p.Key) == split {
			p.Split = split.String()
			return p, nil
		}
	}
	return Problem{}, fmt.Errorf("data: family %s level %d has no key in the %s slice after %d draws: want a larger key space", f.Name(), level, split, maxRedraws)
}
