// SPDX-License-Identifier: MIT
/*
 * tvctl check: can this machine run thinvisor, and if not, why?
 *
 * Asks what the module asks at load (core/vmm.c: tv_vmm_init), from user
 * mode: CPUID directly, the MSRs through /dev/cpu/N/msr, kvm_intel and
 * module signing through sysfs and efivarfs.  The capability rules are
 * the core's own: core/caps.c is compiled into tvctl, so tv_check_caps()
 * and tv_choose_controls() decide here exactly as they do in the module.
 *
 * What it cannot see from user mode: CR4.VMXE (another hypervisor that
 * holds VMX; insmod then fails with EALREADY) and the VMXON itself.
 */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/caps.h"
#include "core/vmm.h"
#include "arch/x86/msr.h"
#include "arch/x86/vmx.h"
#include "tvctl.h"

enum verdict_kind { CHECK_OK, CHECK_INFO, CHECK_WARN, CHECK_FAIL };

static const char *const kind_names[] = {
	[CHECK_OK] = "ok", [CHECK_INFO] = "info", [CHECK_WARN] = "warn",
	[CHECK_FAIL] = "fail",
};

/* The first failure decides the verdict; later ones are reported too. */
struct check_state {
	const struct tvctl_opts *o;
	int exit;		/* enum tvctl_exit */
	const char *reason;	/* the first failure's */
	const char *err;	/* errno insmod fails with, e.g. "ENXIO" */
	const char *strerr;	/* and what insmod prints for it */
	bool any;		/* a check was printed (JSON commas) */
	char reason_buf[256];
};

static void report(struct check_state *s, const char *name,
		   enum verdict_kind kind, const char *fmt, ...)
	__printf(4, 5);

static void report(struct check_state *s, const char *name,
		   enum verdict_kind kind, const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (s->o->json) {
		printf("%s{\"name\": \"%s\", \"result\": \"%s\", \"detail\": ",
		       s->any ? ", " : "", name, kind_names[kind]);
		json_string(stdout, detail);
		printf("}");
	} else {
		printf("%-20s %-5s %s\n", name, kind_names[kind], detail);
	}
	s->any = true;
}

/*
 * Record a failure: @exit is TVCTL_CANNOT_RUN, TVCTL_NOT_NOW or
 * TVCTL_UNKNOWN; @err the errno insmod fails with (NULL: not known).
 */
static void refuse(struct check_state *s, int exit, const char *err,
		   const char *strerr, const char *fmt, ...)
	__printf(5, 6);

static void refuse(struct check_state *s, int exit, const char *err,
		   const char *strerr, const char *fmt, ...)
{
	va_list ap;

	if (s->exit != TVCTL_OK)
		return;
	va_start(ap, fmt);
	vsnprintf(s->reason_buf, sizeof(s->reason_buf), fmt, ap);
	va_end(ap);
	s->exit = exit;
	s->reason = s->reason_buf;
	s->err = err;
	s->strerr = strerr;
}

/*
 * The errno a load refusal of the core's error @tv_err gives on Linux
 * (platform/linux/main.c: tv_linux_errno(), the README's table), with
 * strerror()'s text, which insmod prints.
 */
static void refusal_errno(int tv_err, const char **name, const char **text)
{
	static const struct {
		int tv_err, err;
		const char *name;
	} map[] = {
		{ TV_ERR_NOT_INTEL, ENODEV, "ENODEV" },
		{ TV_ERR_NO_VMX, EOPNOTSUPP, "EOPNOTSUPP" },
		{ TV_ERR_VMX_CAPS, EPROTONOSUPPORT, "EPROTONOSUPPORT" },
		{ TV_ERR_EPT_CAPS, ENXIO, "ENXIO" },
		{ TV_ERR_ALREADY_RUNNING, EEXIST, "EEXIST" },
		{ TV_ERR_VMX_BUSY, EALREADY, "EALREADY" },
		{ TV_ERR_VMX_DISABLED, EPERM, "EPERM" },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(map); i++) {
		if (map[i].tv_err == tv_err) {
			*name = map[i].name;
			*text = strerror(map[i].err);
			return;
		}
	}
	*name = NULL;
	*text = NULL;
}

static void refuse_tv(struct check_state *s, int exit, int tv_err,
		      const char *why)
{
	const char *name, *text;

	refusal_errno(tv_err, &name, &text);
	if (why)
		refuse(s, exit, name, text, "%s: %s", tv_err_name(tv_err), why);
	else
		refuse(s, exit, name, text, "%s", tv_err_name(tv_err));
}

