/* SPDX-License-Identifier: MIT */
/*
 * u64 ntshim_ms_call(fn, a1, a2, a3, a4): the kernel runs on 8-byte stack
 * alignment, the Microsoft x64 ABI promises the callee 16 and 32 bytes of
 * home space.  Arguments move from rdi..r8 to rcx, rdx, r8, r9; the
 * registers the Microsoft ABI lets the callee clobber (rax, rcx, rdx,
 * r8-r11) are caller-saved in the kernel's ABI too, and it preserves rsi
 * and rdi besides, so nothing else needs saving.
 */
#include <linux/linkage.h>
#include <asm/nospec-branch.h>

SYM_FUNC_START(ntshim_ms_call)
	push	%rbp
	mov	%rsp, %rbp
	and	$-16, %rsp
	sub	$32, %rsp
	mov	%rdi, %rax
	mov	%rcx, %r10
	mov	%r8, %r9
	mov	%r10, %r8
	mov	%rsi, %rcx
	CALL_NOSPEC rax
	leave
	RET
SYM_FUNC_END(ntshim_ms_call)
