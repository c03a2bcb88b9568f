package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"tinyr1/data"
	"tinyr1/model"
	"tinyr1/rl"
	"tinyr1/rl/eval"
)

const catSampling = "Sampling"

// sampleFields are the settings of eval that sample reads too: the split
// and seed of the problems and how to decode. Its --n (problems) and
// --greedy (instead of sampling) are its own.
var sampleFields = pickFields(evalFields, "split", "seed", "temperature", "top-p", "max-new", "workers")

// scoreFields are the settings of eval that score reads too.
var scoreFields = pickFields(evalFields, "workers")

var (
	promptFlag = &cli.StringFlag{Name: "prompt", Category: catData,
		Usage: "free prompt text to complete instead of generated problems (no verifier: format verdict only)"}
	samplesFlag = &cli.IntFlag{Name: "samples", Category: catSampling,
		Usage: "completions per problem or prompt", Value: 1}
	sampleGreedyFlag = &cli.BoolFlag{Name: "greedy", Category: catSampling,
		Usage: "greedy decoding instead of sampling", Value: false}
	textFlag = &cli.StringFlag{Name: "text", Category: catData,
		Usage: "text to score, tags written out (\"add 3+5<think>...</think><answer>8</answer>\")"}
	textFileFlag = &cli.StringFlag{Name: "file", Category: catData,
		Usage: "file of texts to score, one per line; - reads standard input"}
	eosFlag = &cli.BoolFlag{Name: "eos", Category: catData,
		Usage: "score an end-of-sequence token after each text", Value: false}
	scoreTemperatureFlag = &cli.Float64Flag{Name: "temperature", Category: catSampling,
		Usage: "temperature of the scored distribution softmax(logits/T)", Value: 1}
)

var sampleCommand = &cli.Command{
	Name:  "sample",
	Usage: "a checkpoint's completions with the verifier's verdict",
	UsageText: "tinyr1 sample CKPT [--family F --level L --split S --n N --seed X] [--greedy] [--samples M] [--json]\n" +
		"   tinyr1 sample CKPT --prompt TEXT",
	Flags: append(structFlags(sampleFields, eval.DefaultEvalConfig()),
		promptFlag, familyFlag, levelFlag, countFlag, samplesFlag, sampleGreedyFlag, jsonFlag),
	Action: sampleAction,
}

var scoreCommand = &cli.Command{
	Name:  "score",
	Usage: "per-token log-probabilities of texts, as JSON lines",
	UsageText: "tinyr1 score CKPT --text TEXT\n   tinyr1 score CKPT --file FILE\n" +
		"   each line: {\"text\", \"tokens\", \"ids\", \"logprobs\", \"total\"}; logprobs[i] = log p(tokens[i] | <bos>, tokens[:i])",
	Flags:  append(structFlags(scoreFields, eval.DefaultEvalConfig()), textFlag, textFileFlag, eosFlag, scoreTemperatureFlag),
	Action: scoreAction,
}

// sampleLine is one line of sample --json: the problem as tasks export
// writes it, the completion and the verdict.
type sampleLine struct {
	data.Problem
	Index      int    `json:"index"`  // problem index in the stream
	Sample     int    `json:"sample"` // completion index of the problem
	Completion string `json:"completion"`
	data.Verdict
	Tokens    int  `json:"tokens"`    // generated tokens, EOS included
	Truncated bool `json:"truncated"` // cut at --max-new or the context length
}

// oneCheckpoint returns the single checkpoint argument of a command.
func oneCheckpoint(c *cli.Context, cmd string) (string, error) {
	pos, err := positionalArgs(c)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		return "", usageError("%s: %d arguments %q: want one checkpoint file or run folder", cmd, len(pos), pos)
	}
	return pos[0], nil
}

