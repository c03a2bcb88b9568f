package eval

import (
	"errors"
	"fmt"
	"math"

	"tinyr1/data"
	"tinyr1/model"
)

// Evaluation judges a policy by what it can do, separately from the reward
// (docs/method.md, "Evaluation protocol"):
//
//   - the problems of each family x level are the first Problems distinct
//     keys of the split's stream; a level with fewer distinct problems (add:1
//     has about 5 test problems) is evaluated on each of them once, and its
//     row says how many (EvalRow.Problems);
//   - greedy pass@1 per family x level: the primary figure, with a 95%
//     Wilson interval over problems;
//   - sampled pass@1: mean correctness over N samples per problem at a stated
//     temperature and top-p, with a Wilson interval at the effective sample
//     size of the clustered samples (SampledInterval);
//   - pass@k with the unbiased estimator of Chen et al. (2021),
//     1 - C(n-c, k)/C(n, k) (PassAtK), averaged over problems;
//   - maj@k: a majority vote of the verifier's canonical answers (data
//     Family.Canonical), averaged over the k-subsets of the N samples (exact,
//     or a fixed-seed Monte Carlo when there are more than MajExactMax);
//     samples without a canonical answer do not vote; ties score the
//     fraction of tied answers that are correct (MajorityAtK);
//   - format-valid rate, truncation rate, mean think length (tokens between
//     <think> and </think>; the tokenizer is character-level, so this is
//     also characters), mean completion length.
//
// pass@k and maj@k carry a 95% interval mean +- 1.96 standard errors over
// problems (samples of one problem are not independent), clipped to [0, 1].

// EvalConfig says what to evaluate and how. Sampling (N samples per problem
// at Temperature and TopP) is off when N = 0, and then Ks is ignored.
//
// Each field is one flag of tinyr1 eval, named after its json key with
// dashes (max_new -> --max-new) unless a flag tag names it. Its tags say
// where it belongs: usage is its help text (and serves as its comment),
// topic its section (the heading in --help). flag:"-" marks a field that is
// not a setting.
type EvalConfig struct {
	Tasks       string  `json:"tasks" usage:"task mixture family:level,... (levels may be ranges lo-hi; weights are ignored)" topic:"Evaluation"`
	Split       string  `json:"split" usage:"data split: train, validation or test" topic:"Data"`
	Problems    int     `json:"problems" usage:"distinct problems per family and level (a level with fewer is evaluated on those, with a warning)" topic:"Evaluation"`
	N           int     `json:"n" usage:"samples per problem for sampled pass@1, pass@k and maj@k; 0 is greedy only" topic:"Evaluation"`
	Ks          []int   `json:"ks" flag:"k" usage:"comma-separated k of pass@k and maj@k, each at most --n" topic:"Evaluation"`
	Temperature float64 `json:"temperature" usage:"sampling temperature" topic:"Sampling"`
	TopP        float64 `json:"top_p" usage:"nucleus sampling mass; 1 is off" topic:"Sampling"`
	Greedy      bool    `json:"greedy" usage:"also decode greedily (the primary figure); --greedy=false for sampling only" topic:"Evaluation"`
	Seed        uint64  `json:"seed" usage:"seed of the problems and of the sampling streams" topic:"Data"`
	MaxNew      int     `json:"max_new" usage:"completion length limit in tokens" topic:"Sampling"`
	Workers     int     `json:"workers" usage:"goroutines of the rollout engine (results do not depend on it)" topic:"Sampling"`

	// Set by eval from the files Tasks names, not by the user.
	TaskFiles string `json:"task_files,omitempty" flag:"-"` // SHA-256 of each dataset file in Tasks, PATH=HASH,... (train.TaskFiles)
}

// DefaultEvalConfig returns the protocol's defaults: the test split, 100
// problems per item, greedy decoding plus 16 samples at temperature 1 for
// pass@k and maj@k at k = 1, 4, 16. Tasks, MaxNew and Workers are the
// training defaults (train.DefaultTrainConfig; a test in train holds them
// equal): eval does not import the trainer.
func DefaultEvalConfig() EvalConfig {
	return EvalConfig{Tasks: "add:1-2,sort:1-2", Split: "test", Problems: 100, N: 16, Ks: []int{1, 4, 16},
		Temperature: 1, TopP: 1, Greedy: true, Seed: 0, MaxNew: 48, Workers: 2}
}

