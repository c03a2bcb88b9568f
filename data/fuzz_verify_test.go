package data

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// fuzzVerifyIndependent is the fuzz body of the families whose answers an
// independent checker in the tests can judge (countdown, kk): a problem of
// the fuzzed seed and level, an answer that is the mutation or the gold
// answer with the mutation (after a leading '!') spliced in, and a damaged
// key. Every verdict has a reason; an accepted answer passes the
// independent check, for the real key and for a damaged key the verifier
// still accepts; nothing panics.
func fuzzVerifyIndependent(t *testing.T, fam Family, stream, seed uint64, level uint8, mutation string,
	wrap func(ans string) string, independent func(key, ans string) error) {
	rng := rand.New(rand.NewPCG(seed, stream))
	p := fam.Generate(rng, 1+int(level)%MaxLevel)
	ans := mutation
	if after, ok := strings.CutPrefix(mutation, "!"); ok || mutation == "" {
		i := int(seed % uint64(len(p.Answer)+1))
		ans = p.Answer[:i] + after + p.Answer[i:]
	}
	v := fam.Verify(&p, wrap(ans))
	if v.Reason == "" {
		t.Fatalf("answer %q: verdict %+v has no reason", ans, v)
	}
	if v.Correct {
		if err := independent(p.Key, trimSpace(ans)); err != nil {
			t.Fatalf("key %s: answer %q accepted but the independent check says %v", p.Key, ans, err)
		}
	}
	q := p
	q.Key = p.Key[:int(seed%uint64(len(p.Key)+1))] + mutation
	if v := fam.Verify(&q, wrap(p.Answer)); v.Correct {
		if err := independent(q.Key, p.Answer); err != nil {
			t.Fatalf("damaged key %q: answer %q accepted but the independent check says %v", q.Key, p.Answer, err)
		}
	}
}
