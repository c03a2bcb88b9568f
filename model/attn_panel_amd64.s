//go:build !purego

#include "textflag.h"

// func scaleExact(x *float32, n int, s float32) bool
// x[i] *= s for i < n (n % 8 == 0), as mulScalarArr, and reports whether
// no product is zero or NaN (attendPanelAVX's test for a mix that needs
// no second pass).
TEXT ·scaleExact(SB), NOSPLIT, $0-25
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS s+16(FP), Y1
	VXORPS       Y2, Y2, Y2
	VXORPS       Y3, Y3, Y3
	TESTQ        CX, CX
	JZ           xdone

xloop:
	VMULPS  (SI), Y1, Y0
	VMOVUPS Y0, (SI)
	VCMPPS  $8, Y2, Y0, Y4 // EQ_UQ: zero or NaN
	VORPS   Y4, Y3, Y3
	ADDQ    $32, SI
	SUBQ    $8, CX
	JNZ     xloop

xdone:
	VMOVMSKPS Y3, AX
	TESTL     AX, AX
	SETEQ     ret+24(FP)
	VZEROUPPER
	RET