// Validate explains every bad value.
func (c EvalConfig) Validate() error {
	var errs []error
	bad := func(key string, v any, want string) {
		errs = append(errs, fmt.Errorf("rl: eval %s = %v: want %s", key, v, want))
	}
	if _, err := data.ParseMixture(c.Tasks); err != nil {
		errs = append(errs, fmt.Errorf("rl: eval tasks: %w", err))
	}
	if _, err := data.ParseSplit(c.Split); err != nil {
		errs = append(errs, fmt.Errorf("rl: eval split: %w", err))
	}
	if c.Problems < 1 || c.Problems > 1_000_000 {
		bad("problems", c.Problems, "1 to 1000000")
	}
	if c.N < 0 || c.N > 4096 {
		bad("n", c.N, "0 to 4096")
	}
	if !c.Greedy && c.N == 0 {
		bad("n", c.N, "> 0 when greedy decoding is off (nothing to evaluate)")
	}
	if c.N > 0 {
		if len(c.Ks) == 0 {
			bad("ks", c.Ks, "at least one k")
		}
		for _, k := range c.Ks {
			if k < 1 || k > c.N {
				bad("k", k, fmt.Sprintf("1 to n = %d (pass@k is undefined for k > n)", c.N))
			}
		}
		if !(c.Temperature > 0) || math.IsInf(c.Temperature, 0) {
			bad("temperature", c.Temperature, "a finite value > 0")
		}
		if !(c.TopP > 0 && c.TopP <= 1) {
			bad("top_p", c.TopP, "a value in (0, 1]")
		}
	}
	if c.MaxNew < 1 || c.MaxNew > 4096 {
		bad("max_new", c.MaxNew, "1 to 4096")
	}
	if c.Workers < 1 || c.Workers > 256 {
		bad("workers", c.Workers, "1 to 256")
	}
	return errors.Join(errs...)
}

// Interval is an estimate with its 95% interval.
type Interval struct {
	Value float64 `json:"value"`
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
}

// DecodeStats describes the completions of one decoding mode.
type DecodeStats struct {
	Completions   int      `json:"completions"`    // completions decoded
	Correct       int      `json:"correct"`        // completions the verifier accepts
	Pass1         Interval `json:"pass1"`          // mean correctness; greedy: Wilson interval, sampled: SampledInterval
	FormatRate    float64  `json:"format_rate"`    // completions that follow the output contract (and ended)
	TruncRate     float64  `json:"trunc_rate"`     // completions cut at max_new or the context length
	ThinkLen      float64  `json:"think_len"`      // mean tokens between <think> and </think>, over completions that close it
	ThinkClosed   int      `json:"think_closed"`   // completions with a closed think block (ThinkLen's count)
	CompletionLen float64  `json:"completion_len"` // mean generated tokens, EOS included
}

// KStats holds pass@k and maj@k at one k.
type KStats struct {
	K       int      `json:"k"`
	PassAtK Interval `json:"pass_at_k"`     // unbiased estimator, mean over problems, +-1.96 SE
	MajAtK  Interval `json:"maj_at_k"`      // majority vote of canonical answers, expected over k-subsets of the samples, mean over problems, +-1.96 SE
	MajEst  string   `json:"maj_estimator"` // how maj@k averages over k-subsets: "exact" or "monte carlo" (MajMethod)
}

// EvalRow holds every figure of one family and level, or of all of them.
type EvalRow struct {
	Family   string       `json:"family"`            // "all" for the overall row
	Level    int          `json:"level"`             // 0 for the overall row
	Problems int          `json:"problems"`          // distinct problems evaluated; fewer than the config's when the level has fewer
	Greedy   *DecodeStats `json:"greedy,omitempty"`  // nil when greedy decoding is off
	Sampled  *DecodeStats `json:"sampled,omitempty"` // nil when N = 0
	K        []KStats     `json:"k,omitempty"`       // one per k in the config
}

// Task names the row: "family:level", or "all".
func (r *EvalRow) Task() string {
	if r.Level == 0 {
		return r.Family
	}
	return fmt.Sprintf("%s:%d", r.Family, r.Level)
}

// EvalResult is the outcome of Evaluate. It holds no timings, so that the
// same config and model give identical results.
type EvalResult struct {
	Config  EvalConfig `json:"config"`  // the config it ran under
	Rows    []EvalRow  `json:"rows"`    // one per family and level, in mixture order
	Overall EvalRow    `json:"overall"` // every problem together (each problem weighs the same: an item with fewer distinct problems weighs less)
}

