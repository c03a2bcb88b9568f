//go:build !amd64 || purego

package model

// linearAVX exists only on amd64; elsewhere (or with -tags purego) the
// engine uses the pure-Go kernel.
func linearAVX(a *linArgs, r0, r1, j0, j1 int, scratch []float32) {
	panic("model: linearAVX: not built for this platform")
}

func attendHeadAVX(out, s, q, Kt, V []float32, ldb, hd int, scale float32) {
	panic("model: attendHeadAVX: not built for this platform")
}

func attendHeadPairAVX(out0, out1, s0, s1, q0, q1, Kt0, Kt1, V0, V1 []float32, ldb, hd int, scale float32) {
	panic("model: attendHeadPairAVX: not built for this platform")
}

func attendPanelAVX(out []float32, ldo int, P []float32, ldp int, q []float32, ldq int, Kt []float32, ldb int, V []float32, hd, p0 int, scale float32) {
	panic("model: attendPanelAVX: not built for this platform")
}

func expVec(x []float32) { panic("model: expVec: not built for this platform") }

func epilogueRowAVX(dst, c, b []float32, j0, j1 int, epi epilogue) {
	panic("model: epilogueRowAVX: not built for this platform")
}

func cpuRelax() {}
