package checkpoints_test

import (
	"encoding/json"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"

	"tinyr1/checkpoints"
)

// A trainer saves into a run folder and resumes from its latest checkpoint,
// refusing one written for a different model.
func Example() {
	dir, err := os.MkdirTemp("", "run")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	run := checkpoints.OpenRun(dir)

	cfg := json.RawMessage(`{"d_model":2,"n_layer":1}`)
	for step := 100; step <= 300; step += 100 {
		c := &checkpoints.Checkpoint{
			Header:  checkpoints.Header{RunID: "demo", Step: step, ModelConfig: cfg},
			Tensors: []checkpoints.Tensor{{Name: "model.lnf.g", Shape: []int{2}, Data: []float32{1, 1}}},
		}
		score := math.NaN() // not validated at this step
		if step == 200 {
			score = 0.5
		}
		if _, err := run.SaveStep(c, score, checkpoints.Retention{KeepLast: 1}); err != nil {
			log.Fatal(err)
		}
	}

	latest, _ := run.Latest()
	best, _ := run.Best()
	c, err := checkpoints.Load(latest)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("resume after step", c.Header.Step, "from", filepath.Base(latest))
	fmt.Println("best", filepath.Base(best))
	fmt.Println(checkpoints.CheckConfig(c, json.RawMessage(`{"d_model":4,"n_layer":1}`)) != nil)
	// Output:
	// resume after step 300 from step-0000300.ckpt
	// best step-0000200.ckpt
	// true
}
