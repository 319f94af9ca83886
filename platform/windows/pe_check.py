#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check thinvisor.sys as Windows' loader and HVCI would see it.

usage: pe_check.py --allow imports.allow IMAGE...
       pe_check.py --self-test imports.allow IMAGE
       pe_check.py --production IMAGE --test-build TEST_IMAGE
       pe_check.py --unwind SYMS_IMAGE IMAGE [--xfail WHY]

For each image: PE32+ x64, native subsystem, not a DLL, NX-compatible and
relocatable, entry point inside an executable section, imports only from
ntoskrnl.exe and HAL.dll and only names on the allow-list (no ordinals), no
section both writable and executable, and a PE checksum equal to what
CheckSumMappedFile computes; none of ntoskrnl's SIMD string routines
(SIMD_IMPORTS) imported.  --production: the production image has no
FailStep test hook (not even the registry value's name), while the test
build has it.  --unwind: the exception directory (.pdata/.xdata) of IMAGE
covers the exit stub tv_asm_vmexit from its first byte past its call of
the handler, and the unwind codes of every tv_asm_* stub that has them
describe exactly the stack operations of its prologue (symbols from
SYMS_IMAGE, the same link with symbols).  Standard library only.
"""
import struct
import sys

# ntoskrnl's string and memory routines use XMM registers, which VMX root
# must not touch (platform/windows/string.c has general-register ones):
# never imported, whatever imports.allow says.
SIMD_IMPORTS = {"memset", "memcpy", "memmove", "memcmp", "memchr", "strlen",
                "strnlen", "strcmp", "strncmp", "strcpy", "strncpy",
                "strcat", "strncat", "strchr", "strrchr", "strstr", "wcslen",
                "wcsnlen", "wcscmp", "wcsncmp", "wcscpy", "wcsncpy",
                "_vsnprintf", "_snprintf", "sprintf", "vsprintf", "_vsnwprintf",
                "RtlCopyMemory", "RtlMoveMemory", "RtlZeroMemory",
                "RtlFillMemory", "RtlCompareMemory", "RtlCompareMemoryUlong",
                "RtlFillMemoryUlong", "RtlFillMemoryUlonglong",
                "RtlEqualMemory", "RtlCopyMemoryNonTemporal",
                "RtlSecureZeroMemory", "RtlPrefetchMemoryNonTemporal"}
SCN_EXEC = 0x20000000
SCN_WRITE = 0x80000000
ALLOWED_DLLS = {"ntoskrnl.exe", "hal.dll"}


def pe_checksum(data, csum_off):
    """The CheckSumMappedFile algorithm: 16-bit one's-complement-style sum
    with the CheckSum field taken as zero, folded, plus the file length."""
    length = len(data)
    if length % 2:
        data = bytes(data) + b"\0"
    total = 0
    for (word,) in struct.iter_unpack("<H", data):
        total += word
    # The stored checksum's two words are part of the sum; take them out.
    for off in (csum_off, csum_off + 2):
        total -= struct.unpack_from("<H", data, off)[0]
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (total + length) & 0xFFFFFFFF


class Pe:
    def __init__(self, path, mutate=None):
        with open(path, "rb") as f:
            self.data = f.read()
        if mutate:
            self.data = bytes(mutate(bytearray(self.data)))
        d = self.data
        if d[:2] != b"MZ":
            raise ValueError("no MZ header")
        self.pe = struct.unpack_from("<I", d, 0x3C)[0]
        if d[self.pe:self.pe + 4] != b"PE\0\0":
            raise ValueError("no PE signature")
        coff = self.pe + 4
        (self.machine, nsec, _, _, _, opt_size,
         self.characteristics) = struct.unpack_from("<HHIIIHH", d, coff)
        self.opt = coff + 20
        self.magic = struct.unpack_from("<H", d, self.opt)[0]
        if self.magic != 0x20B:
            raise ValueError("not PE32+")
        self.entry = struct.unpack_from("<I", d, self.opt + 16)[0]
        self.csum_off = self.opt + 64
        self.checksum = struct.unpack_from("<I", d, self.csum_off)[0]
        self.subsystem, self.dllchar = struct.unpack_from("<HH", d,
                                                          self.opt + 68)
        ndirs = struct.unpack_from("<I", d, self.opt + 108)[0]
        self.dirs = [struct.unpack_from("<II", d, self.opt + 112 + 8 * i)
                     for i in range(ndirs)]
        self.sections = []
        sec = self.opt + opt_size
        for i in range(nsec):
            name, vsize, va, rsize, roff = struct.unpack_from("<8sIIII", d,
                                                              sec + 40 * i)
            flags = struct.unpack_from("<I", d, sec + 40 * i + 36)[0]
            self.sections.append((name.rstrip(b"\0").decode(), va,
                                  max(vsize, rsize), roff, rsize, flags))

    def section_of(self, rva):
        for s in self.sections:
            if s[1] <= rva < s[1] + s[2]:
                return s
        return None

    def off(self, rva):
        s = self.section_of(rva)
        if not s or rva - s[1] >= s[4]:
            raise ValueError("RVA 0x%x not in file" % rva)
        return s[3] + rva - s[1]

    def cstr(self, rva):
        o = self.off(rva)
        return self.data[o:self.data.index(b"\0", o)].decode()

    def imports(self):
        rva, size = self.dirs[1] if len(self.dirs) > 1 else (0, 0)
        out = []
        if not rva:
            return out
        o = self.off(rva)
        while True:
            ilt, _, _, name, iat = struct.unpack_from("<IIIII", self.data, o)
            if not (ilt or name or iat):
                break
            dll = self.cstr(name)
            t = self.off(ilt or iat)
            while True:
                ent = struct.unpack_from("<Q", self.data, t)[0]
                if not ent:
                    break
                if ent >> 63:
                    out.append((dll, "#%d" % (ent & 0xFFFF)))
                else:
                    out.append((dll, self.cstr((ent & 0x7FFFFFFF) + 2)))
                t += 8
            o += 20
        return out


def load_allow(path):
    allow = set()
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                dll, _, fn = line.partition("!")
                allow.add("%s!%s" % (dll.lower(), fn))
    return allow


def check(path, allow, mutate=None):
    errors = []
    pe = Pe(path, mutate)
    ok = lambda cond, msg: None if cond else errors.append(msg)
    ok(pe.machine == 0x8664, "machine 0x%x is not x64" % pe.machine)
    ok(pe.subsystem == 1, "subsystem %d is not native (1)" % pe.subsystem)
    ok(not pe.characteristics & 0x2000, "IMAGE_FILE_DLL is set")
    ok(pe.characteristics & 0x0002, "not marked executable image")
    ok(not pe.characteristics & 0x0001, "relocations stripped")
    ok(pe.dllchar & 0x0100, "NX_COMPAT not set")
    ok(pe.dllchar & 0x0040, "DYNAMIC_BASE not set")
    es = pe.section_of(pe.entry)
    ok(es is not None and es[5] & SCN_EXEC,
       "entry point 0x%x not in an executable section" % pe.entry)
    for name, _, _, _, _, flags in pe.sections:
        ok(not (flags & SCN_EXEC and flags & SCN_WRITE),
           "section %s is writable and executable" % name)
    imps = pe.imports()
    ok(imps, "no imports at all")
    for dll, fn in imps:
        ok(fn not in SIMD_IMPORTS, "imports %s!%s, which uses SIMD "
           "registers (platform/windows/string.c must provide it)" % (dll, fn))
        ok(dll.lower() in ALLOWED_DLLS, "import from %s!%s" % (dll, fn))
        ok("%s!%s" % (dll.lower(), fn) in allow,
           "import %s!%s not on the allow-list" % (dll, fn))
    want = pe_checksum(bytearray(pe.data), pe.csum_off)
    ok(pe.checksum == want, "checksum 0x%08x, computed 0x%08x"
       % (pe.checksum, want))
    signed = len(pe.dirs) > 4 and pe.dirs[4][0] != 0
    if mutate:
        return errors
    print("pe_check: %s: subsystem native, %d sections (%s), %d imports "
          "from %s, checksum 0x%08x (computed 0x%08x), %s"
          % (path, len(pe.sections),
             " ".join(s[0] for s in pe.sections), len(imps),
             "+".join(sorted({d for d, _ in imps})), pe.checksum, want,
             "signed" if signed else "unsigned"))
    return errors


def self_test(path, allow):
    """The checker must catch what it claims to: a flipped byte (checksum)
    and a section made writable+executable, on a copy in memory."""
    pe = Pe(path)
    bad = bytearray(pe.data)
    text = pe.sections[0]
    bad[text[3] + 16] ^= 0xFF
    if pe_checksum(bad, pe.csum_off) == pe.checksum:
        print("pe_check: self-test: flipped byte not detected", file=sys.stderr)
        return 1
    mut = lambda d: struct.pack_into("<I", d, sec_flags_off(pe, 1),
                                     SCN_WRITE | SCN_EXEC) or d
    errs = check(path, allow, mut)
    if not any("writable and executable" in e for e in errs):
        print("pe_check: self-test: W+X section not detected", file=sys.stderr)
        return 1
    imps = pe.imports()
    victim = next((fn for _, fn in imps if len(fn) >= 6), None)
    name = victim.encode() + b"\0"
    at = pe.data.index(name)
    fake = b"strlen" + b"\0" * (len(name) - 6)
    mut = lambda d: d.__setitem__(slice(at, at + len(name)), fake) or d
    errs = check(path, allow, mut)
    if not any("strlen, which uses SIMD" in e for e in errs):
        print("pe_check: self-test: import of strlen not detected",
              file=sys.stderr)
        return 1
    print("pe_check: self-test: corrupted checksum, W+X section and an "
          "import of strlen (in place of %s) detected" % victim)
    return 0


def coff_symbols(pe):
    """{name: RVA} of the section-relative symbols of an image."""
    d = pe.data
    coff = pe.pe + 4
    ptr, count = struct.unpack_from("<II", d, coff + 8)
    strtab = ptr + 18 * count
    out = {}
    i = 0
    while i < count:
        o = ptr + 18 * i
        raw, value, secno, _, _, naux = struct.unpack_from("<8sIhHBB", d, o)
        if raw[:4] == b"\0\0\0\0":
            at = strtab + struct.unpack_from("<I", raw, 4)[0]
            name = d[at:d.index(b"\0", at)].decode()
        else:
            name = raw.rstrip(b"\0").decode()
        if 0 < secno <= len(pe.sections):
            out.setdefault(name, pe.sections[secno - 1][1] + value)
        i += 1 + naux
    return out


def runtime_functions(pe):
    rva, size = pe.dirs[3] if len(pe.dirs) > 3 else (0, 0)
    if not rva:
        return []
    o = pe.off(rva)
    return [struct.unpack_from("<III", pe.data, o + 12 * i)
            for i in range(size // 12)]


def unwind_ops(pe, info_rva):
    """(prologue size, frame register or None, [(code offset, kind, reg,
    bytes)] in prologue order)"""
    o = pe.off(info_rva)
    ver_flags, prolog, ncodes, frame = struct.unpack_from("<BBBB", pe.data, o)
    if ver_flags & 7 not in (1, 2):
        raise ValueError("unwind info version %d" % (ver_flags & 7))
    slots = struct.unpack_from("<%dH" % ncodes, pe.data, o + 4)
    ops, i = [], 0
    while i < ncodes:
        off, opinfo = slots[i] & 0xFF, slots[i] >> 8
        op, info = opinfo & 0xF, opinfo >> 4
        if op == 0:
            ops.append((off, "push", info, 8))
        elif op == 2:
            ops.append((off, "alloc", None, info * 8 + 8))
        elif op == 1 and info == 0:
            ops.append((off, "alloc", None, slots[i + 1] * 8))
            i += 1
        elif op == 1:
            ops.append((off, "alloc", None,
                        slots[i + 1] | slots[i + 2] << 16))
            i += 2
        elif op == 3:
            if frame >> 4:
                raise ValueError("frame register offset %d: the stubs set "
                                 "it with a plain mov" % (frame >> 4 * 16))
            ops.append((off, "setfp", frame & 0xF, 0))
        elif op == 10:
            ops.append((off, "machframe", None, 48 if info else 40))
        else:
            raise ValueError("unwind op %d not expected in a stub" % op)
        i += 1
    return prolog, (frame & 0xF) or None, list(reversed(ops))


def prologue_ops(pe, rva, size, frame_reg):
    """Decode a stub prologue: [(end offset, kind, reg, bytes)]."""
    b = pe.data[pe.off(rva):pe.off(rva) + size + 8]
    ops, i = [], 0
    while i < size:
        if 0x50 <= b[i] <= 0x57:
            i += 1
            ops.append((i, "push", b[i - 1] - 0x50, 8))
        elif b[i] == 0x41 and 0x50 <= b[i + 1] <= 0x57:
            i += 2
            ops.append((i, "push", b[i - 1] - 0x50 + 8, 8))
        elif b[i] == 0x9C:
            i += 1
            ops.append((i, "pushf", None, 8))
        elif b[i:i + 3] == b"\x48\x83\xec":
            i += 4
            ops.append((i, "alloc", None, b[i - 1]))
        elif b[i:i + 3] == b"\x48\x81\xec":
            i += 7
            ops.append((i, "alloc", None,
                        struct.unpack_from("<I", b, i - 4)[0]))
        elif (b[i] & 0xF0 == 0x40 and b[i] & 8 and b[i + 1] in (0x89, 0x8B)
              and b[i + 2] >> 6 == 3):
            # mov between 64-bit registers: RSP must not be written, and
            # "mov %rsp, <the frame register>" is what sets it.
            rex, modrm = b[i], b[i + 2]
            reg = (modrm >> 3 & 7) | (rex & 4) << 1
            rm = (modrm & 7) | (rex & 1) << 3
            src, dst = (reg, rm) if b[i + 1] == 0x89 else (rm, reg)
            if dst == 4:
                raise ValueError("prologue writes RSP at +%d" % i)
            i += 3
            if src == 4 and dst == frame_reg:
                ops.append((i, "setfp", dst, 0))
        else:
            raise ValueError("prologue byte 0x%02x at +%d not understood"
                             % (b[i], i))
    return ops


def check_unwind_of(pe, name, begin, rf):
    """The unwind codes of @rf describe the stub's prologue exactly.  Codes
    at offset 0 that no instruction performs (a machine frame, the vector a
    root IDT entry pushed) describe the stack the stub is entered with."""
    errors = []
    try:
        prolog, frame_reg, codes = unwind_ops(pe, rf[2])
        insns = prologue_ops(pe, begin, prolog, frame_reg)
    except (ValueError, IndexError, struct.error) as e:
        return ["%s: %s" % (name, e)], 0
    entry = 0
    while (entry < len(codes) and codes[entry][0] == 0 and
           codes[entry][1] in ("machframe", "alloc")):
        entry += 1
    body = codes[entry:]
    if len(body) != len(insns):
        errors.append("%s: %d unwind codes for %d stack operations in the "
                      "prologue" % (name, len(body), len(insns)))
    for c, p in zip(body, insns):
        same = c[0] == p[0] and c[3] == p[3] and (
            (c[1] == p[1] and c[1] in ("push", "setfp") and c[2] == p[2]) or
            (c[1] == "alloc" and p[1] in ("alloc", "push", "pushf")))
        if not same:
            errors.append("%s: unwind code %s does not describe the "
                          "prologue's %s at +%d" % (name, c, p, p[0]))
    return errors, sum(c[3] for c in codes)


def check_unwind(syms_path, path):
    errors = []
    syms, pe = Pe(syms_path), Pe(path)
    sym = coff_symbols(syms)
    for need in ("tv_asm_vmexit", "tv_vmexit_handler"):
        if need not in sym:
            return ["%s: no symbol %s" % (syms_path, need)]
    stub, handler = sym["tv_asm_vmexit"], sym["tv_vmexit_handler"]
    # The return address of "call tv_vmexit_handler" in the stub: what a
    # stack walk from the handler looks up.
    code = pe.data[pe.off(stub):pe.off(stub) + 256]
    ret = next((stub + i + 5 for i in range(len(code) - 5)
                if code[i] == 0xE8 and stub + i + 5 +
                struct.unpack_from("<i", code, i + 1)[0] == handler), None)
    if ret is None:
        return ["tv_asm_vmexit: no call of tv_vmexit_handler found"]
    rfs = runtime_functions(pe)
    cover = [rf for rf in rfs if rf[0] <= stub < rf[1]]
    if not cover:
        errors.append("no .pdata entry covers tv_asm_vmexit (RVA 0x%x): "
                      "stack walks from VMX root stop at the handler"
                      % stub)
    else:
        rf = cover[0]
        if rf[0] != stub or not rf[0] <= ret < rf[1]:
            errors.append("the .pdata entry [0x%x, 0x%x) does not cover "
                          "tv_asm_vmexit from 0x%x to its call's return "
                          "address 0x%x" % (rf[0], rf[1], stub, ret))
    frames = []
    for name, rva in sorted(sym.items()):
        if not name.startswith("tv_asm_"):
            continue
        rf = next((r for r in rfs if r[0] == rva), None)
        if rf is None:
            frames.append("%s none" % name)
            continue
        errs, total = check_unwind_of(pe, name, rva, rf)
        errors += errs
        frames.append("%s 0x%x bytes" % (name, total))
    if not errors:
        print("pe_check: %s: unwind data covers tv_asm_vmexit through its "
              "call of the handler; stub frames: %s" % (path, ", ".join(frames)))
    return errors


def hook_strings(data):
    return [s for s in (b"FailStep", "FailStep".encode("utf-16-le"))
            if s in data]


def check_production(prod, test):
    """The FailStep hook exists in the test build only."""
    errors = []
    with open(prod, "rb") as f:
        found = hook_strings(f.read())
    if found:
        errors.append("%s: production image contains the test hook name "
                      "FailStep (%d encodings)" % (prod, len(found)))
    with open(test, "rb") as f:
        if not hook_strings(f.read()):
            errors.append("%s: test build has no FailStep: the search "
                          "would miss it" % test)
    for e in errors:
        print("pe_check: FAIL: %s" % e, file=sys.stderr)
    if not errors:
        print("pe_check: %s: no FailStep test hook (the test build %s has "
              "it)" % (prod, test))
    return 1 if errors else 0


def sec_flags_off(pe, i):
    opt_size = struct.unpack_from("<H", pe.data, pe.pe + 4 + 16)[0]
    return pe.opt + opt_size + 40 * i + 36


def main(argv):
    if len(argv) in (4, 6) and argv[1] == "--unwind":
        xfail = argv[5] if len(argv) == 6 and argv[4] == "--xfail" else None
        try:
            errors = check_unwind(argv[2], argv[3])
        except (OSError, ValueError, struct.error, IndexError) as e:
            errors = ["unreadable PE: %s" % e]
        if xfail and errors:
            for e in errors:
                print("pe_check: %s: XFAIL (expected, %s): %s"
                      % (argv[3], xfail, e))
            return 0
        if xfail:
            print("pe_check: %s: XPASS: the unwind check passes now: drop "
                  "--xfail in windows.mk" % argv[3], file=sys.stderr)
            return 1
        for e in errors:
            print("pe_check: %s: FAIL: %s" % (argv[3], e), file=sys.stderr)
        return 1 if errors else 0
    if len(argv) == 5 and argv[1] == "--production" and \
            argv[3] == "--test-build":
        return check_production(argv[2], argv[4])
    if len(argv) == 4 and argv[1] == "--self-test":
        allow = load_allow(argv[2])
        return self_test(argv[3], allow)
    if len(argv) < 4 or argv[1] != "--allow":
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    allow = load_allow(argv[2])
    failed = 0
    for path in argv[3:]:
        try:
            errors = check(path, allow)
        except (ValueError, struct.error, IndexError) as e:
            errors = ["unreadable PE: %s" % e]
        for e in errors:
            print("pe_check: %s: FAIL: %s" % (path, e), file=sys.stderr)
        failed += bool(errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
