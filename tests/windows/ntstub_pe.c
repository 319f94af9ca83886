// SPDX-License-Identifier: MIT
/*
 * Loading thinvisor.sys the way the NT loader does, as far as the test
 * needs: sections at their RVAs in a fresh mapping (so the image never
 * sits at its preferred base and every DIR64 relocation is applied),
 * imports bound by name to the fakes (an unknown import fails the load,
 * as it would on Windows), then each section protected as its flags say.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <ucontext.h>
#include "ntstub.h"

#define SCN_EXEC 0x20000000u
#define SCN_READ 0x40000000u
#define SCN_WRITE 0x80000000u

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static int fail(char *err, size_t len, const char *msg, const char *arg)
{
	snprintf(err, len, "%s%s%s", msg, arg ? ": " : "", arg ? arg : "");
	return -1;
}

static uint8_t *read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (!f)
		return NULL;
	n = fseek(f, 0, SEEK_END) ? -1 : ftell(f);
	if (n > 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc(n);
		if (buf && fread(buf, 1, n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*size = n;
	}
	fclose(f);
	return buf;
}

int pe_load(const char *path, struct image *img, char *err, size_t len)
{
	const uint8_t *opt, *sec, *dir;
	uint32_t pe, image_size, hdr_size, rva, size, i;
	uint16_t nsec, opt_size;
	size_t file_size;
	uint8_t *file, *b;
	int64_t delta;

	memset(img, 0, sizeof(*img));
	file = read_file(path, &file_size);
	if (!file)
		return fail(err, len, "cannot read", path);
	if (file_size < 0x200 || memcmp(file, "MZ", 2))
		goto bad;
	pe = rd32(file + 0x3c);
	if (pe + 24 > file_size || memcmp(file + pe, "PE\0\0", 4))
		goto bad;
	nsec = rd16(file + pe + 6);
	opt_size = rd16(file + pe + 20);
	opt = file + pe + 24;
	if (rd16(opt) != 0x20b)
		goto bad;
	img->pref_base = rd64(opt + 24);
	image_size = rd32(opt + 56);
	hdr_size = rd32(opt + 60);
	img->subsystem = rd16(opt + 68);
	sec = opt + opt_size;
	dir = opt + 112;

	b = mmap(NULL, image_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b == MAP_FAILED) {
		free(file);
		return fail(err, len, "mmap failed", NULL);
	}
	img->base = b;
	img->size = image_size;
	memcpy(b, file, hdr_size);
	for (i = 0; i < nsec; i++) {
		const uint8_t *s = sec + 40 * i;
		uint32_t va = rd32(s + 12), raw = rd32(s + 16),
			 off = rd32(s + 20);

		if (va + raw > image_size || off + raw > file_size)
			goto bad_unmap;
		memcpy(b + va, file + off, raw);
	}
	img->nsections = nsec;

	/* Base relocations: only DIR64 (and padding) in an x64 image. */
	delta = (int64_t)((uint64_t)(uintptr_t)b - img->pref_base);
	rva = rd32(dir + 5 * 8);
	size = rd32(dir + 5 * 8 + 4);
	for (i = 0; i < size;) {
		uint32_t page = rd32(b + rva + i), bsize = rd32(b + rva + i + 4);
		uint32_t e;

		if (bsize < 8)
			goto bad_unmap;
		for (e = 8; e < bsize; e += 2) {
			uint16_t ent = rd16(b + rva + i + e);
			uint8_t *at = b + page + (ent & 0xfff);

			if ((ent >> 12) == 0)
				continue;
			if ((ent >> 12) != 10) {
				pe_unload(img);
				free(file);
				return fail(err, len, "relocation type not DIR64",
					    NULL);
			}
			uint64_t v = rd64(at) + delta;

			memcpy(at, &v, 8);
			img->nrelocs++;
		}
		i += bsize;
	}

	/* Imports, by name only. */
	rva = rd32(dir + 1 * 8);
	for (const uint8_t *d = b + rva; rva && (rd32(d) || rd32(d + 12));
	     d += 20) {
		const char *dll = (const char *)b + rd32(d + 12);
		uint32_t ilt = rd32(d) ? rd32(d) : rd32(d + 16);
		uint8_t *iat = b + rd32(d + 16);

		for (const uint8_t *t = b + ilt; rd64(t); t += 8, iat += 8) {
			uint64_t ent = rd64(t);
			const char *name = (const char *)b +
					   (uint32_t)(ent & 0x7fffffff) + 2;
			void *fn;

			if (ent >> 63) {
				pe_unload(img);
				free(file);
				return fail(err, len, "import by ordinal", dll);
			}
			fn = nt_lookup(dll, name);
			if (!fn) {
				char what[160];

				snprintf(what, sizeof(what), "%s!%s", dll, name);
				pe_unload(img);
				free(file);
				return fail(err, len, "no fake for import", what);
			}
			memcpy(iat, &fn, 8);
			img->nimports++;
		}
	}

	/* Now as the sections ask: code not writable, data not executable. */
	mprotect(b, hdr_size, PROT_READ);
	for (i = 0; i < nsec; i++) {
		const uint8_t *s = sec + 40 * i;
		uint32_t va = rd32(s + 12), vs = rd32(s + 8);
		uint32_t flags = rd32(s + 36);
		int prot = 0;

		vs = (vs + 0xfff) & ~0xfffu;
		if (flags & SCN_READ)
			prot |= PROT_READ;
		if (flags & SCN_WRITE)
			prot |= PROT_WRITE;
		if (flags & SCN_EXEC)
			prot |= PROT_EXEC;
		if (vs && mprotect(b + va, vs, prot)) {
			pe_unload(img);
			free(file);
			return fail(err, len, "mprotect failed", NULL);
		}
	}
	img->entry = (driver_entry_fn)(void *)(b + rd32(opt + 16));
	free(file);
	return 0;

