package data

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// MixItem is one family at one level with a sampling weight.
type MixItem struct {
	Family string  `json:"family"`
	Level  int     `json:"level"`
	Weight float64 `json:"weight"`
}

// Mixture is a weighted set of (family, level) pairs.
type Mixture []MixItem

// ParseMixture reads a task mixture: comma-separated items
// "family:level[=weight]", where level may be a range "lo-hi" that expands
// to one item per level, each with the given weight (default 1). Example:
// "add:2,countdown:1=0.5,kk:1-3". A dataset file is the item
// "file:PATH[:level][=weight]" (dataset.go); without a level it expands to
// every level the file has. Errors name the bad part.
func ParseMixture(spec string) (Mixture, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, fmt.Errorf("data: empty task mixture: want items like \"add:2,countdown:1=0.5\"")
	}
	var m Mixture
	seen := map[string]bool{}
	for _, part := range strings.Split(spec, ",") {
		item := strings.TrimSpace(part)
		bad := func(why string) error {
			return fmt.Errorf("data: bad task mixture item %q: %s", item, why)
		}
		w := 1.0
		if i := strings.IndexByte(item, '='); i >= 0 {
			v, err := strconv.ParseFloat(item[i+1:], 64)
			if err != nil || !(v > 0) || v > 1e6 {
				return nil, bad(fmt.Sprintf("weight %q: want a positive number", item[i+1:]))
			}
			w = v
			item = item[:i]
		}
		if strings.HasPrefix(item, FilePrefix) {
			items, why := parseFileItem(item, w)
			if why != "" {
				return nil, bad(why)
			}
			for _, it := range items {
				k := it.Family + ":" + strconv.Itoa(it.Level)
				if seen[k] {
					return nil, bad(fmt.Sprintf("%s appears twice", k))
				}
				seen[k] = true
			}
			m = append(m, items...)
			continue
		}
		name, lv, found := strings.Cut(item, ":")
		if !found {
			return nil, bad("want family:level[=weight]")
		}
		if _, err := Lookup(name); err != nil {
			return nil, bad(fmt.Sprintf("unknown family %q: want one of %v", name, FamilyNames()))
		}
		lo, hi := lv, lv
		if a, b, ok := strings.Cut(lv, "-"); ok {
			lo, hi = a, b
		}
		l1, err1 := strconv.Atoi(lo)
		l2, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || l1 < 1 || l2 > MaxLevel || l1 > l2 {
			return nil, bad(fmt.Sprintf("level %q: want 1 to %d or a range like 1-3", lv, MaxLevel))
		}
		for l := l1; l <= l2; l++ {
			k := name + ":" + strconv.Itoa(l)
			if seen[k] {
				return nil, bad(fmt.Sprintf("%s appears twice", k))
			}
			seen[k] = true
			m = append(m, MixItem{Family: name, Level: l, Weight: w})
		}
	}
	return m, nil
}

// String writes the mixture back in the syntax ParseMixture reads.
func (m Mixture) String() string {
	var b strings.Builder
	for i, it := range m {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s:%d", it.Family, it.Level)
		if it.Weight != 1 {
			b.WriteString("=" + strconv.FormatFloat(it.Weight, 'g', -1, 64))
		}
	}
	return b.String()
}

// Pick draws an item index with probability proportional to its weight.
func (m Mixture) Pick(rng *rand.Rand) int {
	total := 0.0
	for _, it := range m {
		total += it.Weight
	}
	u := rng.Float64() * total
	for i, it := range m {
		u -= it.Weight
		if u < 0 {
			return i
		}
	}
	return len(m) - 1
}
