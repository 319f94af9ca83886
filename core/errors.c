// SPDX-License-Identifier: MIT
#include "core/types.h"

static const char *const tv_err_names[TV_ERR_COUNT] = {
	[TV_OK] = "ok",
	[TV_ERR_NOT_INTEL] = "not an Intel CPU",
	[TV_ERR_NO_VMX] = "CPU has no VMX (CPUID.1:ECX[5] is 0)",
	[TV_ERR_ALREADY_RUNNING] = "thinvisor is already running",
	[TV_ERR_VMX_BUSY] = "VMX is in use (CR4.VMXE set): kvm_intel or another hypervisor holds VMX",
	[TV_ERR_VMX_DISABLED] = "VMX is disabled and locked in IA32_FEATURE_CONTROL: enable VT-x in firmware",
	[TV_ERR_VMX_CAPS] = "VMX capabilities lack what thinvisor needs",
	[TV_ERR_EPT_CAPS] = "EPT/VPID capabilities lack what thinvisor needs",
	[TV_ERR_NO_MEMORY] = "out of memory",
	[TV_ERR_VMXON] = "VMXON failed",
	[TV_ERR_VMCS] = "VMCS setup failed",
	[TV_ERR_VMLAUNCH] = "VMLAUNCH failed",
	[TV_ERR_VMENTRY] = "VM entry failed on guest state",
	[TV_ERR_FAULT_INJECTED] = "injected fault (test build)",
	[TV_ERR_BUSY] = "busy",
	[TV_ERR_INVALID] = "invalid argument",
	[TV_ERR_PLATFORM] = "host platform call failed",
	[TV_ERR_EXISTS] = "already registered",
	[TV_ERR_NO_SPACE] = "table full",
	[TV_ERR_UNSUPPORTED] = "not supported by this CPU",
};

const char *tv_err_name(int err)
{
	if (err < 0)
		err = -err;
	if (err >= TV_ERR_COUNT || !tv_err_names[err])
		return "unknown error";
	return tv_err_names[err];
}