struct cpuid_regs {
	unsigned int eax, ebx, ecx, edx;
};

static struct cpuid_regs cpuid(unsigned int leaf, unsigned int sub)
{
	struct cpuid_regs r;

	__cpuid_count(leaf, sub, r.eax, r.ebx, r.ecx, r.edx);
	return r;
}

/* CPUID facts that decide controls: the same leaves as core/vmm.c reads. */
static void read_features(struct tv_cpu_features *f)
{
	struct cpuid_regs r;
	unsigned int max;

	memset(f, 0, sizeof(*f));
	max = cpuid(0, 0).eax;
	f->mtrr = cpuid(1, 0).edx & (1u << 12);
	if (max >= 7) {
		r = cpuid(7, 0);
		f->invpcid = r.ebx & (1u << 10);
		f->waitpkg = r.ecx & (1u << 5);
	}
	if (max >= 0xd) {
		r = cpuid(0xd, 0);
		f->xcr0_supported = ((u64)r.edx << 32) | r.eax;
		f->xsaves = cpuid(0xd, 1).eax & (1u << 3);
	}
	max = cpuid(0x80000000, 0).eax;
	if (max >= 0x80000001)
		f->rdtscp = cpuid(0x80000001, 0).edx & (1u << 27);
	f->phys_bits = 36;
	if (max >= 0x80000008)
		f->phys_bits = cpuid(0x80000008, 0).eax & 0xff;
}

static int first_online_cpu(void)
{
	char path[64];
	int cpu;

	for (cpu = 0; cpu < 4096; cpu++) {
		FILE *f;
		int c;

		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
		f = fopen(path, "r");
		if (!f)	/* CPU 0 often has no online file: always online */
			return cpu;
		c = fgetc(f);
		fclose(f);
		if (c == '1')
			return cpu;
	}
	return 0;
}

static bool cpu_online(int cpu)
{
	char path[64];
	FILE *f;
	int c;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d", cpu);
	if (access(path, F_OK))
		return false;
	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
	f = fopen(path, "r");
	if (!f)
		return true;
	c = fgetc(f);
	fclose(f);
	return c == '1';
}

static bool msr_present(int cpu)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/cpu/%d/msr", cpu);
	return !access(path, F_OK);
}

