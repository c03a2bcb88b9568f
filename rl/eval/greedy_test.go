package eval

import (
	"testing"

	"tinyr1/checkpoints"
	"tinyr1/data"
	"tinyr1/model"
	"tinyr1/rl"
)

// TestGreedyCorrectAgreesWithDecoder: the trainer's validation
// (GreedyCorrect) and eval's greedy decoding (Decoder) give the same verdict
// on every problem, with chunks that do not divide the problems evenly. The
// add:1 warm start of rl/train's tests is right often but not always.
func TestGreedyCorrectAgreesWithDecoder(t *testing.T) {
	ck, err := checkpoints.Load("../train/testdata/tiny-add1.ckpt")
	if err != nil {
		t.Fatal(err)
	}
	p, err := rl.ParamsFromCheckpoint(ck)
	if err != nil {
		t.Fatal(err)
	}
	tok := data.NewTokenizer()
	var probs []data.Problem
	var jobs []Job
	for _, fam := range []string{"add:1", "add:2"} {
		mix, err := data.ParseMixture(fam)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := data.Lookup(mix[0].Family)
		for i := range uint64(10) {
			pb, err := data.Generate(f, mix[0].Level, data.Validation, 0, i)
			if err != nil {
				t.Fatal(err)
			}
			pt, err := tok.EncodePrompt(pb.Prompt)
			if err != nil {
				t.Fatal(err)
			}
			probs = append(probs, pb)
			jobs = append(jobs, Job{Prompt: pt})
		}
	}
	for i := range jobs {
		jobs[i].Problem = &probs[i]
	}
	const B, maxNew = 6, 24
	e := model.NewEngine(p, B, p.Cfg.Context, 1)
	defer e.Close()
	prompts := make([][]int, len(jobs))
	for i, j := range jobs {
		prompts[i] = j.Prompt
	}
	got, err := GreedyCorrect(e, B, tok, probs, prompts, maxNew)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(p, tok, B, maxNew, 1)
	defer d.Close()
	want := make([]bool, len(jobs))
	sc := model.SampleConfig{Greedy: true, Temperature: 1, TopP: 1, MaxNew: maxNew, EOS: data.EOS}
	if err := d.Run(jobs, sc, func(j int, c *Completion) error { want[j] = c.Verdict.Correct; return nil }); err != nil {
		t.Fatal(err)
	}
	right := 0
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("problem %d (%s): GreedyCorrect %v, Decoder %v", i, probs[i].Key, got[i], want[i])
		}
		if want[i] {
			right++
		}
	}
	if right == 0 || right == len(want) {
		t.Errorf("%d of %d right: the test needs both verdicts", right, len(want))
	}
}
