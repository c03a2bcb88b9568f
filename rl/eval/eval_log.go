package eval

import (
	"fmt"

	"tinyr1/data"
)

// SampleRecord is one completion of an evaluation with its verdict, as
// `tinyr1 eval --log-samples FILE` writes it, one JSON object a line (after
// lm-evaluation-harness's --log_samples): enough to read what the model
// wrote for a problem and why it was scored so, without rerunning it.
type SampleRecord struct {
	Checkpoint string `json:"checkpoint"`     // the checkpoint file; set by the caller
	Task       string `json:"task"`           // family:level
	Split      string `json:"split"`          // data split of the problem
	Problem    int    `json:"problem"`        // the problem's index in its task's stream of the split (data.Generate's index)
	Key        string `json:"key"`            // the problem's canonical key
	Prompt     string `json:"prompt"`         // what the model saw
	Target     string `json:"target"`         // the gold answer
	Mode       string `json:"mode"`           // "greedy" or "sampled"
	Sample     int    `json:"sample"`         // index of the sample, 0 to n-1; 0 for greedy
	Seed       uint64 `json:"seed,omitempty"` // the sample's sampling-stream seed; absent for greedy
	Completion string `json:"completion"`     // the decoded completion, up to the EOS
	Truncated  bool   `json:"truncated"`      // cut at --max-new or the context, without an EOS
	Correct    bool   `json:"correct"`        // the verifier's verdict
	FormatOK   bool   `json:"format_ok"`      // the completion follows the output contract
	Reason     string `json:"reason"`         // the verifier's reason: "ok", "wrong value", ...
	Answer     string `json:"answer"`         // the extracted answer block; "" when the format is invalid
	Canonical  string `json:"canonical"`      // the answer's canonical form, what maj@k votes on; "" when unreadable
}

// newSampleRecord describes completion c of problem pb (index i within its
// task): sample s with stream seed, or greedy when s < 0. It copies what it
// keeps, since c is valid only during the decoder's callback.
func newSampleRecord(pb *data.Problem, i, s int, seed uint64, c *Completion) *SampleRecord {
	r := &SampleRecord{Task: fmt.Sprintf("%s:%d", pb.Family, pb.Level), Split: pb.Split, Problem: i, Key: pb.Key,
		Prompt: pb.Prompt, Target: pb.Answer, Mode: "greedy", Completion: c.Text, Truncated: !c.Stopped,
		Correct: c.Verdict.Correct, FormatOK: c.Verdict.FormatOK, Reason: c.Verdict.Reason, Answer: c.Answer, Canonical: c.Canon}
	if s >= 0 {
		r.Mode, r.Sample, r.Seed = "sampled", s, seed
	}
	return r
}