/* modprobe msr, quietly: /dev/cpu/N/msr exists only with the msr driver. */
static void load_msr_driver(void)
{
	pid_t pid;
	int status;

	if (msr_present(first_online_cpu()))
		return;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execlp("modprobe", "modprobe", "-q", "msr", (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
}

/* Read MSR @msr on @cpu; -errno on failure. */
static int rdmsr(int cpu, u32 msr, u64 *val)
{
	char path[64];
	int fd, err = 0;

	snprintf(path, sizeof(path), "/dev/cpu/%d/msr", cpu);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (pread(fd, val, sizeof(*val), msr) != sizeof(*val))
		err = errno ? -errno : -EIO;
	close(fd);
	return err;
}

/* The capability MSRs, as core/vmm.c reads them; -errno on failure. */
static int read_caps(int cpu, struct tv_vmx_caps *c)
{
	bool true_ctls;
	int err;

	memset(c, 0, sizeof(*c));
	err = rdmsr(cpu, MSR_IA32_VMX_BASIC, &c->basic);
	if (err)
		return err;
	true_ctls = c->basic & VMX_BASIC_TRUE_CTLS;
	err = rdmsr(cpu, true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS :
		    MSR_IA32_VMX_PINBASED_CTLS, &c->pin) ?:
	      rdmsr(cpu, true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS :
		    MSR_IA32_VMX_PROCBASED_CTLS, &c->proc) ?:
	      rdmsr(cpu, true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS :
		    MSR_IA32_VMX_EXIT_CTLS, &c->exit) ?:
	      rdmsr(cpu, true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS :
		    MSR_IA32_VMX_ENTRY_CTLS, &c->entry) ?:
	      rdmsr(cpu, MSR_IA32_VMX_MISC, &c->misc) ?:
	      rdmsr(cpu, MSR_IA32_VMX_CR0_FIXED0, &c->cr0_fixed0) ?:
	      rdmsr(cpu, MSR_IA32_VMX_CR0_FIXED1, &c->cr0_fixed1) ?:
	      rdmsr(cpu, MSR_IA32_VMX_CR4_FIXED0, &c->cr4_fixed0) ?:
	      rdmsr(cpu, MSR_IA32_VMX_CR4_FIXED1, &c->cr4_fixed1);
	if (err)
		return err;
	/* Each MSR exists only when the control that needs it can be 1. */
	if (c->proc & ((u64)PROC_SECONDARY_CONTROLS << 32)) {
		err = rdmsr(cpu, MSR_IA32_VMX_PROCBASED_CTLS2, &c->proc2);
		if (!err && (c->proc2 & ((u64)(PROC2_ENABLE_EPT | PROC2_ENABLE_VPID)
					 << 32)))
			err = rdmsr(cpu, MSR_IA32_VMX_EPT_VPID_CAP, &c->ept_vpid);
	}
	return err;
}

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

/* Capabilities worth knowing besides the verdict (never decide it). */
static void report_caps(struct check_state *s, const struct tv_vmx_caps *c,
			const struct tv_cpu_features *f)
{
	bool proc2 = c->proc & ((u64)PROC_SECONDARY_CONTROLS << 32);
	u32 p2 = proc2 ? (u32)(c->proc2 >> 32) : 0;

	report(s, "ept", (p2 & PROC2_ENABLE_EPT) ? CHECK_OK : CHECK_FAIL,
	       "EPT %s; 4-level walk %s, write-back %s, 2 MB pages %s, 1 GB pages %s, accessed/dirty %s",
	       yes_no(p2 & PROC2_ENABLE_EPT), yes_no(c->ept_vpid & EPT_CAP_WALK4),
	       yes_no(c->ept_vpid & EPT_CAP_WB), yes_no(c->ept_vpid & EPT_CAP_2MB),
	       yes_no(c->ept_vpid & EPT_CAP_1GB), yes_no(c->ept_vpid & EPT_CAP_AD));
	report(s, "vpid", (p2 & PROC2_ENABLE_VPID) ? CHECK_OK : CHECK_FAIL,
	       "VPID %s; INVVPID %s", yes_no(p2 & PROC2_ENABLE_VPID),
	       yes_no(c->ept_vpid & VPID_CAP_INVVPID));
	report(s, "unrestricted-guest",
	       (p2 & PROC2_UNRESTRICTED_GUEST) ? CHECK_OK : CHECK_FAIL, "%s",
	       yes_no(p2 & PROC2_UNRESTRICTED_GUEST));
	report(s, "phys-addr-bits", f->phys_bits <= 48 ? CHECK_OK : CHECK_FAIL,
	       "%u (at most 48 for a 4-level EPT)", f->phys_bits);
}

static void check_vmx_caps(struct check_state *s, int cpu)
{
	struct tv_cpu_features f;
	struct tv_vmx_caps c;
	struct tv_controls ctl;
	const char *why = NULL;
	int ret, err;

	err = read_caps(cpu, &c);
	if (err) {
		report(s, "vmx-capabilities", CHECK_FAIL,
		       "cannot read the VMX capability MSRs on CPU %d: %s", cpu,
		       strerror(-err));
		refuse(s, TVCTL_UNKNOWN, NULL, NULL,
		       "cannot read the VMX capability MSRs: %s", strerror(-err));
		return;
	}
	read_features(&f);
	report_caps(s, &c, &f);
	/* The module's own decision: core/caps.c, compiled in. */
	ret = tv_check_caps(&c, &why);
	if (!ret)
		ret = tv_choose_controls(&c, &f, &ctl, &why);
	if (ret) {
		report(s, "vmx-capabilities", CHECK_FAIL, "%s: %s",
		       tv_err_name(ret), why);
		refuse_tv(s, TVCTL_CANNOT_RUN, ret, why);
		return;
	}
	report(s, "vmx-capabilities", CHECK_OK,
	       "everything thinvisor needs (EPT with %s pages)",
	       ctl.ept_1gb ? "1 GB" : "2 MB");
}

/* FEATURE_CONTROL on every online CPU, as setup_feature_control() judges it. */
static void check_feature_control(struct check_state *s)
{
	int cpu, locked_off = -1, unlocked = 0, read = 0, err = 0;
	u64 fc;

	for (cpu = 0; cpu < 4096; cpu++) {
		if (!cpu_online(cpu))
			continue;
		err = rdmsr(cpu, MSR_IA32_FEATURE_CONTROL, &fc);
		if (err)
			break;
		read++;
		if (!(fc & FEATURE_CONTROL_LOCKED))
			unlocked++;
		else if (!(fc & FEATURE_CONTROL_VMXON_OUTSIDE_SMX) && locked_off < 0)
			locked_off = cpu;
	}
	if (err) {
		report(s, "feature-control", CHECK_FAIL,
		       "cannot read IA32_FEATURE_CONTROL on CPU %d: %s", cpu,
		       strerror(-err));
		refuse(s, TVCTL_UNKNOWN, NULL, NULL,
		       "cannot read IA32_FEATURE_CONTROL: %s", strerror(-err));
		return;
	}
	if (locked_off >= 0) {
		report(s, "feature-control", CHECK_FAIL,
		       "VT-x is disabled and locked by the firmware (CPU %d): enable it in the firmware setup",
		       locked_off);
		refuse_tv(s, TVCTL_CANNOT_RUN, TV_ERR_VMX_DISABLED, NULL);
		return;
	}
	if (unlocked)
		report(s, "feature-control", CHECK_OK,
		       "unlocked on %d of %d CPUs: thinvisor enables VMX and locks it", unlocked,
		       read);
	else
		report(s, "feature-control", CHECK_OK,
		       "VMX enabled and locked by the firmware on %d CPUs", read);
}

static bool read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	char *nl;

	if (!f)
		return false;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return false;
	}
	fclose(f);
	nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	return true;
}

