// SPDX-License-Identifier: MIT
/*
 * thinvisor.sys: DriverEntry slides every processor of every group under
 * the VMM, in HyperPlatform's order: NX pool, OS check, log, physical
 * memory ranges, power callback, processor-change callback, virtualize;
 * then it registers the extensions linked into the image (ext.c).  Any
 * failure logs the step and undoes the earlier ones in reverse order
 * (the same teardown DriverUnload runs).  The core's entry points are
 * serialized by one KMUTEX, taken by DriverEntry's last step, by the
 * callbacks and by DriverUnload; all of them run at PASSIVE_LEVEL.
 */
#include "tv_win.h"
#include "core/platform.h"
#include "core/vmm.h"
#include "core/log.h"
#include "arch/x86/cpu.h"
#include "route.h"

struct tv_win_range {
	u64 base;
	u64 bytes;
};

static struct {
	KMUTEX lock;
	struct tv_win_pm pm;		/* under lock */
	bool vmm_init;			/* tv_vmm_init() succeeded */
	struct tv_win_range *ranges;
	ULONG nranges;
	PCALLBACK_OBJECT power_obj;
	PVOID power_reg;
	PVOID cpu_reg;
	bool log_open;
	bool ext_started;		/* step 8 registered them all */
} g;

void tv_win_lock(void)
{
	KeWaitForSingleObject(&g.lock, Executive, KernelMode, FALSE, NULL);
}

void tv_win_unlock(void)
{
	KeReleaseMutex(&g.lock, FALSE);
}

static const struct tv_win_ops vmm_ops = {
	.down_all = tv_vmm_down_all,
	.up_all = tv_vmm_up_all,
	.cpu_up = tv_vmm_cpu_up,
	.log = tv_log,
};

/* \Callback\PowerState: give the CPUs back before S1-S5, take them in S0. */
static VOID NTAPI power_callback(PVOID ctx, PVOID arg1, PVOID arg2)
{
	tv_win_lock();
	tv_win_power_event(&g.pm, &vmm_ops, (u64)(ULONG_PTR)arg1,
			   (u64)(ULONG_PTR)arg2);
	tv_win_unlock();
}

static VOID NTAPI cpu_callback(PVOID ctx,
			       PKE_PROCESSOR_CHANGE_NOTIFY_CONTEXT change,
			       PNTSTATUS op_status)
{
	tv_win_lock();
	tv_win_cpu_event(&g.pm, &vmm_ops, (u32)change->State,
			 change->NtNumber, change->Status);
	tv_win_unlock();
}

/* One REG_DWORD under the service key; false when absent or not a DWORD. */
static bool read_dword(HANDLE key, const WCHAR *value, ULONG *out)
{
	union {
		KEY_VALUE_PARTIAL_INFORMATION info;
		UCHAR bytes[sizeof(KEY_VALUE_PARTIAL_INFORMATION) + 8];
	} v;
	UNICODE_STRING name;
	ULONG len;

	RtlInitUnicodeString(&name, value);
	if (!NT_SUCCESS(ZwQueryValueKey(key, &name, KeyValuePartialInformation,
					&v, sizeof(v), &len)) ||
	    v.info.Type != REG_DWORD || v.info.DataLength != sizeof(ULONG))
		return false;
	memcpy(out, v.info.Data, sizeof(ULONG));
	return true;
}

/*
 * Settings under HKLM\...\Services\thinvisor (REG_DWORD):
 *   LogLevel  the VMM log level, 3 err ... 7 debug (default 6)
 *   FailStep  test hook: make init step N fail (test build only: the
 *             production image has no FailStep string and never reads it)
 */