bad_unmap:
	pe_unload(img);
bad:
	free(file);
	return fail(err, len, "not a PE32+ image", path);
}

void pe_unload(struct image *img)
{
	if (img->base)
		munmap(img->base, img->size);
	img->base = NULL;
}

/* --- privileged instructions ----------------------------------------- */

unsigned long emu_count;
static const struct image *emu_img;

/*
 * What CR3/CR0/CR4 read as: a plausible System process root, PG/PE/NE,
 * PAE/PGE/OSFXSR and no VMXE (so the core's CR4 check passes).
 */
#define FAKE_CR3 0x1ad000ULL
#define FAKE_CR0 0x80050033ULL
#define FAKE_CR4 0x3506f8ULL

static const int gpr[16] = {
	REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
	REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
};

static void die(const char *what, uint64_t rva)
{
	char msg[160];
	int n = snprintf(msg, sizeof(msg),
			 "ntstub: %s at thinvisor.sys RVA 0x%llx: the stand-in cannot run this\n",
			 what, (unsigned long long)rva);

	if (write(2, msg, n) < 0)
		_exit(3);
	_exit(3);
}

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	greg_t *g = uc->uc_mcontext.gregs;
	uint8_t *ip = (uint8_t *)g[REG_RIP];
	unsigned int i = 0, rex = 0, cr, r;
	uint8_t modrm;

	if (!emu_img || ip < emu_img->base ||
	    ip >= emu_img->base + emu_img->size) {
		signal(SIGSEGV, SIG_DFL);
		return;		/* re-faults, now fatal: a real crash */
	}
	if ((ip[0] & 0xf0) == 0x40)
		rex = ip[i++];
	if (ip[i] == 0x0f && ip[i + 1] == 0x32 && !rex) {
		/* RDMSR: only IA32_FEATURE_CONTROL, locked with VMX off. */
		if ((uint32_t)g[REG_RCX] != 0x3a)
			die("RDMSR of an MSR the stand-in does not model",
			    ip - emu_img->base);
		g[REG_RAX] = 1;
		g[REG_RDX] = 0;
		g[REG_RIP] += 2;
		emu_count++;
		return;
	}
	if (ip[i] != 0x0f || (ip[i + 1] != 0x20 && ip[i + 1] != 0x22))
		die("privileged instruction", ip - emu_img->base);
	modrm = ip[i + 2];
	if ((modrm >> 6) != 3)
		die("bad MOV CR encoding", ip - emu_img->base);
	cr = ((modrm >> 3) & 7) | (rex & 4 ? 8 : 0);
	r = (modrm & 7) | (rex & 1 ? 8 : 0);
	if (ip[i + 1] == 0x20) {
		switch (cr) {
		case 0:
			g[gpr[r]] = FAKE_CR0;
			break;
		case 3:
			g[gpr[r]] = FAKE_CR3;
			break;
		case 4:
			g[gpr[r]] = FAKE_CR4;
			break;
		case 8:
			g[gpr[r]] = nt_irql;
			break;
		default:
			die("MOV from an unmodelled CR", ip - emu_img->base);
		}
	} else {
		/* The only control register Windows code may write: IRQL. */
		if (cr != 8)
			die("MOV to CR0/CR3/CR4", ip - emu_img->base);
		nt_irql = (unsigned int)(g[gpr[r]] & 15);
	}
	g[REG_RIP] += i + 3;
	emu_count++;
}

void emu_install(const struct image *img)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	emu_img = img;
	sigaction(SIGSEGV, &sa, NULL);
}

/* --- sections of the mapped image ------------------------------------- */

static const uint8_t *section_headers(const struct image *img, unsigned int *n)
{
	const uint8_t *b = img->base;
	uint32_t pe = rd32(b + 0x3c);

	*n = rd16(b + pe + 6);
	return b + pe + 24 + rd16(b + pe + 20);
}

int pe_section(const struct image *img, const char *name,
	       const uint8_t **start, uint32_t *size, uint32_t *flags)
{
	const uint8_t *s;
	unsigned int n, i;

	s = section_headers(img, &n);
	for (i = 0; i < n; i++, s += 40) {
		if (strncmp((const char *)s, name, 8))
			continue;
		*start = img->base + rd32(s + 12);
		*size = rd32(s + 8);	/* VirtualSize: without file padding */
		*flags = rd32(s + 36);
		return 0;
	}
	return -1;
}

bool pe_is_code(const struct image *img, uint64_t addr)
{
	const uint8_t *s;
	unsigned int n, i;
	uint64_t rva = addr - (uint64_t)(uintptr_t)img->base;

	if (addr < (uint64_t)(uintptr_t)img->base || rva >= img->size)
		return false;
	s = section_headers(img, &n);
	for (i = 0; i < n; i++, s += 40)
		if (rva >= rd32(s + 12) && rva < rd32(s + 12) + rd32(s + 8))
			return rd32(s + 36) & 0x20000000;	/* MEM_EXECUTE */
	return false;
}
