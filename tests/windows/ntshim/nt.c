// SPDX-License-Identifier: MIT
/*
 * The ntoskrnl functions thinvisor.sys imports (platform/windows/
 * imports.allow), each with the Microsoft calling convention and the
 * semantics the driver relies on, and each checking first that it is
 * called at an IRQL Windows allows for it: a violation is logged and
 * counted (/sys/module/thinvisor/parameters/irql_violations), and the
 * e2e tests fail on any.
 *
 * IRQL is CR8, which the driver raises and lowers itself.  Linux keeps
 * the APIC task priority at 0x10 (vectors below 0x20 blocked), so CR8
 * reads 1 where Windows' PASSIVE_LEVEL would read 0: CR8 <= 1 counts as
 * PASSIVE_LEVEL.  With interrupts disabled (VMX root, a Linux spinlock)
 * the caller is at HIGH_LEVEL whatever CR8 says.
 *
 * Objects the driver allocates (KEVENT, KMUTEX) are found by address in
 * a table of our own; objects we create (threads, files, keys) are
 * handles pointing at our structures, all on one list so that leaks show.
 */
#include <linux/kernel.h>
#include <linux/completion.h>
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/ioport.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>
#include <asm/io.h>
#include <asm/special_insns.h>
#include "shim.h"

atomic_t nt_irql_violations = ATOMIC_INIT(0);
atomic_t nt_import_calls = ATOMIC_INIT(0);
atomic_t nt_dbgprint_lines = ATOMIC_INIT(0);
static atomic_t nt_misuse = ATOMIC_INIT(0);

u8 nt_irql(void)
{
	unsigned long cr8;

	if (irqs_disabled())
		return HIGH_LEVEL;
	asm volatile("mov %%cr8, %0" : "=r"(cr8));
	return cr8 <= 1 ? PASSIVE_LEVEL : cr8;
}

static void irql_check(const char *fn, u8 max)
{
	u8 now = nt_irql();

	atomic_inc(&nt_import_calls);
	if (now <= max)
		return;
	atomic_inc(&nt_irql_violations);
	/* Only PASSIVE-level imports can get here, never from VMX root. */
	pr_err("thinvisor: ntshim: IRQL violation: %s called at IRQL %u, allowed up to %u\n",
	       fn, now, max);
}

#define IRQL_MAX(max) irql_check(__func__, (max))

/* Misuse Windows would bug-check on: logged and counted as a violation. */
static void misuse(const char *fn, const char *what)
{
	atomic_inc(&nt_misuse);
	atomic_inc(&nt_irql_violations);
	pr_err("thinvisor: ntshim: %s: %s\n", fn, what);
}

/* --- dispatcher objects: KEVENT and KMUTEX, by address ----------------- */

enum sync_type { SYNC_FREE, SYNC_NOTIFICATION, SYNC_SYNCHRONIZATION,
		 SYNC_MUTEX };

struct nt_sync {
	const void *addr;
	enum sync_type type;
	bool signaled;
	struct task_struct *owner;	/* mutex */
	unsigned int depth;
	wait_queue_head_t wq;
};

#define NSYNC 32
static struct nt_sync syncs[NSYNC];
static DEFINE_SPINLOCK(sync_lock);

static struct nt_sync *sync_find(const void *addr, bool create)
{
	struct nt_sync *free = NULL;
	int i;

	for (i = 0; i < NSYNC; i++) {
		if (syncs[i].type != SYNC_FREE && syncs[i].addr == addr)
			return &syncs[i];
		if (syncs[i].type == SYNC_FREE && !free)
			free = &syncs[i];
	}
	return create ? free : NULL;
}

static void sync_init(const void *addr, enum sync_type type, bool signaled)
{
	struct nt_sync *s;
	unsigned long flags;

	spin_lock_irqsave(&sync_lock, flags);
	s = sync_find(addr, true);
	if (s) {
		s->addr = addr;
		s->type = type;
		s->signaled = signaled;
		s->owner = NULL;
		s->depth = 0;
	}
	spin_unlock_irqrestore(&sync_lock, flags);
	if (!s)
		misuse("KeInitialize*", "more dispatcher objects than the shim models");
}

/* Satisfy a wait on @s for the current thread, if it can be now. */
static bool sync_take(struct nt_sync *s)
{
	unsigned long flags;
	bool got = false;

	spin_lock_irqsave(&sync_lock, flags);
	switch (s->type) {
	case SYNC_NOTIFICATION:
		got = s->signaled;
		break;
	case SYNC_SYNCHRONIZATION:
		got = s->signaled;
		s->signaled = false;
		break;
	case SYNC_MUTEX:
		if (!s->owner || s->owner == current) {
			s->owner = current;
			s->depth++;
			got = true;
		}
		break;
	default:
		break;
	}
	spin_unlock_irqrestore(&sync_lock, flags);
	return got;
}

/* LARGE_INTEGER timeout: NULL forever, negative relative 100 ns units. */
static long timeout_jiffies(const s64 *timeout)
{
	s64 t;

	if (!timeout)
		return MAX_SCHEDULE_TIMEOUT;
	t = *timeout < 0 ? -*timeout : 0;	/* absolute: not used, poll */
	return nsecs_to_jiffies(t * 100);
}