static void read_settings(PUNICODE_STRING reg_path)
{
	OBJECT_ATTRIBUTES oa;
	HANDLE key;
	ULONG level;

#ifdef TV_FAULT_INJECTION
	tv_win_fail_step = 0;
#endif
	if (!reg_path)
		return;
	InitializeObjectAttributes(&oa, reg_path,
				   OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE,
				   NULL, NULL);
	if (!NT_SUCCESS(ZwOpenKey(&key, KEY_READ, &oa)))
		return;
#ifdef TV_FAULT_INJECTION
	read_dword(key, L"FailStep", &tv_win_fail_step);
#endif
	if (read_dword(key, L"LogLevel", &level)) {
		if (level >= TV_LOG_ERR && level <= TV_LOG_DEBUG) {
			tv_log_set_level((int)level);
			DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL,
				   "thinvisor: VMM log level %u\n",
				   (unsigned int)level);
		} else {
			DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL,
				   "thinvisor: ignoring LogLevel %u (3..7)\n",
				   (unsigned int)level);
		}
	}
	ZwClose(key);
#ifdef TV_FAULT_INJECTION
	if (tv_win_fail_step)
		DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL,
			   "thinvisor: test hook: FailStep=%u\n",
			   (unsigned int)tv_win_fail_step);
#endif
}

/* Step 1: what ExInitializeDriverRuntime(DrvRtPoolNxOptIn) does. */
static NTSTATUS step_pool(void)
{
	RTL_OSVERSIONINFOW v;
	NTSTATUS st;

	RtlZeroMemory(&v, sizeof(v));
	v.dwOSVersionInfoSize = sizeof(v);
	st = tv_plat_fault(TV_WIN_FAULT_POOL) ? STATUS_CANCELLED :
		RtlGetVersion(&v);
	if (!NT_SUCCESS(st)) {
		tv_log(TV_LOG_ERR,
		       "thinvisor: step 1: cannot read the OS version to choose NX pool (0x%08x)\n",
		       (unsigned int)st);
		return st;
	}
	/* NonPagedPoolNx exists from Windows 8 (6.2). */
	if (v.dwMajorVersion > 6 ||
	    (v.dwMajorVersion == 6 && v.dwMinorVersion >= 2))
		tv_win_pool_type = NonPagedPoolNx;
	else
		tv_win_pool_type = NonPagedPool;
	return STATUS_SUCCESS;
}

/* Step 2: 64-bit Windows 10 or later (the image is x64-only). */
static NTSTATUS step_os(void)
{
	RTL_OSVERSIONINFOW v;

	RtlZeroMemory(&v, sizeof(v));
	v.dwOSVersionInfoSize = sizeof(v);
	if (!NT_SUCCESS(RtlGetVersion(&v)))
		return STATUS_NOT_SUPPORTED;
	if (tv_plat_fault(TV_WIN_FAULT_OS))
		v.dwMajorVersion = 6;
	if (v.dwMajorVersion < 10) {
		tv_log(TV_LOG_ERR,
		       "thinvisor: step 2: Windows %u.%u build %u is not supported: needs 64-bit Windows 10 or later\n",
		       (unsigned int)v.dwMajorVersion,
		       (unsigned int)v.dwMinorVersion,
		       (unsigned int)v.dwBuildNumber);
		return STATUS_NOT_SUPPORTED;
	}
	tv_log(TV_LOG_INFO, "thinvisor: Windows %u.%u build %u\n",
	       (unsigned int)v.dwMajorVersion, (unsigned int)v.dwMinorVersion,
	       (unsigned int)v.dwBuildNumber);
	return STATUS_SUCCESS;
}

