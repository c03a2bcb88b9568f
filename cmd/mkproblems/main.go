// Command mkproblems writes tinyr1's example dataset file: a few hundred
// problems of five small tasks, one for each answer kind of the dataset
// format, each with a worked solution, as JSON lines. It is what a
// researcher's own generator would write; `--tasks file:PATH` trains and
// evaluates on it like on a built-in family.
//
//	go run ./cmd/mkproblems -o examples/problems.jsonl
//
// The output depends only on -seed and -n: the same flags give the same
// bytes (the repository's examples/problems.jsonl is the default output,
// and a test holds it to that).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

//go:generate go run . -o ../../examples/problems.jsonl

// line is one line of the dataset format (data.DatasetLine; this program
// stands alone, as a researcher's own generator would).
type line struct {
	Prompt   string `json:"prompt"`
	Answer   string `json:"answer"`
	Kind     string `json:"kind"`
	Solution string `json:"solution"`
	Level    int    `json:"level"`
	ID       string `json:"id"`
	Family   string `json:"family"`
}

// maxTokens keeps every problem inside the tiny preset's context of 64
// tokens: BOS, prompt, <think>solution</think><answer>answer</answer>, EOS
// (the tokenizer is character-level, each tag one token).
const maxTokens = 64

func tokens(l *line) int { return 1 + len(l.Prompt) + 4 + len(l.Solution) + len(l.Answer) + 1 }

// task makes one problem of a level from rng.
type task struct {
	name string
	gen  func(rng *rand.Rand, level int) line
}

var tasks = []task{
	{"digitsum", digitSum},
	{"shift", shift},
	{"evens", evens},
	{"factors", factors},
	{"pair", pair},
}

// digitSum: the sum of a number's digits (kind integer).
func digitSum(rng *rand.Rand, level int) line {
	n := 2 + level + rng.IntN(2) // digits
	var digits []byte
	digits = append(digits, byte('1'+rng.IntN(9)))
	for len(digits) < n {
		digits = append(digits, byte('0'+rng.IntN(10)))
	}
	sum, steps := int(digits[0]-'0'), []string{}
	for _, d := range digits[1:] {
		next := sum + int(d-'0')
		steps = append(steps, fmt.Sprintf("%d+%c=%d", sum, d, next))
		sum = next
	}
	return line{Prompt: "digit sum " + string(digits), Answer: strconv.Itoa(sum), Kind: "integer",
		Solution: strings.Join(steps, " ")}
}

// shift: each letter moved k places on in the alphabet (kind exact).
func shift(rng *rand.Rand, level int) line {
	k := 1 + rng.IntN(level+1)
	n := 2 + level + rng.IntN(2)
	src, dst := make([]byte, n), make([]byte, n)
	var steps []string
	for i := range src {
		src[i] = byte('a' + rng.IntN(26))
		dst[i] = byte('a' + (int(src[i]-'a')+k)%26)
		steps = append(steps, string([]byte{src[i], '>', dst[i]}))
	}
	return line{Prompt: fmt.Sprintf("shift %s by %d", src, k), Answer: string(dst), Kind: "exact",
		Solution: strings.Join(steps, " ")}
}

// evens: the even numbers of a list, in order (kind list).
func evens(rng *rand.Rand, level int) line {
	n := 3 + level + rng.IntN(2)
	var in, out, steps []string
	for len(out) == 0 { // at least one even number
		in, out, steps = in[:0], out[:0], steps[:0]
		for range n {
			v := strconv.Itoa(rng.IntN(10 * level * level))
			in = append(in, v)
			if (v[len(v)-1]-'0')%2 == 0 {
				out = append(out, v)
				steps = append(steps, v+"y")
			} else {
				steps = append(steps, v+"n")
			}
		}
	}
	return line{Prompt: "evens of " + strings.Join(in, " "), Answer: strings.Join(out, " "), Kind: "list",
		Solution: strings.Join(steps, " ")}
}

// factors: the prime factors of a number, with repeats, in any order
// (kind multiset). The gold answer lists them ascending.
func factors(rng *rand.Rand, level int) line {
	primes := []int{2, 3, 5, 7, 11, 13}[:2+2*level]
	n, k := 1, 2+level+rng.IntN(2)
	var fs []int
	for range k {
		p := primes[rng.IntN(len(primes))]
		n *= p
		fs = append(fs, p)
	}
	var steps, ans []string
	m := n
	for _, p := range primes {
		for m%p == 0 {
			steps = append(steps, fmt.Sprintf("%d/%d=%d", m, p, m/p))
			m /= p
			ans = append(ans, strconv.Itoa(p))
		}
	}
	return line{Prompt: "factor " + strconv.Itoa(n), Answer: strings.Join(ans, " "), Kind: "multiset",
		Solution: strings.Join(steps, " ")}
}

// pair: x and y from their sum and difference, in any order (kind
// assignment).
func pair(rng *rand.Rand, level int) line {
	hi := 10 * level
	x, y := rng.IntN(hi), rng.IntN(hi)
	s, d := x+y, x-y
	return line{Prompt: fmt.Sprintf("x+y=%d x-y=%d", s, d), Answer: fmt.Sprintf("x=%d,y=%d", x, y), Kind: "assignment",
		Solution: fmt.Sprintf("2x=%d x=%d y=%d-%d=%d", s+d, x, s, x, y)}
}

// write draws n problems per task and level 1-2, skipping repeated prompts
// and problems longer than maxTokens, and writes them as JSON lines.
func write(w io.Writer, seed uint64, n int) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	seen := map[string]bool{}
	for ti, t := range tasks {
		for level := 1; level <= 2; level++ {
			rng := rand.New(rand.NewPCG(seed, uint64(ti*10+level)))
			made := 0
			for tries := 0; made < n && tries < 100*n; tries++ {
				l := t.gen(rng, level)
				if seen[l.Prompt] || tokens(&l) > maxTokens {
					continue
				}
				seen[l.Prompt] = true
				made++
				l.Level, l.Family, l.ID = level, t.name, fmt.Sprintf("%s-%d-%d", t.name, level, made)
				if err := enc.Encode(&l); err != nil {
					return err
				}
			}
			if made < n {
				return fmt.Errorf("mkproblems: %s level %d: only %d distinct problems: want %d", t.name, level, made, n)
			}
		}
	}
	return bw.Flush()
}

func main() {
	out := flag.String("o", "-", "output file; - is standard output")
	seed := flag.Uint64("seed", 1, "seed of the problem draws")
	n := flag.Int("n", 40, "problems per task and level")
	flag.Parse()
	if *n < 1 || *n > 100_000 {
		fmt.Fprintf(os.Stderr, "mkproblems: -n %d: want 1 to 100000\n", *n)
		os.Exit(2)
	}
	w := io.Writer(os.Stdout)
	var fh *os.File
	if *out != "-" {
		var err error
		// Write beside the target and rename, so a failed run never leaves
		// a half-written dataset in its place.
		if fh, err = os.CreateTemp(filepath.Dir(*out), ".mkproblems-*"); err != nil {
			fmt.Fprintln(os.Stderr, "mkproblems:", err)
			os.Exit(1)
		}
		w = fh
	}
	err := write(w, *seed, *n)
	if fh != nil {
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(fh.Name(), *out)
		}
		if err != nil {
			os.Remove(fh.Name())
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkproblems:", err)
		os.Exit(1)
	}
}