static NTSTATUS MSABI KeWaitForSingleObject(void *obj, int reason, int mode,
					    u8 alertable, s64 *timeout)
{
	struct nt_sync *s;
	unsigned long flags;
	long left;

	IRQL_MAX(timeout && !*timeout ? DISPATCH_LEVEL : APC_LEVEL);
	spin_lock_irqsave(&sync_lock, flags);
	s = sync_find(obj, false);
	spin_unlock_irqrestore(&sync_lock, flags);
	if (!s) {
		misuse(__func__, "wait on an object never initialized");
		return STATUS_INVALID_PARAMETER;
	}
	left = timeout_jiffies(timeout);
	if (left == MAX_SCHEDULE_TIMEOUT) {
		wait_event(s->wq, sync_take(s));
		return STATUS_SUCCESS;
	}
	if (!left)
		return sync_take(s) ? STATUS_SUCCESS : STATUS_TIMEOUT;
	return wait_event_timeout(s->wq, sync_take(s), left) ?
		STATUS_SUCCESS : STATUS_TIMEOUT;
}

static void MSABI KeInitializeEvent(void *ev, int type, u8 state)
{
	struct nt_sync *s;

	IRQL_MAX(HIGH_LEVEL);
	sync_init(ev, type ? SYNC_SYNCHRONIZATION : SYNC_NOTIFICATION, state);
	s = sync_find(ev, false);
	if (s)
		init_waitqueue_head(&s->wq);
}

static s32 MSABI KeSetEvent(void *ev, s32 increment, u8 wait)
{
	struct nt_sync *s;
	unsigned long flags;
	bool old = false;

	IRQL_MAX(DISPATCH_LEVEL);
	spin_lock_irqsave(&sync_lock, flags);
	s = sync_find(ev, false);
	if (s) {
		old = s->signaled;
		s->signaled = true;
	}
	spin_unlock_irqrestore(&sync_lock, flags);
	if (!s) {
		misuse(__func__, "event never initialized");
		return 0;
	}
	wake_up_all(&s->wq);
	return old;
}

static void MSABI KeInitializeMutex(void *m, u32 level)
{
	struct nt_sync *s;

	IRQL_MAX(PASSIVE_LEVEL);
	sync_init(m, SYNC_MUTEX, true);
	s = sync_find(m, false);
	if (s)
		init_waitqueue_head(&s->wq);
}

static s32 MSABI KeReleaseMutex(void *m, u8 wait)
{
	struct nt_sync *s;
	unsigned long flags;
	bool released = false, owned = false;

	IRQL_MAX(DISPATCH_LEVEL);
	spin_lock_irqsave(&sync_lock, flags);
	s = sync_find(m, false);
	if (s && s->type == SYNC_MUTEX && s->owner == current) {
		owned = true;
		if (!--s->depth) {
			s->owner = NULL;
			released = true;
		}
	}
	spin_unlock_irqrestore(&sync_lock, flags);
	if (!owned) {
		/* Windows: bug check MUTEX_NOT_OWNED. */
		misuse(__func__, "mutex released by a thread that does not own it");
		return 0;
	}
	if (released)
		wake_up(&s->wq);
	return 0;
}

/* --- handles: threads, files, registry keys ----------------------------- */

enum handle_type { H_THREAD = 1, H_FILE, H_KEY };

struct nt_handle {
	struct list_head node;
	enum handle_type type;
};

struct nt_thread {
	struct list_head node;	/* on threads while it runs */
	struct completion done;
	void *start, *ctx;
	struct task_struct *task;
};

/* The handle PsCreateSystemThread returns; ZwClose frees the thread. */
struct nt_handle_thread {
	struct nt_handle h;
	struct nt_thread *t;
};

struct nt_file {
	struct nt_handle h;
	struct file *filp;
};

static LIST_HEAD(handles);
static LIST_HEAD(threads);
static DEFINE_SPINLOCK(handle_lock);
static int nhandles;

static void handle_add(struct nt_handle *h, enum handle_type type)
{
	h->type = type;
	spin_lock(&handle_lock);
	list_add(&h->node, &handles);
	nhandles++;
	spin_unlock(&handle_lock);
}

/* The handle if it is one of ours of @type (0: any), else NULL. */
static struct nt_handle *handle_get(void *hv, enum handle_type type)
{
	struct nt_handle *h;

	spin_lock(&handle_lock);
	list_for_each_entry(h, &handles, node) {
		if (h == hv && (!type || h->type == type)) {
			spin_unlock(&handle_lock);
			return h;
		}
	}
	spin_unlock(&handle_lock);
	return NULL;
}

/* Ends the calling system thread: off the list, waiters woken. */
static void __noreturn thread_end(struct nt_thread *t)
{
	spin_lock(&handle_lock);
	list_del_init(&t->node);
	spin_unlock(&handle_lock);
	kthread_complete_and_exit(&t->done, 0);
}