func sampleAction(c *cli.Context) error {
	arg, err := oneCheckpoint(c, "sample")
	if err != nil {
		return err
	}
	ns := c.Int(samplesFlag.Name)
	if ns < 1 || ns > 4096 {
		return usageError("sample: --samples = %d: want 1 to 4096", ns)
	}
	cfg := eval.DefaultEvalConfig()
	if _, err := applyFlags(c, sampleFields, &cfg); err != nil {
		return err
	}
	sc := model.SampleConfig{Greedy: c.Bool(sampleGreedyFlag.Name), Temperature: float32(cfg.Temperature),
		TopP: float32(cfg.TopP), MaxNew: cfg.MaxNew, EOS: data.EOS}
	if sc.Greedy {
		sc.Temperature, sc.TopP = 1, 1
	}
	if err := sc.Validate(); err != nil {
		return usageError("sample: %v", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	workers := cfg.Workers
	if workers < 1 || workers > 256 {
		return usageError("sample: --workers = %d: want 1 to 256", workers)
	}
	seed := cfg.Seed
	tok := data.NewTokenizer()
	var probs []data.Problem
	if text := c.String(promptFlag.Name); text != "" {
		probs = []data.Problem{{Prompt: text}}
	} else {
		f, level, split, n, _, err := problemFlags(c)
		if err != nil {
			return err
		}
		for i := range n {
			p, err := data.Generate(f, level, split, seed, uint64(i))
			if err != nil {
				return err
			}
			probs = append(probs, p)
		}
	}
	p, _, err := rl.LoadPolicy(arg, tok)
	if err != nil {
		return err
	}
	var jobs []eval.Job
	free := c.String(promptFlag.Name) != ""
	for i := range probs {
		pt, err := tok.EncodePrompt(probs[i].Prompt)
		if err != nil {
			return usageError("sample: prompt: %v", err)
		}
		for s := range ns {
			j := eval.Job{Prompt: pt, Seed: eval.ProblemSeed(seed, probs[i].Family, probs[i].Level, i, s), Problem: &probs[i]}
			if free {
				j.Problem = nil
			}
			jobs = append(jobs, j)
		}
	}
	if len(jobs) == 0 {
		return nil
	}
	d := eval.NewDecoder(p, tok, min(eval.MaxEvalBatch, len(jobs)), sc.MaxNew, workers)
	defer d.Close()
	bw := bufio.NewWriter(c.App.Writer)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	asJSON := c.Bool(jsonFlag.Name)
	err = d.Run(jobs, sc, func(j int, comp *eval.Completion) error {
		i, s := j/ns, j%ns
		pb := &probs[i]
		if asJSON {
			return enc.Encode(&sampleLine{Problem: *pb, Index: i, Sample: s, Completion: comp.Text, Verdict: comp.Verdict,
				Tokens: len(comp.Tokens), Truncated: !comp.Stopped})
		}
		if free {
			fmt.Fprintf(bw, "--- prompt sample %d\n", s)
		} else {
			fmt.Fprintf(bw, "--- %s:%d %s #%d sample %d  key %s\n", pb.Family, pb.Level, pb.Split, i, s, pb.Key)
		}
		fmt.Fprintf(bw, "prompt:     %s\n", pb.Prompt)
		fmt.Fprintf(bw, "completion: %s\n", strings.ReplaceAll(comp.Text, "\n", "\n            "))
		verdict := "wrong"
		switch {
		case comp.Verdict.Correct:
			verdict = "correct"
		case free && comp.Verdict.FormatOK:
			verdict = "format ok"
		case free:
			verdict = "format invalid"
		}
		fmt.Fprintf(bw, "verdict:    %s (%s); %d tokens\n", verdict, comp.Verdict.Reason, len(comp.Tokens))
		if !free {
			fmt.Fprintf(bw, "gold:       %s\n", pb.Answer)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

// scoreLine is one line of score's output.
type scoreLine struct {
	Text     string    `json:"text"`
	Tokens   []string  `json:"tokens"`   // the scored tokens (after the leading <bos>)
	IDs      []int     `json:"ids"`      // their ids
	LogProbs []float32 `json:"logprobs"` // log p(tokens[i] | <bos>, tokens[:i]) under softmax(logits/T)
	Total    float64   `json:"total"`    // sum of logprobs
}

func scoreAction(c *cli.Context) error {
	arg, err := oneCheckpoint(c, "score")
	if err != nil {
		return err
	}
	text, file := c.String(textFlag.Name), c.String(textFileFlag.Name)
	if (text == "") == (file == "") {
		return usageError("score: want exactly one of --text TEXT and --file FILE")
	}
	temp := c.Float64(scoreTemperatureFlag.Name)
	if !(temp > 0) || temp > 1e6 {
		return usageError("score: --temperature = %g: want a value > 0", temp)
	}
	cfg := eval.DefaultEvalConfig()
	if _, err := applyFlags(c, scoreFields, &cfg); err != nil {
		return err
	}
	workers := cfg.Workers
	if workers < 1 || workers > 256 {
		return usageError("score: --workers = %d: want 1 to 256", workers)
	}
	texts := []string{text}
	if file != "" {
		if texts, err = readLines(c, file); err != nil {
			return err
		}
	}
	tok := data.NewTokenizer()
	p, _, err := rl.LoadPolicy(arg, tok)
	if err != nil {
		return err
	}
	e := model.NewEngine(p, 1, p.Cfg.Context, workers)
	defer e.Close()
	bw := bufio.NewWriter(c.App.Writer)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i, t := range texts {
		toks, lps, err := eval.ScoreText(e, tok, t, c.Bool(eosFlag.Name), float32(temp))
		if err != nil {
			return fmt.Errorf("score: text %d: %w", i+1, err)
		}
		ids, _ := tok.EncodePrompt(t)
		if c.Bool(eosFlag.Name) {
			ids = append(ids, data.EOS)
		}
		line := scoreLine{Text: t, Tokens: toks[1:], IDs: ids[1:], LogProbs: lps}
		for _, lp := range lps {
			line.Total += float64(lp)
		}
		if err := enc.Encode(&line); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// readLines reads the non-empty lines of a file (- for standard input).
func readLines(c *cli.Context, name string) ([]string, error) {
	var r io.Reader = os.Stdin
	if c.App.Reader != nil {
		r = c.App.Reader
	}
	if name != "-" {
		fh, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("score: %w", err)
		}
		defer fh.Close()
		r = fh
	}
	var lines []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if s := strings.TrimRight(sc.Text(), "\r"); s != "" {
			lines = append(lines, s)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("score: %s: a line is longer than 1 MB: want one text per line", name)
		}
		return nil, fmt.Errorf("score: %w", err)
	}
	return lines, nil
}
