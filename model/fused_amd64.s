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

// func adamwArr(pr, gr, mo, ve *float32, n int, c *[9]float32, decay bool)
// One AdamW step on n elements, n % 8 == 0, with c = gs, fb1, ib1, fb2,
// ib2, decay, step, rbc2, eps (AdamW.Update) on p = pr, g = gr, m = mo,
// v = ve: gi = g*gs; m = fb1*m +
// ib1*gi; v = fb2*v + (ib2*gi)*gi; if decay, p *= decay; p -= (step*m) /
// (sqrt(v)*rbc2 + eps); g = 0. Update's Go loop's operations in its order,
// one rounding each (VSQRTPS rounds as its float64 sqrt then float32
// does), so the same bits.
TEXT ·adamwArr(SB), NOSPLIT, $0-49
	MOVQ         pr+0(FP), DI
	MOVQ         gr+8(FP), SI
	MOVQ         mo+16(FP), R8
	MOVQ         ve+24(FP), R9
	MOVQ         n+32(FP), CX
	MOVQ         c+40(FP), AX
	MOVBLZX      decay+48(FP), DX
	VBROADCASTSS 0(AX), Y8
	VBROADCASTSS 4(AX), Y9
	VBROADCASTSS 8(AX), Y10
	VBROADCASTSS 12(AX), Y11
	VBROADCASTSS 16(AX), Y12
	VBROADCASTSS 20(AX), Y13
	VBROADCASTSS 24(AX), Y14
	VBROADCASTSS 28(AX), Y15
	VBROADCASTSS 32(AX), Y5
	VXORPS       Y7, Y7, Y7
	TESTQ        CX, CX
	JZ           adone

aloop:
	VMULPS       (SI), Y8, Y0
	VMULPS       (R8), Y9, Y1
	VMULPS       Y0, Y10, Y2
	VADDPS       Y2, Y1, Y1
	VMOVUPS      Y1, (R8)
	VMULPS       Y0, Y12, Y2
	VMULPS       Y0, Y2, Y2
	VMULPS       (R9), Y11, Y3
	VADDPS       Y2, Y3, Y3
	VMOVUPS      Y3, (R9)
	VMOVUPS      (DI), Y4
	TESTL        DX, DX
	JZ           anodecay
	VMULPS       Y13, Y4, Y4

anodecay:
	VMULPS       Y1, Y14, Y1
	VSQRTPS      Y3, Y3
	VMULPS       Y15, Y3, Y3
	VADDPS       Y5, Y3, Y3
	VDIVPS       Y3, Y1, Y1
	VSUBPS       Y1, Y4, Y4
	VMOVUPS      Y4, (DI)
	VMOVUPS      Y7, (SI)
	ADDQ         $32, DI
	ADDQ         $32, SI
	ADDQ         $32, R8
	ADDQ         $32, R9
	SUBQ         $8, CX
	JNZ          aloop

adone:
	VZEROUPPER
	RET

