// SPDX-License-Identifier: MIT
/*
 * The PE32+ loader: what the Windows memory manager does for a driver.
 * The file is read as `make windows` wrote it (signature included: the
 * certificate table lies past the sections and is never mapped), mapped
 * by section into memory of our own, rebased, its imports bound by name,
 * then each page given the rights its section asks for: code read-only
 * and executable, everything else non-executable.  Stock 6.1 exports no
 * way to make memory executable, so the page-table entries of our own
 * vmalloc area are changed directly (lookup_address()); nothing outside
 * that area is touched.
 */
#include <linux/kernel.h>
#include <linux/kernel_read_file.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/vmalloc.h>
#include <linux/string.h>
#include <asm/pgtable.h>
#include <asm/tlbflush.h>
#include "shim.h"

#define PE_MAX_FILE		(8 << 20)
#define IMAGE_FILE_MACHINE_AMD64	0x8664
#define PE32PLUS_MAGIC		0x20b
#define DIR_IMPORT		1
#define DIR_BASERELOC		5
#define REL_ABSOLUTE		0
#define REL_DIR64		10
#define SCN_MEM_EXECUTE		0x20000000u
#define SCN_MEM_WRITE		0x80000000u

struct pe_dos {
	u16 magic;
	u8 pad[58];
	u32 lfanew;
} __packed;

struct pe_file_header {
	u16 machine;
	u16 nsections;
	u32 timestamp;
	u32 symtab;
	u32 nsyms;
	u16 opt_size;
	u16 characteristics;
} __packed;

struct pe_dir {
	u32 rva;
	u32 size;
} __packed;

struct pe_opt64 {
	u16 magic;
	u8 linker[2];
	u32 code_size, idata_size, udata_size;
	u32 entry;
	u32 code_base;
	u64 image_base;
	u32 section_align, file_align;
	u16 os[2], img[2], subsys[2];
	u32 win32;
	u32 image_size;
	u32 headers_size;
	u32 checksum;
	u16 subsystem, dll_chars;
	u64 stack_reserve, stack_commit, heap_reserve, heap_commit;
	u32 loader_flags;
	u32 ndirs;
	struct pe_dir dir[16];
} __packed;

struct pe_section {
	char name[8];
	u32 vsize;
	u32 rva;
	u32 raw_size;
	u32 raw_ptr;
	u32 relocs, lines;
	u16 nrelocs, nlines;
	u32 characteristics;
} __packed;

struct pe_import_desc {
	u32 lookup_rva;		/* OriginalFirstThunk */
	u32 timestamp;
	u32 forwarder;
	u32 name_rva;
	u32 iat_rva;		/* FirstThunk */
} __packed;

/* @len bytes at @rva lie inside the image. */
static bool rva_ok(const struct pe_image *img, u64 rva, u64 len)
{
	return rva <= img->size && len <= img->size - rva;
}

/* A NUL-terminated string at @rva inside the image, else NULL. */
static const char *rva_str(const struct pe_image *img, u32 rva)
{
	const char *s = img->base + rva;

	if (!rva_ok(img, rva, 1) || !memchr(s, 0, img->size - rva))
		return NULL;
	return s;
}

static int apply_relocs(struct pe_image *img, const struct pe_dir *d,
			u64 delta)
{
	u32 off = 0;

	if (!d->size)
		return 0;
	if (!rva_ok(img, d->rva, d->size))
		return -ENOEXEC;
	while (off + 8 <= d->size) {
		const u32 *blk = img->base + d->rva + off;
		u32 page = blk[0], bytes = blk[1], i;
		const u16 *ent = (const u16 *)(blk + 2);

		if (bytes < 8 || bytes > d->size - off)
			return -ENOEXEC;
		for (i = 0; i < (bytes - 8) / 2; i++) {
			u32 type = ent[i] >> 12, rva = page + (ent[i] & 0xfff);

			if (type == REL_ABSOLUTE)
				continue;
			if (type != REL_DIR64 || !rva_ok(img, rva, 8)) {
				pr_err("thinvisor: ntshim: relocation type %u at 0x%x not supported\n",
				       type, rva);
				return -ENOEXEC;
			}
			*(u64 *)(img->base + rva) += delta;
		}
		off += bytes;
	}
	return 0;
}