/* kvm_intel takes VMX for itself: thinvisor refuses while it is there. */
static void check_kvm(struct check_state *s)
{
	if (access("/sys/module/kvm_intel", F_OK)) {
		report(s, "kvm_intel", CHECK_OK, "not loaded");
		return;
	}
	/* Built-in modules have no initstate. */
	if (access("/sys/module/kvm_intel/initstate", F_OK)) {
		report(s, "kvm_intel", CHECK_FAIL, "built into this kernel");
		refuse(s, TVCTL_CANNOT_RUN, "EBUSY", strerror(EBUSY),
		       "kvm_intel is built into this kernel");
		return;
	}
	report(s, "kvm_intel", CHECK_FAIL, "loaded: rmmod kvm_intel first");
	refuse(s, TVCTL_NOT_NOW, "EBUSY", strerror(EBUSY),
	       "kvm_intel is loaded: rmmod kvm_intel first");
}

#define EFI_GLOBAL_GUID "8be4df61-93ca-11d2-aa0d-00e098032b8c"

/* Secure Boot and module signing: they decide whether an unsigned module loads. */
static void check_signing(struct check_state *s)
{
	char buf[128];
	unsigned char sb[5];
	bool enforce = false, lockdown = false;
	int fd;
	ssize_t n;

	if (access("/sys/firmware/efi", F_OK)) {
		report(s, "secure-boot", CHECK_OK, "not booted through UEFI: no Secure Boot");
	} else {
		fd = open("/sys/firmware/efi/efivars/SecureBoot-" EFI_GLOBAL_GUID,
			  O_RDONLY | O_CLOEXEC);
		n = fd >= 0 ? read(fd, sb, sizeof(sb)) : -1;
		if (fd >= 0)
			close(fd);
		if (n == 5)	/* 4 bytes of attributes, then the value */
			report(s, "secure-boot", sb[4] ? CHECK_WARN : CHECK_OK, "%s",
			       sb[4] ? "on: the module must be signed with a key the kernel trusts (MOK); see docs/secure-boot.md" :
				       "off");
		else
			report(s, "secure-boot", CHECK_INFO,
			       "UEFI, state unknown (no efivars; try mokutil --sb-state)");
	}
	if (read_line("/sys/module/module/parameters/sig_enforce", buf, sizeof(buf)))
		enforce = buf[0] == 'Y';
	if (read_line("/sys/kernel/security/lockdown", buf, sizeof(buf)))
		lockdown = !strstr(buf, "[none]");
	if (access("/sys/module/module/parameters/sig_enforce", F_OK))
		report(s, "module-signing", CHECK_OK, "this kernel does not check module signatures");
	else if (enforce || lockdown)
		report(s, "module-signing", CHECK_WARN,
		       "enforced%s: an unsigned thinvisor.ko is refused (EKEYREJECTED); sign it (make sign)",
		       lockdown ? " (lockdown)" : "");
	else
		report(s, "module-signing", CHECK_OK,
		       "not enforced: an unsigned module loads (and taints the kernel)");
	if (read_line("/proc/sys/kernel/modules_disabled", buf, sizeof(buf)) &&
	    buf[0] == '1') {
		report(s, "module-loading", CHECK_FAIL,
		       "disabled (kernel.modules_disabled=1) until reboot");
		refuse(s, TVCTL_NOT_NOW, "EPERM", strerror(EPERM),
		       "module loading is disabled until reboot");
	}
}

/*
 * The hypervisor below us, if any: thinvisor itself (then nothing else can
 * be judged: it hides VMX), or another one that may or may not pass VT-x on.
 * Returns true when thinvisor runs.
 */