// func maxArr(x *float32, n int) float32
// The largest of x[0:n], n % 8 == 0, n >= 8, by VMAXPS: exact, so any
// order gives the same value for finite x (a zero's sign may differ from a
// scalar loop's, which subtracting it and exp cannot tell apart).
TEXT ·maxArr(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VMOVUPS      (SI), Y0
	ADDQ         $32, SI
	SUBQ         $8, CX
	JZ           mreduce

mloop:
	VMAXPS       (SI), Y0, Y0
	ADDQ         $32, SI
	SUBQ         $8, CX
	JNZ          mloop

mreduce:
	VEXTRACTF128 $1, Y0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0x4E, X0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0xB1, X0, X1
	VMAXPS       X1, X0, X0
	VZEROUPPER
	MOVSS        X0, ret+16(FP)
	RET

// func subScalarArr(x *float32, n int, s float32)
// x[i] -= s for i < n, n % 8 == 0: one rounding each, as the Go loop.
TEXT ·subScalarArr(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS s+16(FP), Y1
	TESTQ        CX, CX
	JZ           sdone

sloop:
	VMOVUPS      (SI), Y0
	VSUBPS       Y1, Y0, Y0
	VMOVUPS      Y0, (SI)
	ADDQ         $32, SI
	SUBQ         $8, CX
	JNZ          sloop

sdone:
	VZEROUPPER
	RET

// func mulScalarArr(x *float32, n int, s float32)
// x[i] *= s for i < n, n % 8 == 0: one rounding each, as the Go loop.
TEXT ·mulScalarArr(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS s+16(FP), Y1
	TESTQ        CX, CX
	JZ           udone

uloop:
	VMULPS       (SI), Y1, Y0
	VMOVUPS      Y0, (SI)
	ADDQ         $32, SI
	SUBQ         $8, CX
	JNZ          uloop

udone:
	VZEROUPPER
	RET

// func layerNormArr(y, x, gain, bias *float32, n int, mean, rstd float32)
// y[i] = ((x[i] - mean) * rstd) * gain[i] + bias[i] for i < n, n % 8 == 0:
// layerNormRowGo's operations in its order, one rounding each (no FMA),
// so the same bits; each with the first operand the compiled Go loop gives
// it (here its left one), which decides a NaN's payload when both are NaN.
TEXT ·layerNormArr(SB), NOSPLIT, $0-48
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         gain+16(FP), R8
	MOVQ         bias+24(FP), R9
	MOVQ         n+32(FP), CX
	VBROADCASTSS mean+40(FP), Y1
	VBROADCASTSS rstd+44(FP), Y2
	TESTQ        CX, CX
	JZ           lndone

lnloop:
	VMOVUPS      (SI), Y0
	VSUBPS       Y1, Y0, Y0
	VMULPS       Y2, Y0, Y0
	VMULPS       (R8), Y0, Y0
	VADDPS       (R9), Y0, Y0
	VMOVUPS      Y0, (DI)
	ADDQ         $32, SI
	ADDQ         $32, R8
	ADDQ         $32, R9
	ADDQ         $32, DI
	SUBQ         $8, CX
	JNZ          lnloop

lndone:
	VZEROUPPER
	RET

// func layerNormGradArr(dx, x, gain, dy *float32, n int, c *[4]float32)
// With c = mean, rstd, sg, sgx: dx[i] = rstd * ((dy[i]*gain[i] - sg) -
// ((x[i] - mean) * rstd) * sgx) for i < n, n % 8 == 0: layerNormGradRowGo's
// operations in its order, one rounding each (no FMA), so the same bits;
// each with the first operand the compiled Go loop gives it (its left one,
// but rstd * (...) multiplies the difference by rstd), which decides a
// NaN's payload when both are NaN (TestLayerNormVecSpecialsMatchGo).
TEXT ·layerNormGradArr(SB), NOSPLIT, $0-48
	MOVQ         dx+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         gain+16(FP), R8
	MOVQ         dy+24(FP), R9
	MOVQ         n+32(FP), CX
	MOVQ         c+40(FP), AX
	VBROADCASTSS 0(AX), Y4
	VBROADCASTSS 4(AX), Y5
	VBROADCASTSS 8(AX), Y6
	VBROADCASTSS 12(AX), Y7
	TESTQ        CX, CX
	JZ           lgdone

lgloop:
	VMOVUPS      (R9), Y0
	VMULPS       (R8), Y0, Y0
	VSUBPS       Y6, Y0, Y0
	VMOVUPS      (SI), Y1
	VSUBPS       Y4, Y1, Y1
	VMULPS       Y5, Y1, Y1
	VMULPS       Y7, Y1, Y1
	VSUBPS       Y1, Y0, Y0
	VMULPS       Y5, Y0, Y0
	VMOVUPS      Y0, (DI)
	ADDQ         $32, SI
	ADDQ         $32, R8
	ADDQ         $32, R9
	ADDQ         $32, DI
	SUBQ         $8, CX
	JNZ          lgloop

lgdone:
	VZEROUPPER
	RET