static int system_thread(void *arg)
{
	struct nt_thread *t = arg;

	ntshim_ms_call(t->start, (u64)t->ctx, 0, 0, 0);
	/* Returned without PsTerminateSystemThread: end it the same way. */
	thread_end(t);
}

static NTSTATUS MSABI PsCreateSystemThread(void **handle, u32 access,
					   void *oa, void *process,
					   void *client_id, void *start,
					   void *ctx)
{
	struct nt_handle_thread *ht;
	struct task_struct *task;
	struct nt_thread *t;

	IRQL_MAX(PASSIVE_LEVEL);
	t = kzalloc(sizeof(*t), GFP_KERNEL);
	ht = kzalloc(sizeof(*ht), GFP_KERNEL);
	if (!t || !ht)
		goto nomem;
	init_completion(&t->done);
	t->start = start;
	t->ctx = ctx;
	task = kthread_create(system_thread, t, "thinvisor-sys");
	if (IS_ERR(task))
		goto nomem;
	t->task = task;
	ht->t = t;
	spin_lock(&handle_lock);
	list_add(&t->node, &threads);
	spin_unlock(&handle_lock);
	handle_add(&ht->h, H_THREAD);
	*handle = ht;
	wake_up_process(task);
	return STATUS_SUCCESS;
nomem:
	kfree(t);
	kfree(ht);
	return STATUS_INSUFFICIENT_RESOURCES;
}

static NTSTATUS MSABI PsTerminateSystemThread(NTSTATUS status)
{
	struct nt_thread *t, *found = NULL;

	IRQL_MAX(PASSIVE_LEVEL);
	spin_lock(&handle_lock);
	list_for_each_entry(t, &threads, node) {
		if (t->task == current) {
			found = t;
			break;
		}
	}
	spin_unlock(&handle_lock);
	if (!found) {
		misuse(__func__, "called outside a system thread");
		return STATUS_INVALID_PARAMETER;
	}
	thread_end(found);
}

static NTSTATUS MSABI ZwWaitForSingleObject(void *handle, u8 alertable,
					    s64 *timeout)
{
	struct nt_handle_thread *ht;
	long left;

	IRQL_MAX(PASSIVE_LEVEL);
	ht = (void *)handle_get(handle, H_THREAD);
	if (!ht) {
		misuse(__func__, "not a thread handle of the shim");
		return STATUS_INVALID_HANDLE;
	}
	left = timeout_jiffies(timeout);
	if (left == MAX_SCHEDULE_TIMEOUT)
		wait_for_completion(&ht->t->done);
	else if (!wait_for_completion_timeout(&ht->t->done, left))
		return STATUS_TIMEOUT;
	/* An ended thread stays signaled: the next wait (ZwClose's) too. */
	complete(&ht->t->done);
	return STATUS_SUCCESS;
}

static NTSTATUS MSABI ZwClose(void *handle)
{
	struct nt_handle *h;

	IRQL_MAX(PASSIVE_LEVEL);
	h = handle_get(handle, 0);
	if (!h) {
		misuse(__func__, "not a handle of the shim");
		return STATUS_INVALID_HANDLE;
	}
	spin_lock(&handle_lock);
	list_del(&h->node);
	nhandles--;
	spin_unlock(&handle_lock);
	if (h->type == H_THREAD) {
		/* Windows lets a handle go while its thread runs; ours waits. */
		wait_for_completion(&((struct nt_handle_thread *)h)->t->done);
		kfree(((struct nt_handle_thread *)h)->t);
	} else if (h->type == H_FILE) {
		filp_close(((struct nt_file *)h)->filp, NULL);
	}
	kfree(h);
	return STATUS_SUCCESS;
}

/* --- strings and names -------------------------------------------------- */

static void MSABI RtlInitUnicodeString(struct nt_unicode_string *u,
				       const u16 *src)
{
	size_t n = 0;

	IRQL_MAX(DISPATCH_LEVEL);
	while (src && src[n])
		n++;
	u->length = n * 2;
	u->maximum_length = src ? n * 2 + 2 : 0;
	u->buffer = (u16 *)src;
}

/* An NT name as ASCII (the driver's names are); false if not ASCII. */
static bool name_ascii(const struct nt_unicode_string *u, char *out,
		       size_t size)
{
	size_t i, n = u ? u->length / 2 : 0;

	if (!u || n + 1 > size)
		return false;
	for (i = 0; i < n; i++) {
		if (u->buffer[i] >= 0x80)
			return false;
		out[i] = u->buffer[i];
	}
	out[n] = 0;
	return true;
}

struct rtl_osversioninfow {
	u32 size, major, minor, build, platform;
	u16 csd[128];
};

/* Windows 10 22H2, the version thinvisor.sys is tested against. */
static NTSTATUS MSABI RtlGetVersion(struct rtl_osversioninfow *v)
{
	IRQL_MAX(PASSIVE_LEVEL);
	if (v->size < sizeof(*v))
		return STATUS_INVALID_PARAMETER;
	v->major = 10;
	v->minor = 0;
	v->build = 19045;
	v->platform = 2;		/* VER_PLATFORM_WIN32_NT */
	memset(v->csd, 0, sizeof(v->csd));
	return STATUS_SUCCESS;
}