static bool check_hypervisor(struct check_state *s)
{
	struct cpuid_regs r = cpuid(1, 0);
	char sig[13];

	if (!(r.ecx & (1u << 31))) {
		report(s, "hypervisor", CHECK_OK, "none: running on bare metal");
		return false;
	}
	r = cpuid(0x40000000, 0);
	memcpy(sig, &r.ebx, 4);
	memcpy(sig + 4, &r.ecx, 4);
	memcpy(sig + 8, &r.edx, 4);
	sig[12] = '\0';
	if (!strcmp(sig, TV_CPUID_SIGNATURE)) {
		report(s, "hypervisor", CHECK_FAIL, "thinvisor already runs below this kernel");
		refuse_tv(s, TVCTL_NOT_NOW, TV_ERR_ALREADY_RUNNING, NULL);
		return true;
	}
	report(s, "hypervisor", CHECK_INFO,
	       "running under a hypervisor (\"%s\"): thinvisor needs it to pass VT-x with EPT on",
	       sig);
	return false;
}

int cmd_check(const struct tvctl_opts *o)
{
	struct check_state s = { .o = o, .exit = TVCTL_OK };
	struct cpuid_regs r;
	char vendor[13];
	int cpu;

	if (o->json)
		printf("{\"checks\": [");
	r = cpuid(0, 0);
	memcpy(vendor, &r.ebx, 4);
	memcpy(vendor + 4, &r.edx, 4);
	memcpy(vendor + 8, &r.ecx, 4);
	vendor[12] = '\0';
	if (strcmp(vendor, "GenuineIntel")) {
		report(&s, "vendor", CHECK_FAIL, "%s: thinvisor runs on Intel CPUs only", vendor);
		refuse_tv(&s, TVCTL_CANNOT_RUN, TV_ERR_NOT_INTEL, NULL);
		goto out;
	}
	report(&s, "vendor", CHECK_OK, "%s", vendor);
	if (check_hypervisor(&s))
		goto others;
	if (!(cpuid(1, 0).ecx & (1u << 5))) {
		report(&s, "vmx", CHECK_FAIL, "CPUID.1:ECX[5] is 0: no VMX (or a hypervisor hides it)");
		refuse_tv(&s, TVCTL_CANNOT_RUN, TV_ERR_NO_VMX, NULL);
		goto others;
	}
	report(&s, "vmx", CHECK_OK, "CPUID.1:ECX[5] is 1");
	if (geteuid() != 0) {
		report(&s, "msr", CHECK_FAIL, "reading /dev/cpu/N/msr needs root: run tvctl check as root");
		refuse(&s, TVCTL_UNKNOWN, NULL, NULL, "not root: cannot read the VMX MSRs");
		goto others;
	}
	load_msr_driver();
	cpu = first_online_cpu();
	if (!msr_present(cpu)) {
		report(&s, "msr", CHECK_FAIL,
		       "no /dev/cpu/%d/msr: this kernel lacks the msr driver (CONFIG_X86_MSR)",
		       cpu);
		refuse(&s, TVCTL_UNKNOWN, NULL, NULL, "no msr driver (CONFIG_X86_MSR)");
		goto others;
	}
	check_feature_control(&s);
	check_vmx_caps(&s, cpu);
others:
	check_kvm(&s);
	check_signing(&s);
out:
	if (o->json) {
		printf("], \"can_run\": %s, \"exit\": %d, \"reason\": ",
		       s.exit == TVCTL_OK ? "true" : "false", s.exit);
		if (s.reason)
			json_string(stdout, s.reason);
		else
			printf("null");
		printf(", \"errno\": ");
		if (s.err)
			json_string(stdout, s.err);
		else
			printf("null");
		printf(", \"strerror\": ");
		if (s.strerr)
			json_string(stdout, s.strerr);
		else
			printf("null");
		printf("}\n");
		return s.exit;
	}
	switch (s.exit) {
	case TVCTL_OK:
		printf("verdict: thinvisor can run on this machine\n");
		break;
	case TVCTL_CANNOT_RUN:
		printf("verdict: thinvisor cannot run on this machine: %s\n", s.reason);
		break;
	case TVCTL_NOT_NOW:
		printf("verdict: thinvisor cannot load now: %s\n", s.reason);
		break;
	default:
		printf("verdict: cannot tell: %s\n", s.reason);
		break;
	}
	if (s.err)
		printf("insmod would fail with %s (%s)\n", s.err, s.strerr);
	return s.exit;
}