// problemTally is what one problem contributes.
type problemTally struct {
	greedy  outcome
	samples []outcome // N
	canon   []string  // N canonical answers ("" for none)
	correct []bool    // N
}

// outcome is one completion, reduced.
type outcome struct {
	correct, formatOK, truncated bool
	thinkLen, length             int
}

func outcomeOf(c *Completion) outcome {
	return outcome{correct: c.Verdict.Correct, formatOK: c.Verdict.FormatOK, truncated: !c.Stopped,
		thinkLen: c.ThinkLen, length: len(c.Tokens)}
}

// Evaluate runs cfg on the policy p. progress, when not nil, is called after
// each completion with the number done and the total.
func Evaluate(p *model.Params, tok *data.Tokenizer, cfg EvalConfig, progress func(done, total int)) (*EvalResult, error) {
	return EvaluateLogged(p, tok, cfg, progress, nil)
}

// EvaluateLogged is Evaluate that also passes every completion to log, when
// not nil, in job order: greedy ones first, then the samples (eval_log.go).
func EvaluateLogged(p *model.Params, tok *data.Tokenizer, cfg EvalConfig, progress func(done, total int), log func(*SampleRecord) error) (*EvalResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	mix, _ := data.ParseMixture(cfg.Tasks)
	if err := mix.CheckContext(tok, p.Cfg.Context); err != nil {
		return nil, fmt.Errorf("rl: eval: %w", err)
	}
	split, _ := data.ParseSplit(cfg.Split)
	var probs []data.Problem
	var prompts [][]int
	var index []int    // (problems) each problem's index in its item's stream: it seeds the samples
	bounds := []int{0} // item j's problems are probs[bounds[j]:bounds[j+1]]
	for _, it := range mix {
		f, err := data.Lookup(it.Family)
		if err != nil {
			return nil, err
		}
		ps, idx, err := distinctProblems(f, it.Level, split, cfg.Seed, cfg.Problems)
		if err != nil {
			return nil, err
		}
		for i := range ps {
			pt, err := tok.EncodePrompt(ps[i].Prompt)
			if err != nil {
				return nil, err
			}
			if len(pt) >= p.Cfg.Context {
				return nil, fmt.Errorf("rl: eval: %s:%d problem %d: prompt of %d tokens: want at most %d (the model's context %d, less one)",
					it.Family, it.Level, idx[i], len(pt), p.Cfg.Context-1, p.Cfg.Context)
			}
			prompts = append(prompts, pt)
		}
		probs, index = append(probs, ps...), append(index, idx...)
		bounds = append(bounds, len(probs))
	}

	tallies := make([]problemTally, len(probs))
	nGreedy := 0
	if cfg.Greedy {
		nGreedy = len(probs)
	}
	total, done := nGreedy+len(probs)*cfg.N, 0
	tick := func() {
		done++
		if progress != nil {
			progress(done, total)
		}
	}
	d := NewDecoder(p, tok, min(MaxEvalBatch, max(total, 1)), cfg.MaxNew, cfg.Workers)
	defer d.Close()

	if cfg.Greedy {
		jobs := make([]Job, len(probs))
		for i := range probs {
			jobs[i] = Job{Prompt: prompts[i], Problem: &probs[i]}
		}
		sc := model.SampleConfig{Greedy: true, Temperature: 1, TopP: 1, MaxNew: cfg.MaxNew, EOS: data.EOS}
		err := d.Run(jobs, sc, func(i int, c *Completion) error {
			tallies[i].greedy = outcomeOf(c)
			tick()
			if log != nil {
				return log(newSampleRecord(&probs[i], index[i], -1, 0, c))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if cfg.N > 0 {
		jobs := make([]Job, 0, len(probs)*cfg.N)
		for i := range probs {
			t := &tallies[i]
			t.samples, t.canon, t.correct = make([]outcome, cfg.N), make([]string, cfg.N), make([]bool, cfg.N)
			for s := range cfg.N {
				seed := ProblemSeed(cfg.Seed, probs[i].Family, probs[i].Level, index[i], s)
				jobs = append(jobs, Job{Prompt: prompts[i], Seed: seed, Problem: &probs[i]})
			}
		}
		sc := model.SampleConfig{Temperature: float32(cfg.Temperature), TopP: float32(cfg.TopP), MaxNew: cfg.MaxNew, EOS: data.EOS}
		err := d.Run(jobs, sc, func(j int, c *Completion) error {
			t, s := &tallies[j/cfg.N], j%cfg.N
			t.samples[s] = outcomeOf(c)
			t.canon[s], t.correct[s] = c.Canon, c.Verdict.Correct
			tick()
			if log != nil {
				return log(newSampleRecord(&probs[j/cfg.N], index[j/cfg.N], s, jobs[j].Seed, c))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}

	res := &EvalResult{Config: cfg}
	for j, it := range mix {
		row := summarize(cfg, tallies[bounds[j]:bounds[j+1]])
		row.Family, row.Level = it.Family, it.Level
		res.Rows = append(res.Rows, row)
	}
	res.Overall = summarize(cfg, tallies)
	res.Overall.Family = "all"
	return res, nil
}

// distinctProblems returns the first n distinct problems (by key) of a
// family and level's stream in split, with their stream indices, looking at
// no more than maxDraws(n) indices: fewer than n when the level has fewer
// distinct problems in the split (with 10n + 1000 draws, a key of
// probability p is missed with probability (1-p)^(10n+1000), below 1e-4
// for p = 1/100).
func distinctProblems(f data.Family, level int, split data.Split, seed uint64, n int) ([]data.Problem, []int, error) {
	var probs []data.Problem
	var index []int
	seen := make(map[string]bool, n)
	for i := 0; len(probs) < n && i < 10*n+1000; i++ {
		pb, err := data.Generate(f, level, split, seed, uint64(i))
		if err != nil {
			return nil, nil, err
		}
		if !seen[pb.Key] {
			seen[pb.Key] = true
			probs, index = append(probs, pb), append(index, i)
		}
	}
	return probs, index, nil
}

// z95 is the normal quantile of a two-sided 95% interval.
const z95 = 1.959963984540054

// summarize turns the tallies of a set of problems into a row.
func summarize(cfg EvalConfig, ts []problemTally) EvalRow {
	row := EvalRow{Problems: len(ts)}
	if cfg.Greedy {
		g := make([]outcome, len(ts))
		for i := range ts {
			g[i] = ts[i].greedy
		}
		st := decodeStats(g)
		st.Pass1.Lo, st.Pass1.Hi = Wilson(st.Correct, st.Completions, z95)
		row.Greedy = &st
	}
	if cfg.N > 0 {
		all := make([]outcome, 0, len(ts)*cfg.N)
		per, cs := make([]float64, len(ts)), make([]int, len(ts))
		for i := range ts {
			all = append(all, ts[i].samples...)
			c := 0
			for _, ok := range ts[i].correct {
				if ok {
					c++
				}
			}
			per[i], cs[i] = float64(c)/float64(cfg.N), c
		}
		st := decodeStats(all)
		st.Pass1 = SampledInterval(per, cfg.N)
		row.Sampled = &st
		for _, k := range cfg.Ks {
			pass, maj := make([]float64, len(ts)), make([]float64, len(ts))
			for i := range ts {
				pass[i] = PassAtK(cfg.N, cs[i], k)
				maj[i] = MajorityAtK(ts[i].canon, ts[i].correct, k)
			}
			row.K = append(row.K, KStats{K: k, PassAtK: meanInterval(pass), MajAtK: meanInterval(maj), MajEst: MajMethod(cfg.N, k)})
		}
	}
	return row
}

// decodeStats counts a set of completions. Pass1 gets the value only.
func decodeStats(os []outcome) DecodeStats {
	st := DecodeStats{Completions: len(os)}
	var formatOK, trunc, think, length int
	for _, o := range os {
		if o.correct {
			st.Correct++
		}
		if o.formatOK {
			formatOK++
		}
		if o.truncated {
			trunc++
		}
		if o.thinkLen >= 0 {
			st.ThinkClosed++
			think += o.thinkLen
		}
		length += o.length
	}
	frac := func(a, b int) float64 {
		if b == 0 {
			return 0
		}
		return float64(a) / float64(b)
	}
	st.Pass1.Value = frac(st.Correct, len(os))
	st.FormatRate, st.TruncRate = frac(formatOK, len(os)), frac(trunc, len(os))
	st.ThinkLen, st.CompletionLen = frac(think, st.ThinkClosed), frac(length, len(os))
	return st
}

// meanInterval is the mean of xs with mean +- 1.96 standard errors, clipped
// to [0, 1].
func meanInterval(xs []float64) Interval {
	m, se := MeanStdErr(xs)
	return Interval{Value: m, Lo: max(0, m-z95*se), Hi: min(1, m+z95*se)}
}
