package eval

import (
	"testing"
	"time"
)

// BenchmarkEvalGreedy1000Small evaluates 1,000 problems (add and sort at
// levels 1-5, 100 each) with greedy decoding only, on a random model of the
// small preset with 2 engine workers. A random model rarely emits EOS, so
// almost every completion runs to MaxNew = 96 tokens (the training default):
// about 96,000 decoded tokens, the worst case for this size.
func BenchmarkEvalGreedy1000Small(b *testing.B) {
	p, tok := randomPolicy(b, "small", 1)
	cfg := DefaultEvalConfig()
	cfg.Tasks, cfg.Problems, cfg.N, cfg.Ks, cfg.Greedy, cfg.MaxNew, cfg.Workers = "add:1-5,sort:1-5", 100, 0, nil, true, 96, 2
	b.ReportAllocs()
	start := time.Now()
	var toks float64
	for b.Loop() {
		res, err := Evaluate(p, tok, cfg, nil)
		if err != nil {
			b.Fatal(err)
		}
		toks += res.Overall.Greedy.CompletionLen * float64(res.Overall.Greedy.Completions)
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(el/float64(b.N), "s/eval")
	b.ReportMetric(toks/el, "tokens/s")
}