/*
 * The checker's own test: RtlGetVersion (PASSIVE_LEVEL only) called at
 * DISPATCH_LEVEL must count as a violation.
 */
void nt_irql_selftest(void)
{
	struct rtl_osversioninfow v = { .size = sizeof(v) };
	unsigned long cr8;

	asm volatile("mov %%cr8, %0" : "=r"(cr8));
	asm volatile("mov %0, %%cr8" : : "r"((unsigned long)DISPATCH_LEVEL));
	RtlGetVersion(&v);
	asm volatile("mov %0, %%cr8" : : "r"(cr8));
}

/* --- pool and memory ---------------------------------------------------- */

static atomic_t pool_blocks = ATOMIC_INIT(0);

static void *pool_alloc(size_t size)
{
	void *p = kmalloc(size ? size : 1, nt_irql() >= DISPATCH_LEVEL ?
			  GFP_ATOMIC : GFP_KERNEL);

	if (p)
		atomic_inc(&pool_blocks);
	return p;
}

static void *MSABI ExAllocatePoolWithTag(int type, size_t size, u32 tag)
{
	IRQL_MAX(DISPATCH_LEVEL);
	/* Only nonpaged pool (0, NonPagedPoolNx 512) at any IRQL. */
	if (type & 1)
		IRQL_MAX(APC_LEVEL);
	return pool_alloc(size);
}

static void pool_free(const char *fn, void *p)
{
	if (!p) {
		misuse(fn, "freeing NULL (Windows: bug check)");
		return;
	}
	atomic_dec(&pool_blocks);
	kfree(p);
}

static void MSABI ExFreePoolWithTag(void *p, u32 tag)
{
	IRQL_MAX(DISPATCH_LEVEL);
	pool_free(__func__, p);
}

static void MSABI ExFreePool(void *p)
{
	IRQL_MAX(DISPATCH_LEVEL);
	pool_free(__func__, p);
}

struct contig {
	struct list_head node;
	void *va;
	size_t bytes;
};

static LIST_HEAD(contigs);
static DEFINE_SPINLOCK(contig_lock);

static void *MSABI MmAllocateContiguousNodeMemory(size_t bytes, u64 low,
						  u64 high, u64 boundary,
						  u32 protect, u32 node)
{
	gfp_t gfp = GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN;
	struct contig *c;
	void *va;

	IRQL_MAX(DISPATCH_LEVEL);
	if (nt_irql() >= DISPATCH_LEVEL)
		gfp = GFP_ATOMIC | __GFP_ZERO | __GFP_NOWARN;
	if (high < 0xffffffffull)
		return NULL;		/* the driver never asks below 4 GB */
	if (high < (1ull << 32) + 0xffffffffull)
		gfp |= GFP_DMA32;
	c = kmalloc(sizeof(*c), gfp & ~(__GFP_ZERO | GFP_DMA32));
	if (!c)
		return NULL;
	va = alloc_pages_exact(bytes, gfp);
	/* A block of the buddy allocator crosses no boundary >= its size. */
	if (!va || virt_to_phys(va) + bytes - 1 > high ||
	    (boundary && (virt_to_phys(va) ^ (virt_to_phys(va) + bytes - 1)) &
			 ~(boundary - 1))) {
		if (va)
			free_pages_exact(va, bytes);
		kfree(c);
		return NULL;
	}
	c->va = va;
	c->bytes = bytes;
	spin_lock(&contig_lock);
	list_add(&c->node, &contigs);
	spin_unlock(&contig_lock);
	return va;
}

static void MSABI MmFreeContiguousMemory(void *va)
{
	struct contig *c, *found = NULL;

	IRQL_MAX(PASSIVE_LEVEL);
	spin_lock(&contig_lock);
	list_for_each_entry(c, &contigs, node) {
		if (c->va == va) {
			found = c;
			list_del(&c->node);
			break;
		}
	}
	spin_unlock(&contig_lock);
	if (!found) {
		misuse(__func__, "not contiguous memory of the shim");
		return;
	}
	free_pages_exact(found->va, found->bytes);
	kfree(found);
}

/* Any kernel address: direct map, or vmalloc (the image, stacks). */
static u64 MSABI MmGetPhysicalAddress(void *va)
{
	unsigned long a = (unsigned long)va;

	IRQL_MAX(HIGH_LEVEL);
	if (is_vmalloc_addr(va)) {
		struct page *pg = vmalloc_to_page(va);

		return pg ? page_to_phys(pg) + offset_in_page(a) : 0;
	}
	return virt_to_phys(va);
}

struct phys_range {
	u64 base, bytes;
};

struct ranges_walk {
	struct phys_range *r;
	unsigned int n, max;
};

static int count_ram(struct resource *res, void *arg)
{
	struct ranges_walk *w = arg;

	if (w->r && w->n < w->max) {
		w->r[w->n].base = res->start;
		w->r[w->n].bytes = resource_size(res);
	}
	w->n++;
	return 0;
}

