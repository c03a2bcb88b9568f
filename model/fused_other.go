//go:build !amd64 || purego

package model

// The vector row kernels exist only on amd64 (fused_amd64.go); elsewhere
// useAVX is false and the Go loops run.

func addVecAVX(dst, a, b []float32) { panic("model: addVecAVX: not built for this platform") }

func geluVecAVX(x []float32) { panic("model: geluVecAVX: not built for this platform") }

func geluGradVecAVX(du, x, v, dy []float32) {
	panic("model: geluGradVecAVX: not built for this platform")
}

func adamwVecAVX(p, g, m, v []float32, c *[9]float32, decay bool) int {
	panic("model: adamwVecAVX: not built for this platform")
}

func softmaxRowAVX(seg []float32) { panic("model: softmaxRowAVX: not built for this platform") }

func layerNormVecAVX(y, x, gain, bias []float32, mean, rstd float32) int {
	panic("model: layerNormVecAVX: not built for this platform")
}

func layerNormGradVecAVX(dx, x, gain, dy []float32, mean, rstd, sg, sgx float32) int {
	panic("model: layerNormGradVecAVX: not built for this platform")
}

func layerNormGainGradVecAVX(dgain, x, dy []float32, mean, rstd float32) int {
	panic("model: layerNormGainGradVecAVX: not built for this platform")
}
