//go:build !purego

#include "textflag.h"

// math.Exp's constants, with the same literals as Go's
// src/math/exp_amd64.s, so the assembler rounds them to the same float64s.
#define LOG2E 1.4426950408889634073599246810018920 // 1/LN2
#define LN2U 0.69314718055966295651160180568695068359375 // upper half LN2
#define LN2L 0.28235290563031577122588448175013436025525412068e-12 // lower half LN2

// exp64c: LOG2E, LN2U, LN2L, 1/16, then the Taylor coefficients of
// math's exprodata in the order its FMA chain uses them (1/8!, 1/7!, ...,
// 1/3!, 1/2, 1), each once (broadcast into a register).
DATA exp64c<>+0(SB)/8, $LOG2E
DATA exp64c<>+8(SB)/8, $LN2U
DATA exp64c<>+16(SB)/8, $LN2L
DATA exp64c<>+24(SB)/8, $0.0625
DATA exp64c<>+32(SB)/8, $2.4801587301587301587e-5
DATA exp64c<>+40(SB)/8, $1.9841269841269841270e-4
DATA exp64c<>+48(SB)/8, $1.3888888888888888889e-3
DATA exp64c<>+56(SB)/8, $8.3333333333333333333e-3
DATA exp64c<>+64(SB)/8, $4.1666666666666666667e-2
DATA exp64c<>+72(SB)/8, $1.6666666666666666667e-1
DATA exp64c<>+80(SB)/8, $0.5
DATA exp64c<>+88(SB)/8, $1.0
GLOBL exp64c<>(SB), RODATA|NOPTR, $96

// exp64two: 2.0 in each lane, for the squarings.
DATA exp64two<>+0(SB)/8, $2.0
DATA exp64two<>+8(SB)/8, $2.0
DATA exp64two<>+16(SB)/8, $2.0
DATA exp64two<>+24(SB)/8, $2.0
GLOBL exp64two<>(SB), RODATA|NOPTR, $32

// exp64bias: the exponent bias 0x3FF and the largest biased exponent of a
// finite float64, 0x7FE, four int32 lanes each.
DATA exp64bias<>+0(SB)/4, $0x3FF
DATA exp64bias<>+4(SB)/4, $0x3FF
DATA exp64bias<>+8(SB)/4, $0x3FF
DATA exp64bias<>+12(SB)/4, $0x3FF
DATA exp64bias<>+16(SB)/4, $0x7FE
DATA exp64bias<>+20(SB)/4, $0x7FE
DATA exp64bias<>+24(SB)/4, $0x7FE
DATA exp64bias<>+28(SB)/4, $0x7FE
GLOBL exp64bias<>(SB), RODATA|NOPTR, $32

// func exp64x4(dst, x *float64, n int) int
//
// dst[i] = math.Exp(x[i]) for i < n, n % 4 == 0, 4 lanes at a time: the
// instructions of math's archExp on its FMA path (avxfma), in its order,
// one lane per float64, so each lane rounds as math.Exp does. archExp
// leaves that path for a not-finite x, x > Overflow, and a result that
// would be subnormal, zero or infinite; here each of those shows as the
// biased exponent e + 0x3FF outside [1, 0x7FE] (for NaN, +-Inf and
// |x * LOG2E| >= 2^31, VCVTPD2DQ gives 0x80000000; x > Overflow gives e >=
// 1024). The first group of 4 with such a lane is left unwritten and its
// index returned, for the caller to compute with math.Exp; n when there is
// none.
TEXT ·exp64x4(SB), NOSPLIT, $0-32
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	LEAQ         exp64c<>(SB), R8
	VBROADCASTSD 0(R8), Y4   // LOG2E
	VBROADCASTSD 8(R8), Y5   // LN2U
	VBROADCASTSD 16(R8), Y6  // LN2L
	VBROADCASTSD 24(R8), Y7  // 1/16
	VBROADCASTSD 32(R8), Y8  // 1/8!
	VBROADCASTSD 40(R8), Y9  // 1/7!
	VBROADCASTSD 48(R8), Y10 // 1/6!
	VBROADCASTSD 56(R8), Y11 // 1/5!
	VBROADCASTSD 64(R8), Y12 // 1/4!
	VBROADCASTSD 72(R8), Y13 // 1/3!
	VBROADCASTSD 80(R8), Y14 // 1/2
	VBROADCASTSD 88(R8), Y15 // 1
	XORQ         AX, AX

e64loop:
	CMPQ         AX, CX
	JGE          e64done
	VMOVUPD      (SI)(AX*8), Y0
	VMULPD       Y4, Y0, Y1     // x * LOG2E
	VCVTPD2DQY   Y1, X2         // e = round(x * LOG2E), by MXCSR as CVTSD2SL
	VCVTDQ2PD    X2, Y1
	VFNMADD231PD Y5, Y1, Y0     // x - e*LN2U, one rounding
	VFNMADD231PD Y6, Y1, Y0     // - e*LN2L, one rounding
	VMULPD       Y7, Y0, Y0     // r = that / 16
	VMOVAPD      Y8, Y1
	VFMADD213PD  Y9, Y0, Y1     // p = p*r + c, from 1/8! down to 1
	VFMADD213PD  Y10, Y0, Y1
	VFMADD213PD  Y11, Y0, Y1
	VFMADD213PD  Y12, Y0, Y1
	VFMADD213PD  Y13, Y0, Y1
	VFMADD213PD  Y14, Y0, Y1
	VFMADD213PD  Y15, Y0, Y1
	VMULPD       Y1, Y0, Y0     // y = r * p = exp(r) - 1
	VADDPD       exp64two<>(SB), Y0, Y1
	VMULPD       Y1, Y0, Y0     // y = y * (y + 2), four times: exp(16r) - 1
	VADDPD       exp64two<>(SB), Y0, Y1
	VMULPD       Y1, Y0, Y0
	VADDPD       exp64two<>(SB), Y0, Y1
	VMULPD       Y1, Y0, Y0
	VADDPD       exp64two<>(SB), Y0, Y1
	VFMADD213PD  Y15, Y1, Y0    // the last with the + 1 fused: exp(16r)

	// ldexp: every lane's biased exponent in [1, 0x7FE], or leave.
	VPADDD       exp64bias<>+0(SB), X2, X2
	VPXOR        X3, X3, X3
	VPCMPGTD     X3, X2, X3                 // e > 0
	VPCMPGTD     exp64bias<>+16(SB), X2, X1 // e > 0x7FE
	VPANDN       X3, X1, X1
	VMOVMSKPS    X1, BX
	CMPQ         BX, $15
	JNE          e64done
	VPMOVZXDQ    X2, Y2
	VPSLLQ       $52, Y2, Y2 // 2^e
	VMULPD       Y2, Y0, Y0
	VMOVUPD      Y0, (DI)(AX*8)
	ADDQ         $4, AX
	JMP          e64loop

e64done:
	VZEROUPPER
	MOVQ         AX, ret+24(FP)
	RET
