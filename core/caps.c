// SPDX-License-Identifier: MIT
#include "core/caps.h"
#include "arch/x86/msr.h"
#include "arch/x86/vmx.h"

int tv_check_caps(const struct tv_vmx_caps *c, const char **why)
{
	static const struct {
		u64 bit;
		const char *name;
	} ept_needs[] = {
		{ EPT_CAP_WALK4, "EPT 4-level walk" },
		{ EPT_CAP_WB, "EPT write-back memory type" },
		{ EPT_CAP_2MB, "EPT 2 MB pages" },
		{ EPT_CAP_INVEPT, "INVEPT" },
		{ EPT_CAP_INVEPT_SINGLE, "INVEPT single-context" },
		{ EPT_CAP_INVEPT_ALL, "INVEPT all-context" },
		{ VPID_CAP_INVVPID, "INVVPID" },
		{ VPID_CAP_INVVPID_SINGLE, "INVVPID single-context" },
		{ VPID_CAP_INVVPID_ALL, "INVVPID all-context" },
	};
	unsigned int i;

	if (VMX_BASIC_MEMTYPE(c->basic) != 6) {
		*why = "VMCS memory type is not write-back";
		return TV_ERR_VMX_CAPS;
	}
	if (VMX_BASIC_REGION_SIZE(c->basic) == 0 ||
	    VMX_BASIC_REGION_SIZE(c->basic) > TV_PAGE_SIZE) {
		*why = "VMXON/VMCS region size is not within one page";
		return TV_ERR_VMX_CAPS;
	}
	/* Bit 48: addresses limited to 32 bits; only on old 32-bit parts. */
	if (c->basic & TV_BIT(48)) {
		*why = "VMX physical addresses limited to 32 bits";
		return TV_ERR_VMX_CAPS;
	}
	for (i = 0; i < TV_ARRAY_SIZE(ept_needs); i++) {
		if (!(c->ept_vpid & ept_needs[i].bit)) {
			*why = ept_needs[i].name;
			return TV_ERR_EPT_CAPS;
		}
	}
	*why = NULL;
	return TV_OK;
}

/* Set @bit in @*ctl, or fail when the CPU cannot. */
static bool want_bit(u64 cap, u32 *ctl, u32 bit)
{
	*ctl |= bit;
	return (u32)(cap >> 32) & bit;
}

int tv_choose_controls(const struct tv_vmx_caps *c,
		       const struct tv_cpu_features *f,
		       struct tv_controls *out, const char **why)
{
	u32 pin = 0, proc = 0, proc2 = 0, exit = 0, entry = 0;
	u64 proc2_cap = c->proc2;

	memset(out, 0, sizeof(*out));
	if (!want_bit(c->proc, &proc, PROC_USE_MSR_BITMAPS)) {
		*why = "MSR bitmaps";
		return TV_ERR_VMX_CAPS;
	}
	if (!want_bit(c->proc, &proc, PROC_SECONDARY_CONTROLS)) {
		*why = "secondary processor-based controls";
		return TV_ERR_VMX_CAPS;
	}
	if (!want_bit(proc2_cap, &proc2, PROC2_ENABLE_EPT)) {
		*why = "EPT";
		return TV_ERR_VMX_CAPS;
	}
	if (!want_bit(proc2_cap, &proc2, PROC2_ENABLE_VPID)) {
		*why = "VPID";
		return TV_ERR_VMX_CAPS;
	}
	/*
	 * Instructions the guest may use that raise #UD in VMX non-root
	 * operation unless enabled: refuse rather than break the guest.
	 */
	if (f->rdtscp && !want_bit(proc2_cap, &proc2, PROC2_ENABLE_RDTSCP)) {
		*why = "enable RDTSCP";
		return TV_ERR_VMX_CAPS;
	}
	if (f->invpcid && !want_bit(proc2_cap, &proc2, PROC2_ENABLE_INVPCID)) {
		*why = "enable INVPCID";
		return TV_ERR_VMX_CAPS;
	}
	if (f->xsaves && !want_bit(proc2_cap, &proc2, PROC2_ENABLE_XSAVES)) {
		*why = "enable XSAVES/XRSTORS";
		return TV_ERR_VMX_CAPS;
	}
	if (f->waitpkg &&
	    !want_bit(proc2_cap, &proc2, PROC2_ENABLE_USER_WAIT_PAUSE)) {
		*why = "enable user wait and pause";
		return TV_ERR_VMX_CAPS;
	}
	/* Unrestricted guest lets an INIT'ed CPU run real mode under us. */
	out->unrestricted_guest = want_bit(proc2_cap, &proc2,
					   PROC2_UNRESTRICTED_GUEST);
	if (!out->unrestricted_guest)
		proc2 &= ~(u32)PROC2_UNRESTRICTED_GUEST;

	if (!want_bit(c->exit, &exit, EXIT_HOST_ADDR_SPACE_SIZE) ||
	    !want_bit(c->exit, &exit, EXIT_SAVE_EFER) ||
	    !want_bit(c->exit, &exit, EXIT_LOAD_EFER) ||
	    !want_bit(c->exit, &exit, EXIT_SAVE_DEBUG_CONTROLS)) {
		*why = "VM-exit controls (64-bit host, EFER, debug controls)";
		return TV_ERR_VMX_CAPS;
	}
	if (!want_bit(c->entry, &entry, ENTRY_IA32E_MODE_GUEST) ||
	    !want_bit(c->entry, &entry, ENTRY_LOAD_EFER) ||
	    !want_bit(c->entry, &entry, ENTRY_LOAD_DEBUG_CONTROLS)) {
		*why = "VM-entry controls (64-bit guest, EFER, debug controls)";
		return TV_ERR_VMX_CAPS;
	}

	out->pin = tv_adjust_controls(c->pin, pin);
	out->proc = tv_adjust_controls(c->proc, proc);
	out->proc2 = tv_adjust_controls(proc2_cap, proc2);
	out->exit = tv_adjust_controls(c->exit, exit);
	out->entry = tv_adjust_controls(c->entry, entry);
	out->ept_1gb = c->ept_vpid & EPT_CAP_1GB;

	/*
	 * The guest owns every CR bit except those VMX pins: a write that
	 * would change a pinned bit exits, and CR4.VMXE reads as 0.
	 * Unrestricted guest frees CR0.PE and CR0.PG.
	 */
	out->cr0_mask = (c->cr0_fixed0 | ~c->cr0_fixed1) & 0xffffffffULL;
	if (out->unrestricted_guest)
		out->cr0_mask &= ~(CR0_PE | CR0_PG);
	out->cr4_mask = ((c->cr4_fixed0 | ~c->cr4_fixed1) & 0xffffffffULL) |
			CR4_VMXE;
	*why = NULL;
	return TV_OK;
}

struct tv_vmcs_field_info tv_vmcs_field_decode(u32 enc)
{
	struct tv_vmcs_field_info fi;

	fi.high = enc & 1;
	fi.index = (enc >> 1) & 0x1ff;
	fi.type = (enum tv_vmcs_type)((enc >> 10) & 3);
	fi.width = (enum tv_vmcs_width)((enc >> 13) & 3);
	/* Bit 12 and bits 31:15 are reserved; only 64-bit fields have "high". */
	fi.valid = !(enc & 0xffff9000u) && !(fi.high && fi.width != TV_W64);
	return fi;
}