/* System RAM as /proc/iomem has it, zero-terminated, in pool memory. */
static struct phys_range *MSABI MmGetPhysicalMemoryRanges(void)
{
	struct ranges_walk w = { NULL, 0, 0 };
	unsigned long flags = IORESOURCE_SYSTEM_RAM | IORESOURCE_BUSY;

	IRQL_MAX(PASSIVE_LEVEL);
	walk_iomem_res_desc(IORES_DESC_NONE, flags, 0, -1, &w, count_ram);
	w.max = w.n;
	w.n = 0;
	w.r = pool_alloc((w.max + 1) * sizeof(*w.r));
	if (!w.r)
		return NULL;
	walk_iomem_res_desc(IORES_DESC_NONE, flags, 0, -1, &w, count_ram);
	memset(&w.r[min(w.n, w.max)], 0, sizeof(*w.r));
	return w.r;
}

/* --- processors --------------------------------------------------------- */

struct processor_number {
	u16 group;
	u8 number;
	u8 reserved;
};

struct group_affinity {
	u64 mask;
	u16 group;
	u16 reserved[3];
};

static u32 MSABI KeGetCurrentProcessorNumberEx(struct processor_number *pn)
{
	u32 cpu = raw_smp_processor_id();

	IRQL_MAX(HIGH_LEVEL);
	if (pn) {
		pn->group = 0;
		pn->number = cpu;
		pn->reserved = 0;
	}
	return cpu;
}

/* One group; index = Linux CPU number (dense while no CPU is offline). */
static NTSTATUS MSABI KeGetProcessorNumberFromIndex(u32 index,
						    struct processor_number *pn)
{
	IRQL_MAX(HIGH_LEVEL);
	if (index >= nr_cpu_ids || index > 63 || !cpu_online(index))
		return STATUS_INVALID_PARAMETER;
	pn->group = 0;
	pn->number = index;
	pn->reserved = 0;
	return STATUS_SUCCESS;
}

static u16 MSABI KeQueryActiveGroupCount(void)
{
	IRQL_MAX(HIGH_LEVEL);
	return 1;
}

static u32 MSABI KeQueryActiveProcessorCountEx(u16 group)
{
	IRQL_MAX(HIGH_LEVEL);
	return group == 0 || group == 0xffff ? num_online_cpus() : 0;
}

static u32 MSABI KeQueryMaximumProcessorCountEx(u16 group)
{
	IRQL_MAX(HIGH_LEVEL);
	return group == 0 || group == 0xffff ? min(nr_cpu_ids, 64u) : 0;
}

static void set_mask(u64 mask)
{
	struct cpumask m;
	int cpu;

	cpumask_clear(&m);
	for (cpu = 0; cpu < 64 && cpu < nr_cpu_ids; cpu++)
		if (mask & (1ull << cpu))
			cpumask_set_cpu(cpu, &m);
	if (set_cpus_allowed_ptr(current, &m))
		pr_err("thinvisor: ntshim: cannot set the affinity to 0x%llx\n",
		       mask);
}

static void MSABI KeSetSystemGroupAffinityThread(struct group_affinity *want,
						 struct group_affinity *old)
{
	IRQL_MAX(APC_LEVEL);
	if (old) {
		memset(old, 0, sizeof(*old));
		old->mask = cpumask_bits(current->cpus_ptr)[0];
	}
	if (want->group) {
		misuse(__func__, "group other than 0");
		return;
	}
	set_mask(want->mask);
}

static void MSABI KeRevertToUserGroupAffinityThread(struct group_affinity *old)
{
	IRQL_MAX(APC_LEVEL);
	set_mask(old->mask ? old->mask : cpumask_bits(cpu_possible_mask)[0]);
}

/* --- callbacks: \Callback\PowerState and processor change -------------- */

typedef void (*nt_cb3)(void *, void *, void *);

struct cb_reg {
	struct list_head node;
	void *fn, *ctx;
};

static struct {
	int refs;
} power_obj;
static LIST_HEAD(power_regs);
static LIST_HEAD(cpu_regs);
/* Held while a callback runs: unregistering waits for those in flight. */
static DEFINE_MUTEX(cb_lock);

static NTSTATUS MSABI ExCreateCallback(void **obj,
				       struct nt_object_attributes *oa,
				       u8 create, u8 allow_multiple)
{
	char name[64];

	IRQL_MAX(PASSIVE_LEVEL);
	if (!oa || !name_ascii(oa->object_name, name, sizeof(name)) ||
	    strcasecmp(name, "\\Callback\\PowerState")) {
		pr_err("thinvisor: ntshim: ExCreateCallback: only \\Callback\\PowerState is modelled\n");
		return STATUS_OBJECT_NAME_NOT_FOUND;
	}
	mutex_lock(&cb_lock);
	power_obj.refs++;
	mutex_unlock(&cb_lock);
	*obj = &power_obj;
	return STATUS_SUCCESS;
}

