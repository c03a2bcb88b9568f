package rl

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"tinyr1/checkpoints"
	"tinyr1/data"
	"tinyr1/model"
)

// LoadPolicy resolves path (a checkpoint file, or a run folder meaning its
// latest checkpoint), loads it, checks that it was written with this
// tokenizer's vocabulary and rebuilds the model parameters.
func LoadPolicy(path string, tok *data.Tokenizer) (*model.Params, *checkpoints.Checkpoint, error) {
	file, err := checkpoints.ResolvePath(path)
	if err != nil {
		return nil, nil, err
	}
	ck, err := checkpoints.Load(file)
	if err != nil {
		return nil, nil, err
	}
	if err := tok.CheckTokens(ck.Header.Vocab); err != nil {
		return nil, nil, fmt.Errorf("rl: checkpoint %s: %w", file, err)
	}
	p, err := ParamsFromCheckpoint(ck)
	if err != nil {
		return nil, nil, err
	}
	return p, ck, nil
}

// ModelConfig returns the checkpoint's model config after checking it
// against model.Config's bounds and against the tensor table: the wte, wpe
// and first MLP shapes, the number of "model.*" tensors and their elements.
// A header that claims a bigger model than the file holds is refused here,
// before anything is sized from it.
func ModelConfig(ck *checkpoints.Checkpoint) (model.Config, error) {
	var mcfg model.Config
	if err := json.Unmarshal(ck.Header.ModelConfig, &mcfg); err != nil {
		return mcfg, fmt.Errorf("rl: checkpoint %s: model config: %v", ck.File, err)
	}
	if err := mcfg.Validate(); err != nil {
		return mcfg, fmt.Errorf("rl: checkpoint %s: %s", ck.File, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	for _, w := range []struct {
		name  string
		shape []int
	}{{"wte", []int{mcfg.Vocab, mcfg.Dim}}, {"wpe", []int{mcfg.Context, mcfg.Dim}}, {"h.0.mlp.w1", []int{mcfg.Dim, mcfg.MLP}}} {
		t, ok := ck.Tensor("model." + w.name)
		if !ok {
			return mcfg, fmt.Errorf("rl: checkpoint %s has no tensor model.%s: want every tensor of the model", ck.File, w.name)
		}
		if !slices.Equal(t.Shape, w.shape) {
			return mcfg, fmt.Errorf("rl: checkpoint %s: model config %s says model.%s is %v: the tensor table has %v",
				ck.File, ck.Header.ModelConfig, w.name, w.shape, t.Shape)
		}
	}
	tensors := 0
	for i := range ck.Tensors {
		if strings.HasPrefix(ck.Tensors[i].Name, "model.") {
			tensors++
		}
	}
	wantTensors := 4 + 12*mcfg.Layers
	if !mcfg.Tied {
		wantTensors++
	}
	if tensors != wantTensors || ck.NumElements("model.") != mcfg.NumParams() {
		return mcfg, fmt.Errorf("rl: checkpoint %s: model config %s means %d tensors of %d parameters: the tensor table has %d of %d",
			ck.File, ck.Header.ModelConfig, wantTensors, mcfg.NumParams(), tensors, ck.NumElements("model."))
	}
	return mcfg, nil
}

// ParamsFromCheckpoint rebuilds the model parameters ("model.*" tensors)
// from a checkpoint, checking every name and shape.
func ParamsFromCheckpoint(ck *checkpoints.Checkpoint) (*model.Params, error) {
	mcfg, err := ModelConfig(ck)
	if err != nil {
		return nil, err
	}
	p := model.NewParams(mcfg)
	if err := CopyTensors(p, ck, "model.", p.Data); err != nil {
		return nil, err
	}
	return p, nil
}

// CopyTensors fills dst (laid out like p.Data) from the checkpoint tensors
// prefix+name.
func CopyTensors(p *model.Params, ck *checkpoints.Checkpoint, prefix string, dst []float32) error {
	for _, t := range p.Tensors {
		ct, ok := ck.Tensor(prefix + t.Name)
		if !ok {
			return fmt.Errorf("rl: checkpoint %s has no tensor %s%s: want every tensor of the model", ck.File, prefix, t.Name)
		}
		if !slices.Equal(ct.Shape, t.Shape) {
			return fmt.Errorf("rl: checkpoint %s tensor %s%s has shape %v: want %v", ck.File, prefix, t.Name, ct.Shape, t.Shape)
		}
		copy(dst[t.Offset:t.Offset+len(t.Data)], ct.Data)
	}
	return nil
}