/* Every import by name; an unknown one refuses the whole image. */
static int bind_imports(struct pe_image *img, const struct pe_dir *d)
{
	const struct pe_import_desc *desc;
	int missing = 0;

	if (!d->size)
		return 0;
	for (desc = img->base + d->rva;
	     rva_ok(img, (void *)desc - img->base, sizeof(*desc)) &&
	     desc->name_rva; desc++) {
		const char *dll = rva_str(img, desc->name_rva);
		u32 lookup = desc->lookup_rva ? desc->lookup_rva : desc->iat_rva;
		unsigned int i;

		if (!dll)
			return -ENOEXEC;
		for (i = 0;; i++) {
			u64 *iat = img->base + desc->iat_rva + i * 8;
			const u64 *ilt = img->base + lookup + i * 8;
			const struct nt_import *imp;
			const char *name;

			if (!rva_ok(img, desc->iat_rva + i * 8, 8) ||
			    !rva_ok(img, lookup + i * 8, 8))
				return -ENOEXEC;
			if (!*ilt)
				break;
			if (*ilt >> 63) {
				pr_err("thinvisor: ntshim: %s imports ordinal %llu: only imports by name are supported\n",
				       dll, *ilt & 0xffff);
				missing++;
				continue;
			}
			name = rva_str(img, (u32)*ilt + 2);
			if (!name)
				return -ENOEXEC;
			imp = nt_find_import(dll, name);
			if (!imp) {
				pr_err("thinvisor: ntshim: refusing the image: import %s!%s is not implemented by the shim\n",
				       dll, name);
				missing++;
				continue;
			}
			*iat = (u64)imp->fn;
			img->nimports++;
		}
	}
	return missing ? -ENOENT : 0;
}

struct prot_range {
	unsigned long start, end;
};

/* Each CPU drops what it cached of the old rights of our own pages. */
static void flush_range(void *arg)
{
	const struct prot_range *r = arg;
	unsigned long a;

	for (a = r->start; a < r->end; a += PAGE_SIZE)
		asm volatile("invlpg (%0)" : : "r"(a) : "memory");
}

/* Set the rights of [start, end) of our vmalloc area, page by page. */
static int protect(struct pe_image *img, unsigned long start,
		   unsigned long end, bool exec, bool write)
{
	struct prot_range r = { start, end };
	unsigned long a;

	for (a = start; a < end; a += PAGE_SIZE) {
		unsigned int level;
		pte_t *ptep = lookup_address(a, &level);
		pte_t pte;

		if (!ptep || level != PG_LEVEL_4K)
			return -EFAULT;
		pte = *ptep;
		pte = exec ? pte_clear_flags(pte, _PAGE_NX) :
			pte_set_flags(pte, _PAGE_NX);
		pte = write ? pte_set_flags(pte, _PAGE_RW) :
			pte_clear_flags(pte, _PAGE_RW);
		set_pte(ptep, pte);
	}
	on_each_cpu(flush_range, &r, 1);
	return 0;
}

static int map_sections(struct pe_image *img, const u8 *file, size_t fsize,
			const struct pe_section *sec, unsigned int n,
			u32 headers)
{
	unsigned int i;

	if (headers > fsize || headers > img->size)
		return -ENOEXEC;
	memcpy(img->base, file, headers);
	for (i = 0; i < n; i++) {
		u32 raw = min(sec[i].raw_size, sec[i].vsize ? sec[i].vsize :
			      sec[i].raw_size);

		if (!rva_ok(img, sec[i].rva, max(sec[i].vsize, raw)) ||
		    sec[i].raw_ptr > fsize || raw > fsize - sec[i].raw_ptr)
			return -ENOEXEC;
		memcpy(img->base + sec[i].rva, file + sec[i].raw_ptr, raw);
	}
	return 0;
}