static void *MSABI ExRegisterCallback(void *obj, void *fn, void *ctx)
{
	struct cb_reg *r;

	IRQL_MAX(APC_LEVEL);
	if (obj != &power_obj) {
		misuse(__func__, "not a callback object");
		return NULL;
	}
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return NULL;
	r->fn = fn;
	r->ctx = ctx;
	mutex_lock(&cb_lock);
	list_add_tail(&r->node, &power_regs);
	mutex_unlock(&cb_lock);
	return r;
}

static bool unregister(struct list_head *list, void *reg)
{
	struct cb_reg *r;

	mutex_lock(&cb_lock);
	list_for_each_entry(r, list, node) {
		if (r == reg) {
			list_del(&r->node);
			mutex_unlock(&cb_lock);
			kfree(r);
			return true;
		}
	}
	mutex_unlock(&cb_lock);
	return false;
}

static void MSABI ExUnregisterCallback(void *reg)
{
	IRQL_MAX(APC_LEVEL);
	if (!unregister(&power_regs, reg))
		misuse(__func__, "not a registration");
}

static s64 MSABI ObfDereferenceObject(void *obj)
{
	int refs;

	IRQL_MAX(DISPATCH_LEVEL);
	if (obj != &power_obj) {
		misuse(__func__, "not an object the shim handed out");
		return 0;
	}
	mutex_lock(&cb_lock);
	refs = --power_obj.refs;
	mutex_unlock(&cb_lock);
	if (refs < 0)
		misuse(__func__, "dereferenced more often than referenced");
	return refs;
}

static void *MSABI KeRegisterProcessorChangeCallback(void *fn, void *ctx,
						     u32 flags)
{
	struct cb_reg *r;

	IRQL_MAX(PASSIVE_LEVEL);
	if (flags) {
		/* KE_PROCESSOR_CHANGE_ADD_EXISTING: not used by the driver. */
		misuse(__func__, "flags are not modelled");
		return NULL;
	}
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return NULL;
	r->fn = fn;
	r->ctx = ctx;
	mutex_lock(&cb_lock);
	list_add_tail(&r->node, &cpu_regs);
	mutex_unlock(&cb_lock);
	return r;
}

static void MSABI KeDeregisterProcessorChangeCallback(void *reg)
{
	IRQL_MAX(PASSIVE_LEVEL);
	if (!unregister(&cpu_regs, reg))
		misuse(__func__, "not a registration");
}

#define PO_CB_SYSTEM_STATE_LOCK 3

/* The PM notifier: leaving S0 before suspend, back in S0 after resume. */
void nt_power_event(bool leaving_s0)
{
	struct cb_reg *r;

	mutex_lock(&cb_lock);
	list_for_each_entry(r, &power_regs, node)
		ntshim_ms_call(r->fn, (u64)r->ctx, PO_CB_SYSTEM_STATE_LOCK,
			       !leaving_s0, 0);
	mutex_unlock(&cb_lock);
}

bool nt_cpu_callbacks_registered(void)
{
	bool any;

	mutex_lock(&cb_lock);
	any = !list_empty(&cpu_regs);
	mutex_unlock(&cb_lock);
	return any;
}

struct change_ctx {
	u32 state;		/* KE_PROCESSOR_CHANGE_NOTIFY_STATE */
	u32 nt_number;
	NTSTATUS status;
	struct processor_number pn;
};

/* A processor came online: start, then complete, as Windows sends them. */
void nt_cpu_added(unsigned int cpu)
{
	struct change_ctx c = { .nt_number = cpu, .pn = { 0, cpu, 0 } };
	NTSTATUS op = STATUS_SUCCESS;
	struct cb_reg *r;

	mutex_lock(&cb_lock);
	for (c.state = 0; c.state <= 1; c.state++)
		list_for_each_entry(r, &cpu_regs, node)
			ntshim_ms_call(r->fn, (u64)r->ctx, (u64)&c, (u64)&op,
				       0);
	mutex_unlock(&cb_lock);
}

/* --- registry: the service key, values from module parameters ----------- */

#define SERVICE_KEY "\\Registry\\Machine\\System\\CurrentControlSet\\Services\\thinvisor"

struct nt_key {
	struct nt_handle h;
};

static NTSTATUS MSABI ZwOpenKey(void **key, u32 access,
				struct nt_object_attributes *oa)
{
	struct nt_key *k;
	char name[128];

	IRQL_MAX(PASSIVE_LEVEL);
	if (!oa || !name_ascii(oa->object_name, name, sizeof(name)) ||
	    strcasecmp(name, SERVICE_KEY))
		return STATUS_OBJECT_NAME_NOT_FOUND;
	k = kzalloc(sizeof(*k), GFP_KERNEL);
	if (!k)
		return STATUS_INSUFFICIENT_RESOURCES;
	handle_add(&k->h, H_KEY);
	*key = k;
	return STATUS_SUCCESS;
}

#define KEY_VALUE_PARTIAL_INFORMATION 2
#define REG_DWORD 4

