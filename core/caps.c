// SPDX-License-Identifier: MIT
#include "core/caps.h"
#include "arch/x86/msr.h"
#include "arch/x86/vmx.h"

/*
 * IA32_VMX_MISC bit 8: the wait-for-SIPI activity state is supported (SDM
 * A.6); arch/x86/msr.h does not name it.
 */
#define VMX_MISC_WAIT_FOR_SIPI TV_BIT(8)

/* Can secondary control @bit be 1?  (@c->proc2 is 0 without secondary.) */
static bool proc2_allowed(const struct tv_vmx_caps *c, u32 bit)
{
	return ((u32)(c->proc >> 32) & PROC_SECONDARY_CONTROLS) &&
	       ((u32)(c->proc2 >> 32) & bit);
}

int tv_check_caps(const struct tv_vmx_caps *c, const char **why)
{
	/*
	 * INVEPT/INVVPID single-context are not required: tv_invept_type()
	 * and tv_invvpid_type() fall back to all-context.
	 */
	static const struct {
		u64 bit;
		const char *name;
	} ept_needs[] = {
		{ EPT_CAP_WALK4, "EPT 4-level walk" },
		{ EPT_CAP_WB, "EPT write-back memory type" },
		{ EPT_CAP_2MB, "EPT 2 MB pages" },
		{ EPT_CAP_INVEPT, "INVEPT" },
		{ EPT_CAP_INVEPT_ALL, "INVEPT all-context" },
	}, vpid_needs[] = {
		{ VPID_CAP_INVVPID, "INVVPID" },
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
	/* EPT first: a CPU without it lacks most of the rest too. */
	if (!proc2_allowed(c, PROC2_ENABLE_EPT)) {
		*why = "EPT";
		return TV_ERR_EPT_CAPS;
	}
	for (i = 0; i < TV_ARRAY_SIZE(ept_needs); i++) {
		if (!(c->ept_vpid & ept_needs[i].bit)) {
			*why = ept_needs[i].name;
			return TV_ERR_EPT_CAPS;
		}
	}
	if (!proc2_allowed(c, PROC2_ENABLE_VPID)) {
		*why = "VPID";
		return TV_ERR_EPT_CAPS;
	}
	for (i = 0; i < TV_ARRAY_SIZE(vpid_needs); i++) {
		if (!(c->ept_vpid & vpid_needs[i].bit)) {
			*why = vpid_needs[i].name;
			return TV_ERR_EPT_CAPS;
		}
	}
	/*
	 * INIT/SIPI: a CPU INIT'ed under the VMM waits for SIPI in that
	 * activity state and then runs real mode, which needs unrestricted
	 * guest.  Refuse now rather than panic when an INIT arrives.
	 */
	if (!proc2_allowed(c, PROC2_UNRESTRICTED_GUEST)) {
		*why = "unrestricted guest";
		return TV_ERR_VMX_CAPS;
	}
	if (!(c->misc & VMX_MISC_WAIT_FOR_SIPI)) {
		*why = "wait-for-SIPI activity state";
		return TV_ERR_VMX_CAPS;
	}
	*why = NULL;
	return TV_OK;
}

TV_VMX_ROOT u32 tv_invvpid_type(const struct tv_vmx_caps *c, u32 wanted)
{
	/* Each type and the narrower-first types that flush at least as much. */
	static const u64 cap[] = {
		[INVVPID_ADDRESS] = VPID_CAP_INVVPID_ADDR,
		[INVVPID_SINGLE_CONTEXT] = VPID_CAP_INVVPID_SINGLE,
		[INVVPID_ALL_CONTEXT] = VPID_CAP_INVVPID_ALL,
		[INVVPID_SINGLE_CONTEXT_GLOBALS] =
			VPID_CAP_INVVPID_SINGLE_GLOBALS,
	};

	if (wanted < TV_ARRAY_SIZE(cap) && (c->ept_vpid & cap[wanted]))
		return wanted;
	/*
	 * Individual-address also drops global translations of its address,
	 * which single-context-retaining-globals keeps: both fall back to
	 * single-context (SDM 30.3, INVVPID), then all-context.
	 */
	if (wanted != INVVPID_ALL_CONTEXT &&
	    (c->ept_vpid & VPID_CAP_INVVPID_SINGLE))
		return INVVPID_SINGLE_CONTEXT;
	return INVVPID_ALL_CONTEXT;
}

u32 tv_invept_type(const struct tv_vmx_caps *c, u32 wanted)
{
	if (wanted == INVEPT_SINGLE_CONTEXT &&
	    (c->ept_vpid & EPT_CAP_INVEPT_SINGLE))
		return INVEPT_SINGLE_CONTEXT;
	return INVEPT_ALL_CONTEXT;
}

/* Set @bit in @*ctl, or fail when the CPU cannot. */
static bool want_bit(u64 cap, u32 *ctl, u32 bit)
{
	*ctl |= bit;
	return (u32)(cap >> 32) & bit;
}

static const char *const maxphyaddr_why[] = {
	"MAXPHYADDR 49 needs 5-level EPT", "MAXPHYADDR 50 needs 5-level EPT",
	"MAXPHYADDR 51 needs 5-level EPT", "MAXPHYADDR 52 needs 5-level EPT",
};

int tv_choose_controls(const struct tv_vmx_caps *c,
		       const struct tv_cpu_features *f,
		       struct tv_controls *out, const char **why)
{
	u32 pin = 0, proc = 0, proc2 = 0, exit = 0, entry = 0;
	u64 proc2_cap = c->proc2;

	memset(out, 0, sizeof(*out));
	/*
	 * A 4-level EPT walk translates 48-bit guest-physical addresses (SDM
	 * 29.3.1); above that the map needs the 5-level walk (EPTP bits 5:3 =
	 * 4, IA32_VMX_EPT_VPID_CAP bit 7), else memory and MMIO up there
	 * could never be mapped.
	 */
	if (f->phys_bits > 52) {
		*why = "MAXPHYADDR above 52";
		return TV_ERR_EPT_CAPS;
	}
	if (f->phys_bits > 48 && !(c->ept_vpid & EPT_CAP_WALK5)) {
		*why = maxphyaddr_why[f->phys_bits - 49];
		return TV_ERR_EPT_CAPS;
	}
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
	/* An INIT'ed CPU runs real mode under us: no longer optional. */
	if (!want_bit(proc2_cap, &proc2, PROC2_UNRESTRICTED_GUEST)) {
		*why = "unrestricted guest";
		return TV_ERR_VMX_CAPS;
	}
	out->unrestricted_guest = true;

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
	out->ept_walk5 = f->phys_bits > 48;

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