/* Step 4: RAM as Windows sees it, for the log (EPT maps everything). */
static NTSTATUS step_ranges(void)
{
	PPHYSICAL_MEMORY_RANGE r;
	u64 total = 0;
	ULONG i, n;

	r = tv_plat_fault(TV_WIN_FAULT_MEMRANGES) ? NULL :
		MmGetPhysicalMemoryRanges();
	if (!r) {
		tv_log(TV_LOG_ERR,
		       "thinvisor: step 4: cannot read the physical memory ranges\n");
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	for (n = 0; r[n].BaseAddress.QuadPart || r[n].NumberOfBytes.QuadPart;
	     n++)
		;
	g.ranges = tv_plat_zalloc((n ? n : 1) * sizeof(*g.ranges));
	if (!g.ranges) {
		ExFreePool(r);
		tv_log(TV_LOG_ERR,
		       "thinvisor: step 4: no memory for %u physical memory ranges\n",
		       (unsigned int)n);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	for (i = 0; i < n; i++) {
		g.ranges[i].base = r[i].BaseAddress.QuadPart;
		g.ranges[i].bytes = r[i].NumberOfBytes.QuadPart;
	}
	g.nranges = n;
	ExFreePool(r);
	for (i = 0; i < n; i++) {
		total += g.ranges[i].bytes;
		tv_log(TV_LOG_INFO, "thinvisor: RAM [0x%llx, 0x%llx)\n",
		       g.ranges[i].base, g.ranges[i].base + g.ranges[i].bytes);
	}
	tv_log(TV_LOG_INFO, "thinvisor: %u RAM ranges, %llu MiB\n",
	       (unsigned int)n, total >> 20);
	return STATUS_SUCCESS;
}

/* Step 5. */
static NTSTATUS step_power(void)
{
	UNICODE_STRING name;
	OBJECT_ATTRIBUTES oa;
	NTSTATUS st;

	RtlInitUnicodeString(&name, L"\\Callback\\PowerState");
	InitializeObjectAttributes(&oa, &name, OBJ_CASE_INSENSITIVE, NULL,
				   NULL);
	st = tv_plat_fault(TV_WIN_FAULT_POWER_CB) ? STATUS_CANCELLED :
		ExCreateCallback(&g.power_obj, &oa, FALSE, TRUE);
	if (!NT_SUCCESS(st)) {
		g.power_obj = NULL;
		tv_log(TV_LOG_ERR,
		       "thinvisor: step 5: cannot open \\Callback\\PowerState (0x%08x)\n",
		       (unsigned int)st);
		return st;
	}
	g.power_reg = ExRegisterCallback(g.power_obj, power_callback, NULL);
	if (!g.power_reg) {
		tv_log(TV_LOG_ERR,
		       "thinvisor: step 5: cannot register the power callback\n");
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	return STATUS_SUCCESS;
}

/* Step 6. */
static NTSTATUS step_cpu_callback(void)
{
	g.cpu_reg = tv_plat_fault(TV_WIN_FAULT_CPU_CB) ? NULL :
		KeRegisterProcessorChangeCallback(cpu_callback, NULL, 0);
	if (!g.cpu_reg) {
		tv_log(TV_LOG_ERR,
		       "thinvisor: step 6: cannot register the processor-change callback\n");
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	return STATUS_SUCCESS;
}

/* Step 7: every active processor of every group. */
static NTSTATUS step_virtualize(void)
{
	u64 t0;
	int ret;

	/*
	 * DriverEntry runs in the System process: its CR3 maps the kernel
	 * for as long as Windows runs.
	 */
	tv_win_host_cr3 = tv_read_cr3();
	t0 = tv_rdtsc();
	tv_win_lock();
	ret = tv_plat_fault(TV_WIN_FAULT_VIRTUALIZE) ? TV_ERR_FAULT_INJECTED :
		tv_vmm_init();
	if (!ret) {
		g.vmm_init = true;
		ret = tv_vmm_up_all();
	}
	if (!ret)
		g.pm.state = TV_WIN_LOADED;
	tv_win_unlock();
	if (ret) {
		tv_log(TV_LOG_ERR,
		       "thinvisor: step 7: processors not virtualized: %s (NTSTATUS 0x%08x)\n",
		       tv_err_name(ret), (unsigned int)tv_win_ntstatus(ret));
		return (NTSTATUS)tv_win_ntstatus(ret);
	}
	tv_log(TV_LOG_INFO,
	       "thinvisor: %u processors in %u groups virtualized in %llu TSC ticks\n",
	       (unsigned int)KeQueryActiveProcessorCountEx(ALL_PROCESSOR_GROUPS),
	       (unsigned int)KeQueryActiveGroupCount(), tv_rdtsc() - t0);
	return STATUS_SUCCESS;
}

/*
 * Step 8: the built-in extensions, in link order, with every processor
 * virtualized.  If one fails, the load fails (the ones before it are
 * unregistered first): a tool linked into the driver is either running
 * or the driver is not loaded, never silently absent.
 */
static NTSTATUS step_extensions(void)
{
	int ret = tv_win_ext_start();

	if (ret)
		return (NTSTATUS)tv_win_ext_ntstatus(ret);
	g.ext_started = true;
	return STATUS_SUCCESS;
}

/* Undo whatever is done, newest first; safe to run twice. */
static void teardown(void)
{
	/* Extensions go while the VMM still runs (their fini may call it). */
	if (g.ext_started) {
		tv_win_ext_stop();
		g.ext_started = false;
	}
	tv_win_lock();
	g.pm.state = TV_WIN_UNLOADING;
	if (g.vmm_init) {
		/* Gives every processor back, then frees the VMM. */
		tv_vmm_fini();
		g.vmm_init = false;
	}
	tv_win_unlock();
	/* Both wait for callbacks in flight; those now see UNLOADING. */
	if (g.cpu_reg) {
		KeDeregisterProcessorChangeCallback(g.cpu_reg);
		g.cpu_reg = NULL;
	}
	if (g.power_reg) {
		ExUnregisterCallback(g.power_reg);
		g.power_reg = NULL;
	}
	if (g.power_obj) {
		ObDereferenceObject(g.power_obj);
		g.power_obj = NULL;
	}
	tv_plat_free(g.ranges);
	g.ranges = NULL;
	g.nranges = 0;
	g.pm.state = TV_WIN_IDLE;
	if (g.log_open) {
		g.log_open = false;
		tv_win_log_close();
	}
}

static VOID NTAPI driver_unload(PDRIVER_OBJECT drv)
{
	tv_log(TV_LOG_INFO, "thinvisor: unloading\n");
	teardown();
	DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL,
		   "thinvisor: unloaded\n");
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT drv, PUNICODE_STRING reg_path)
{
	NTSTATUS st;

	drv->DriverUnload = driver_unload;
	KeInitializeMutex(&g.lock, 0);
	tv_win_ext_setup();
	g.pm.state = TV_WIN_IDLE;
	g.pm.asleep = false;
	read_settings(reg_path);

	st = step_pool();
	if (NT_SUCCESS(st))
		st = step_os();
	if (!NT_SUCCESS(st))
		return st;
	st = tv_win_log_open();
	if (!NT_SUCCESS(st)) {
		tv_log(TV_LOG_ERR,
		       "thinvisor: step 3: cannot open the log (0x%08x)\n",
		       (unsigned int)st);
		return st;
	}
	g.log_open = true;
	tv_log(TV_LOG_INFO, "thinvisor: loading (log \\SystemRoot\\thinvisor.log)\n");
	st = step_ranges();
	if (NT_SUCCESS(st)) {
		g.pm.state = TV_WIN_LOADING;
		st = step_power();
	}
	if (NT_SUCCESS(st))
		st = step_cpu_callback();
	if (NT_SUCCESS(st))
		st = step_virtualize();
	if (NT_SUCCESS(st))
		st = step_extensions();
	if (!NT_SUCCESS(st)) {
		tv_log(TV_LOG_ERR, "thinvisor: not loaded (NTSTATUS 0x%08x)\n",
		       (unsigned int)st);
		teardown();
		return st;
	}
	tv_log(TV_LOG_INFO, "thinvisor: loaded\n");
	return STATUS_SUCCESS;
}