static NTSTATUS MSABI ZwQueryValueKey(void *key, struct nt_unicode_string *vn,
				      int class, void *buf, u32 len,
				      u32 *result_len)
{
	struct {
		u32 title_index, type, data_length;
		u32 data;
	} __packed v = { 0, REG_DWORD, 4, 0 };
	char name[32];

	IRQL_MAX(PASSIVE_LEVEL);
	if (!handle_get(key, H_KEY)) {
		misuse(__func__, "not a key handle");
		return STATUS_INVALID_HANDLE;
	}
	if (class != KEY_VALUE_PARTIAL_INFORMATION ||
	    !name_ascii(vn, name, sizeof(name)))
		return STATUS_INVALID_PARAMETER;
	/* A value exists only when its module parameter was given. */
	if (!strcasecmp(name, "FailStep") && nt_fail_step >= 0)
		v.data = nt_fail_step;
	else if (!strcasecmp(name, "LogLevel") && nt_log_level >= 0)
		v.data = nt_log_level;
	else
		return STATUS_OBJECT_NAME_NOT_FOUND;
	*result_len = sizeof(v);
	if (len < sizeof(v))
		return STATUS_BUFFER_TOO_SMALL;
	memcpy(buf, &v, sizeof(v));
	return STATUS_SUCCESS;
}

/* --- files: \SystemRoot\ is the directory nt_systemroot ----------------- */

struct io_status_block {
	s64 status;
	u64 information;
};

#define FILE_SUPERSEDE 0
#define FILE_OPEN 1
#define FILE_CREATE 2
#define FILE_OPEN_IF 3
#define FILE_APPEND_DATA 0x4
#define FILE_WRITE_DATA 0x2

static NTSTATUS MSABI ZwCreateFile(void **handle, u32 access,
				   struct nt_object_attributes *oa,
				   struct io_status_block *iosb, s64 *alloc,
				   u32 attrs, u32 share, u32 disposition,
				   u32 options, void *ea, u32 ea_len)
{
	const char *root = "\\SystemRoot\\";
	char name[128], path[192];
	struct nt_file *f;
	int flags = O_LARGEFILE;
	char *p;

	IRQL_MAX(PASSIVE_LEVEL);
	if (!oa || !name_ascii(oa->object_name, name, sizeof(name)) ||
	    strncasecmp(name, root, strlen(root))) {
		pr_err("thinvisor: ntshim: ZwCreateFile: only names under \\SystemRoot\\ are modelled\n");
		return STATUS_OBJECT_NAME_NOT_FOUND;
	}
	snprintf(path, sizeof(path), "%s/%s", nt_systemroot,
		 name + strlen(root));
	for (p = path; *p; p++)
		if (*p == '\\')
			*p = '/';
	if (access & (FILE_APPEND_DATA | FILE_WRITE_DATA))
		flags |= O_WRONLY | (access & FILE_WRITE_DATA ? 0 : O_APPEND);
	if (disposition == FILE_OPEN_IF || disposition == FILE_CREATE)
		flags |= O_CREAT;
	if (disposition == FILE_CREATE)
		flags |= O_EXCL;
	if (disposition != FILE_OPEN && disposition != FILE_OPEN_IF &&
	    disposition != FILE_CREATE)
		return STATUS_NOT_IMPLEMENTED;
	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return STATUS_INSUFFICIENT_RESOURCES;
	f->filp = filp_open(path, flags, 0644);
	if (IS_ERR(f->filp)) {
		pr_err("thinvisor: ntshim: ZwCreateFile: cannot open %s (%ld)\n",
		       path, PTR_ERR(f->filp));
		kfree(f);
		iosb->status = STATUS_OBJECT_NAME_NOT_FOUND;
		return STATUS_OBJECT_NAME_NOT_FOUND;
	}
	handle_add(&f->h, H_FILE);
	*handle = f;
	iosb->status = STATUS_SUCCESS;
	iosb->information = 1;		/* FILE_OPENED */
	return STATUS_SUCCESS;
}

static NTSTATUS MSABI ZwWriteFile(void *handle, void *event, void *apc,
				  void *apc_ctx, struct io_status_block *iosb,
				  const void *buf, u32 len, s64 *offset,
				  u32 *key)
{
	struct nt_file *f;
	loff_t pos;
	ssize_t n;

	IRQL_MAX(PASSIVE_LEVEL);
	f = (void *)handle_get(handle, H_FILE);
	if (!f) {
		misuse(__func__, "not a file handle");
		return STATUS_INVALID_HANDLE;
	}
	if (event || apc || offset) {
		misuse(__func__, "only synchronous appends are modelled");
		return STATUS_NOT_IMPLEMENTED;
	}
	pos = f->filp->f_pos;
	n = kernel_write(f->filp, buf, len, &pos);
	f->filp->f_pos = pos;
	if (n < 0) {
		iosb->status = STATUS_UNSUCCESSFUL;
		iosb->information = 0;
		return STATUS_UNSUCCESSFUL;
	}
	iosb->status = STATUS_SUCCESS;
	iosb->information = n;
	return STATUS_SUCCESS;
}

/* --- debug output and bug checks ---------------------------------------- */