static int protect_sections(struct pe_image *img,
			    const struct pe_section *sec, unsigned int n)
{
	unsigned long base = (unsigned long)img->base;
	unsigned int i;
	int ret;

	/* Headers and gaps: read-only data. */
	ret = protect(img, base, base + img->size, false, false);
	for (i = 0; !ret && i < n; i++) {
		u32 c = sec[i].characteristics;
		unsigned long s = base + sec[i].rva;
		unsigned long e = PAGE_ALIGN(s + max(sec[i].vsize,
						     sec[i].raw_size));

		if ((c & SCN_MEM_EXECUTE) && (c & SCN_MEM_WRITE)) {
			pr_err("thinvisor: ntshim: section %.8s is writable and executable: refused\n",
			       sec[i].name);
			return -ENOEXEC;
		}
		ret = protect(img, s, e, c & SCN_MEM_EXECUTE, c & SCN_MEM_WRITE);
	}
	return ret;
}

int pe_load(const char *path, struct pe_image *img)
{
	const struct pe_file_header *fh;
	const struct pe_section *sec;
	const struct pe_opt64 *opt;
	const struct pe_dos *dos;
	size_t fsize = 0;
	void *file = NULL;
	ssize_t got;
	int ret = -ENOEXEC;

	memset(img, 0, sizeof(*img));
	got = kernel_read_file_from_path(path, 0, &file, PE_MAX_FILE, &fsize,
					 READING_UNKNOWN);
	if (got < 0) {
		pr_err("thinvisor: ntshim: cannot read %s (%zd)\n", path, got);
		return got;
	}
	fsize = got;
	dos = file;
	if (fsize < sizeof(*dos) || dos->magic != 0x5a4d ||
	    dos->lfanew > fsize - 4 - sizeof(*fh) - sizeof(*opt) ||
	    memcmp(file + dos->lfanew, "PE\0\0", 4))
		goto bad;
	fh = file + dos->lfanew + 4;
	opt = (const void *)(fh + 1);
	if (fh->machine != IMAGE_FILE_MACHINE_AMD64 ||
	    opt->magic != PE32PLUS_MAGIC || opt->ndirs < 6 ||
	    fh->opt_size < sizeof(*opt))
		goto bad;
	sec = (const void *)opt + fh->opt_size;
	if ((const void *)(sec + fh->nsections) > file + fsize)
		goto bad;

	img->size = PAGE_ALIGN(opt->image_size);
	img->base = __vmalloc(img->size, GFP_KERNEL | __GFP_ZERO);
	if (!img->base) {
		ret = -ENOMEM;
		goto out;
	}
	ret = map_sections(img, file, fsize, sec, fh->nsections,
			   opt->headers_size);
	if (!ret)
		ret = apply_relocs(img, &opt->dir[DIR_BASERELOC],
				   (u64)img->base - opt->image_base);
	if (!ret)
		ret = bind_imports(img, &opt->dir[DIR_IMPORT]);
	if (!ret && !rva_ok(img, opt->entry, 1))
		ret = -ENOEXEC;
	if (!ret)
		ret = protect_sections(img, sec, fh->nsections);
	if (ret)
		goto out;
	img->entry = img->base + opt->entry;
	pr_info("thinvisor: ntshim: %s mapped at %p (%zu KiB), %u imports bound\n",
		path, img->base, img->size >> 10, img->nimports);
	vfree(file);
	return 0;
bad:
	pr_err("thinvisor: ntshim: %s is not an x64 PE image\n", path);
out:
	if (img->base)
		pe_unload(img);
	vfree(file);
	return ret;
}

void pe_unload(struct pe_image *img)
{
	unsigned long base = (unsigned long)img->base;

	if (!img->base)
		return;
	/* Back to plain data before vfree() hands the pages on. */
	protect(img, base, base + img->size, false, true);
	vfree(img->base);
	img->base = NULL;
}
