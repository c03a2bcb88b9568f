//go:build !purego

#include "textflag.h"
#include "vexp_amd64.h"

// func geluGradArr(du, x, v, dy *float32, n int, c *[12]float32, gc *[5]float32)
// du[i] = dy[i] * (s + (((2u * s) * (1 - s)) * gc3) * (1 + (gc4 * u) * u))
// for u = x[i] + v[i], s = 1 / (1 + exp(gc1 * (u + ((gc0 * u) * u) * u))),
// i < n, n % 8 == 0: biasGELUGradRowsGo32's operations in its order (no FMA
// outside the exp), with expArr's exp (constants c), so the same bits.
TEXT ·geluGradArr(SB), NOSPLIT, $0-56
	MOVQ         du+0(FP), DI
	MOVQ         x+8(FP), R9
	MOVQ         v+16(FP), R10
	MOVQ         dy+24(FP), R11
	MOVQ         n+32(FP), CX
	MOVQ         c+40(FP), SI
	MOVQ         gc+48(FP), R8
	EXP_CONSTS
	TESTQ        CX, CX
	JZ           ggdone

ggloop:
	VMOVUPS      (R9), Y7
	VADDPS       (R10), Y7, Y7
	GELU_DENOM
	VDIVPS       Y0, Y4, Y0
	VSUBPS       Y0, Y4, Y1
	VBROADCASTSS 8(R8), Y2
	VMULPS       Y7, Y2, Y2
	VMULPS       Y0, Y2, Y2
	VMULPS       Y1, Y2, Y2
	VBROADCASTSS 12(R8), Y1
	VMULPS       Y1, Y2, Y2
	VBROADCASTSS 16(R8), Y1
	VMULPS       Y7, Y1, Y1
	VMULPS       Y7, Y1, Y1
	VADDPS       Y4, Y1, Y1
	VMULPS       Y1, Y2, Y2
	VADDPS       Y2, Y0, Y0
	VMULPS       (R11), Y0, Y0
	VMOVUPS      Y0, (DI)
	ADDQ         $32, R9
	ADDQ         $32, R10
	ADDQ         $32, R11
	ADDQ         $32, DI
	SUBQ         $8, CX
	JNZ          ggloop

ggdone:
	VZEROUPPER
	RET