#define DPFLTR_ERROR_LEVEL 0
#define DPFLTR_WARNING_LEVEL 1

static u32 MSABI DbgPrintEx(u32 component, u32 level, const char *fmt, ...)
{
	__builtin_ms_va_list ap;
	char line[512];

	IRQL_MAX(DISPATCH_LEVEL);
	__builtin_ms_va_start(ap, fmt);
	nt_vsnprintf(line, sizeof(line), fmt, ap);
	__builtin_ms_va_end(ap);
	atomic_inc(&nt_dbgprint_lines);
	/* "DbgPrintEx" marks what came this way (tests look for it). */
	if (level == DPFLTR_ERROR_LEVEL)
		pr_err("DbgPrintEx: %s", line);
	else if (level == DPFLTR_WARNING_LEVEL)
		pr_warn("DbgPrintEx: %s", line);
	else
		pr_info("DbgPrintEx: %s", line);
	return 0;
}

static void MSABI KeBugCheckEx(u32 code, u64 p1, u64 p2, u64 p3, u64 p4)
{
	IRQL_MAX(HIGH_LEVEL);
	pr_emerg("thinvisor: ntshim: KeBugCheckEx(0x%x, 0x%llx, 0x%llx, 0x%llx, 0x%llx)\n",
		 code, p1, p2, p3, p4);
	if (code == 0xe2 && p4)
		pr_emerg("%s\n", (const char *)p4);
	panic("thinvisor.sys bug check 0x%x", code);
}

/* --- the import table --------------------------------------------------- */

#define IMP(f) { #f, (void *)f }
static const struct nt_import ntoskrnl[] = {
	IMP(DbgPrintEx),
	IMP(ExAllocatePoolWithTag),
	IMP(ExCreateCallback),
	IMP(ExFreePool),
	IMP(ExFreePoolWithTag),
	IMP(ExRegisterCallback),
	IMP(ExUnregisterCallback),
	IMP(KeBugCheckEx),
	IMP(KeDeregisterProcessorChangeCallback),
	IMP(KeGetCurrentProcessorNumberEx),
	IMP(KeGetProcessorNumberFromIndex),
	IMP(KeInitializeEvent),
	IMP(KeInitializeMutex),
	IMP(KeQueryActiveGroupCount),
	IMP(KeQueryActiveProcessorCountEx),
	IMP(KeQueryMaximumProcessorCountEx),
	IMP(KeRegisterProcessorChangeCallback),
	IMP(KeReleaseMutex),
	IMP(KeRevertToUserGroupAffinityThread),
	IMP(KeSetEvent),
	IMP(KeSetSystemGroupAffinityThread),
	IMP(KeWaitForSingleObject),
	IMP(MmAllocateContiguousNodeMemory),
	IMP(MmFreeContiguousMemory),
	IMP(MmGetPhysicalAddress),
	IMP(MmGetPhysicalMemoryRanges),
	IMP(ObfDereferenceObject),
	IMP(PsCreateSystemThread),
	IMP(PsTerminateSystemThread),
	IMP(RtlGetVersion),
	IMP(RtlInitUnicodeString),
	IMP(ZwClose),
	IMP(ZwCreateFile),
	IMP(ZwOpenKey),
	IMP(ZwQueryValueKey),
	IMP(ZwWaitForSingleObject),
	IMP(ZwWriteFile),
};

const struct nt_import *nt_find_import(const char *dll, const char *name)
{
	size_t i;

	if (strcasecmp(dll, "ntoskrnl.exe"))
		return NULL;		/* HAL.dll: nothing is modelled */
	for (i = 0; i < ARRAY_SIZE(ntoskrnl); i++)
		if (!strcmp(ntoskrnl[i].name, name))
			return &ntoskrnl[i];
	return NULL;
}

/* What the driver left behind after DriverUnload or a failed DriverEntry. */
int nt_report_leaks(const char *when)
{
	int leaks = 0, n;
	struct contig *c;

	n = atomic_read(&pool_blocks);
	if (n) {
		pr_err("thinvisor: ntshim: leak %s: %d pool blocks not freed\n",
		       when, n);
		leaks++;
	}
	n = 0;
	spin_lock(&contig_lock);
	list_for_each_entry(c, &contigs, node)
		n++;
	spin_unlock(&contig_lock);
	if (n) {
		pr_err("thinvisor: ntshim: leak %s: %d contiguous blocks not freed\n",
		       when, n);
		leaks++;
	}
	spin_lock(&handle_lock);
	n = nhandles + !list_empty(&threads);
	spin_unlock(&handle_lock);
	if (n) {
		pr_err("thinvisor: ntshim: leak %s: %d handles open or threads running\n",
		       when, n);
		leaks++;
	}
	mutex_lock(&cb_lock);
	n = !list_empty(&power_regs) + !list_empty(&cpu_regs) +
		!!power_obj.refs;
	mutex_unlock(&cb_lock);
	if (n) {
		pr_err("thinvisor: ntshim: leak %s: callbacks still registered or referenced\n",
		       when);
		leaks++;
	}
	return leaks;
}
