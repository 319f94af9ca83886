/* SPDX-License-Identifier: MIT */
/* VMX entry/exit stub: filled in with the VMM core. */
	.text
