#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check what thinvisor.sys runs in VMX root, from its disassembly.

usage: root_check.py [--self-test] [--objdump OBJDUMP] SYMS_IMAGE IMAGE

SYMS_IMAGE is the link with symbols (build/windows/syms), IMAGE the
shipped one (the same link with -s); their sections must be byte-identical,
so what is checked is what ships.  From the VMX-root entry points (the exit
stub, the exit handler, and every tv_asm_* / tv_host_idt_* symbol except
the ones listed as entered from the host), the check follows
every direct call, tail jump, fall-through into the next symbol and
function whose address is taken, and fails on:

  * an instruction that reads or writes x87, MMX, SSE, AVX or AVX-512 state
    (the exit stub saves only the general registers: the guest's SIMD
    registers are live in VMX root);
  * an ntoskrnl import other than ROOT_IMPORTS (their memset, memcpy, strlen
    use XMM; most others take locks the interrupted guest may hold);
  * an indirect call or jump other than through the import table, which the
    check could not follow (windows.mk builds with -fno-jump-tables);
  * platform/windows/string.c's functions calling anything but each other's
    helper (gcc turning a loop back into a call to itself).

--self-test plants each of these in a copy of the parsed disassembly and
fails unless every one is reported.
"""
import bisect
import os
import re
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pe_check import Pe  # noqa: E402

# VMX root is entered only through asm: the exit stub (VMCS host RIP), the
# root IDT's vectors (tv_asm_root_*) and whatever else arch/x86 adds under
# these prefixes; C code in root is reached from them.  The stubs below
# match the prefix but are called by the host outside VMX root.
HOST_ENTERED = {"tv_asm_launch", "tv_asm_vmcall_terminate",
                "tv_asm_terminate_vmcall", "tv_asm_vmcall_root"}
# The extension API's calls into extensions (core/ext_root.c): the one
# place VMX root calls through a pointer.  An extension is linked into the
# driver with the same flags (-mgeneral-regs-only) and the same rules
# (include/thinvisor/extension.h); its code is not reached by this check.
EXT_CALL_SITES = {"tv_ext_deliver", "tv_ext_cpu_up", "tv_ext_cpu_down",
                  "tv_ext_root_call"}
ROOT_NAMES = {"tv_asm_vmexit", "tv_vmexit_handler"}
ROOT_PATTERN = re.compile(r"^(tv_asm_|tv_host_idt_)")
# KeBugCheckEx: tv_plat_panic.  KeGetCurrentProcessorNumberEx:
# tv_plat_cpu_index (core/log.c's ring index) and the panic's parameter 3;
# it reads the KPRCB through GS, which VM exit loads with the host's.
ROOT_IMPORTS = {"KeBugCheckEx", "KeGetCurrentProcessorNumberEx"}
# Reached from VMX root today and to be removed by a core change: listed
# here they warn instead of failing, and the check fails once one is no
# longer reached, so that this list only ever shrinks.
ROOT_IMPORTS_PENDING = {}
# platform/windows/string.c: may call nothing but copy_up.
STRING_FUNCS = {"memset", "memcpy", "memmove", "memcmp", "strlen"}
STRING_HELPERS = {"copy_up"}

SIMD_REG = re.compile(r"%(?:[xyz]mm\d+|mm\d|st(?:\(\d\))?|k[0-7]|mxcsr)\b")
SIMD_MNEMONICS = {"ldmxcsr", "stmxcsr", "vldmxcsr", "vstmxcsr", "emms",
                  "femms", "vzeroupper", "vzeroall", "xsave", "xsave64",
                  "xsaveopt", "xsaveopt64", "xsavec", "xsavec64", "xsaves",
                  "xsaves64", "xrstor", "xrstor64", "xrstors", "xrstors64",
                  "fxsave", "fxsave64", "fxrstor", "fxrstor64"}
PREFIXES = {"rex", "rex.w", "rex.b", "rex.wb", "rex.r", "rex.x", "lock",
            "rep", "repz", "repe", "repnz", "repne", "bnd", "notrack",
            "data16", "addr32", "cs", "ds", "es", "ss", "fs", "gs"}

PADDING = ("nop", "xchg", "int3")
ENDS = {"ret", "jmp", "ud2", "iretq", "hlt"}
FUNC_LINE = re.compile(r"^([0-9a-f]+) <(.+)>:$")
INSN_LINE = re.compile(r"^\s+([0-9a-f]+):\t(.*)$")
DIRECT = re.compile(r"^([0-9a-f]+) <([^>+]+)(?:\+0x[0-9a-f]+)?>$")
COMMENT = re.compile(r"#\s*([0-9a-f]+)")


def disassemble(objdump, path):
    """{function: [(address, mnemonic, operands, comment address)]}"""
    out = subprocess.run([objdump, "-d", "-w", "--no-show-raw-insn", path],
                         check=True, capture_output=True, text=True).stdout
    funcs, cur = {}, None
    for line in out.splitlines():
        m = FUNC_LINE.match(line)
        if m:
            cur = m.group(2)
            funcs[cur] = (int(m.group(1), 16), [])
            continue
        m = INSN_LINE.match(line)
        if not m or cur is None:
            continue
        text, _, comment = m.group(2).partition("#")
        words = text.split()
        while words and words[0].lower() in PREFIXES:
            words.pop(0)
        if not words or words[0] == "(bad)" or words[0].startswith("."):
            continue
        cm = COMMENT.search("#" + comment) if comment else None
        funcs[cur][1].append((int(m.group(1), 16), words[0],
                              " ".join(words[1:]),
                              int(cm.group(1), 16) if cm else None))
    return funcs


def import_slots(pe, base):
    """Absolute IAT slot address -> imported name."""
    slots = {}
    import struct
    rva = pe.dirs[1][0]
    o = pe.off(rva)
    while True:
        ilt, _, _, name, iat = struct.unpack_from("<IIIII", pe.data, o)
        if not (ilt or name or iat):
            break
        t, slot = pe.off(ilt or iat), iat
        while True:
            ent = struct.unpack_from("<Q", pe.data, t)[0]
            if not ent:
                break
            slots[base + slot] = pe.cstr((ent & 0x7FFFFFFF) + 2)
            t += 8
            slot += 8
        o += 20
    return slots


class Graph:
    def __init__(self, funcs, slots):
        self.funcs = funcs
        self.slots = slots
        self.starts = sorted((a, n) for n, (a, _) in funcs.items())
        self.addrs = [a for a, _ in self.starts]
        self.by_start = {a: n for a, n in self.starts}
        self.next = {n: self.starts[i + 1][1]
                     for i, (_, n) in enumerate(self.starts[:-1])}

    def func_at(self, addr):
        i = bisect.bisect_right(self.addrs, addr) - 1
        return self.starts[i][1] if i >= 0 else None

    def scan(self, name):
        """Edges, imports and problems of one function."""
        edges, imports, problems = set(), set(), []
        insns = self.funcs[name][1]
        # Code that runs on into the next symbol (an asm label in the
        # middle of a stub) reaches it too.  Padding does not count, and a
        # call at the end is a call of a function that does not return.
        real = [i for i in insns if not i[1].startswith(PADDING)]
        if (real and real[-1][1] not in ENDS and
                not real[-1][1].startswith("call") and name in self.next and
                not self.next[name].startswith("__")):
            edges.add(self.next[name])
        for addr, mn, ops, ref in insns:
            where = "%s+0x%x" % (name, addr - self.funcs[name][0])
            if (mn.startswith("f") or mn in SIMD_MNEMONICS
                    or SIMD_REG.search(ops)):
                problems.append("%s: SIMD/x87 instruction '%s %s'"
                                % (where, mn, ops))
            branch = mn.startswith("call") or mn.startswith("j")
            if ref is not None and ref in self.slots:
                imports.add(self.slots[ref])
            elif ref is not None and ref in self.by_start:
                edges.add(self.by_start[ref])   # address taken
            if not branch:
                continue
            if ops.startswith("*"):
                if name in EXT_CALL_SITES and mn.startswith("call"):
                    continue
                if not (ref in self.slots and ops.endswith("(%rip)")):
                    problems.append("%s: indirect '%s %s' cannot be followed"
                                    % (where, mn, ops))
                continue
            m = DIRECT.match(ops)
            if m:
                target = self.func_at(int(m.group(1), 16))
                if target and (mn.startswith("call") or target != name):
                    edges.add(target)
        return edges, imports, problems

    def reachable(self, roots):
        """{function: caller chain}, imports {name: chain}, problems."""
        seen = {r: [r] for r in roots}
        todo = list(roots)
        imports, problems = {}, []
        while todo:
            f = todo.pop()
            edges, imps, probs = self.scan(f)
            chain = " <- ".join(reversed(seen[f]))
            problems += ["%s (reached: %s)" % (p, chain) for p in probs]
            for i in imps:
                imports.setdefault(i, chain)
            for e in sorted(edges):
                if e not in seen:
                    seen[e] = seen[f] + [e]
                    todo.append(e)
        return seen, imports, problems


WARNINGS = set()


def roots_of(funcs):
    roots = sorted(n for n in funcs if n in ROOT_NAMES or
                   (ROOT_PATTERN.match(n) and n not in HOST_ENTERED))
    missing = ROOT_NAMES - set(funcs)
    return roots, missing


# struct tv_ext (include/thinvisor/extension.h) in the LLP64 image: the
# offsets of the callbacks that run in VMX root (cpu_up, cpu_down, event).
TV_EXT_ROOT_CALLBACKS = {"cpu_up": 56, "cpu_down": 64, "event": 72}


def ext_roots(pe, base, graph):
    """The VMX-root callbacks of the built-in extensions: each pointer in
    the .tvext table (TV_EXT_BUILTIN) is a struct tv_ext, whose cpu_up,
    cpu_down and event run in VMX root, reached from the core through
    EXT_CALL_SITES' indirect calls."""
    def read(va, n):
        rva = va - base
        s = pe.section_of(rva)
        if not s or rva + n > s[1] + s[4]:
            return None
        off = s[3] + rva - s[1]
        return pe.data[off:off + n]

    roots, errors = set(), []
    table = [s for s in pe.sections if s[0] == ".tvext"]
    if not table:
        return roots, ["no .tvext section (platform/windows/tvext.ld)"]
    _, va, _, _, rsize, _ = table[0]
    # The file's copy, zero-padded to the file alignment: zeros are skipped
    # like the driver's empty entries.
    raw = read(base + va, rsize) or b""
    for i in range(0, len(raw) - 7, 8):
        ext = struct.unpack_from("<Q", raw, i)[0]
        if not ext:
            continue
        body = read(ext, 80)
        if body is None:
            errors.append(".tvext entry %d points outside the image" % (i // 8))
            continue
        for field, off in sorted(TV_EXT_ROOT_CALLBACKS.items()):
            fn = struct.unpack_from("<Q", body, off)[0]
            if not fn:
                continue
            name = graph.by_start.get(fn)
            if name is None:
                errors.append(".tvext entry %d: %s 0x%x is not a function"
                              % (i // 8, field, fn))
            else:
                roots.add(name)
    return roots, errors


def analyse(graph, extra_roots=()):
    errors = []
    roots, missing = roots_of(graph.funcs)
    roots = sorted(set(roots) | set(extra_roots))
    errors += ["VMX-root entry point %s not found" % m for m in sorted(missing)]
    seen, imports, problems = graph.reachable(roots)
    errors += problems
    for imp, chain in sorted(imports.items()):
        if imp in ROOT_IMPORTS_PENDING:
            WARNINGS.add("VMX root still calls %s (reached: %s): %s"
                         % (imp, chain, ROOT_IMPORTS_PENDING[imp]))
        elif imp not in ROOT_IMPORTS:
            errors.append("VMX root imports ntoskrnl's %s (reached: %s)"
                          % (imp, chain))
    for imp in sorted(set(ROOT_IMPORTS_PENDING) - set(imports)):
        errors.append("%s is no longer reached from VMX root: remove it from "
                      "ROOT_IMPORTS_PENDING in root_check.py" % imp)
    for f in sorted(STRING_FUNCS):
        if f not in graph.funcs:
            errors.append("%s is not defined in the image "
                          "(platform/windows/string.c)" % f)
            continue
        edges, imps, _ = graph.scan(f)
        if imps:
            errors.append("%s is (or calls) ntoskrnl's %s"
                          % (f, ", ".join(sorted(imps))))
        if edges - STRING_HELPERS:
            errors.append("%s calls %s"
                          % (f, ", ".join(sorted(edges - STRING_HELPERS))))
    return errors, roots, seen, imports


def same_sections(a, b):
    if [s[:3] for s in a.sections] != [s[:3] for s in b.sections]:
        return ["section tables differ"]
    errs = []
    for sa, sb in zip(a.sections, b.sections):
        if a.data[sa[3]:sa[3] + sa[4]] != b.data[sb[3]:sb[3] + sb[4]]:
            errs.append("section %s differs between the two links" % sa[0])
    return errs


def self_test(graph):
    """Plant each fault in a copy of the handler's code; all must be found."""
    h = "tv_vmexit_handler"
    a0 = graph.funcs[h][0]
    allowed = ROOT_IMPORTS | set(ROOT_IMPORTS_PENDING)
    slot = next(s for s, n in graph.slots.items() if n not in allowed)
    leaf = next(n for n in sorted(graph.funcs)
                if n not in graph.reachable(roots_of(graph.funcs)[0])[0]
                and graph.scan(n)[1] - allowed)
    plants = [
        ("SSE", ("movaps", "%xmm0,(%rsp)", None), "SIMD/x87"),
        ("AVX", ("vpxor", "%ymm1,%ymm1,%ymm1", None), "SIMD/x87"),
        ("x87", ("fldl", "(%rax)", None), "SIMD/x87"),
        ("MMX", ("movq", "%mm0,%rax", None), "SIMD/x87"),
        ("import call", ("call", "*0x0(%%rip)", slot), "imports ntoskrnl"),
        ("indirect call", ("call", "*%rax", None), "cannot be followed"),
        ("call into host-only code",
         ("call", "%x <%s>" % (graph.funcs[leaf][0], leaf), None),
         "imports ntoskrnl"),
    ]
    failed = 0
    for what, (mn, ops, ref), expect in plants:
        funcs = dict(graph.funcs)
        funcs[h] = (a0, [(a0, mn, ops.replace("%%", "%"), ref)]
                    + list(graph.funcs[h][1]))
        errs = analyse(Graph(funcs, graph.slots))[0]
        ok = any(expect in e for e in errs)
        print("root_check: self-test: %s in %s %s" %
              (what, h, "detected" if ok else "NOT DETECTED"))
        failed += not ok
    # A root stub running on into the next symbol, here host-only code.
    funcs = dict(graph.funcs)
    funcs[h] = (a0, [(a0, "mov", "%rax,%rbx", None)])
    funcs[leaf] = (a0 + 1, graph.funcs[leaf][1])
    ok = any("imports ntoskrnl" in e
             for e in analyse(Graph(funcs, graph.slots))[0])
    print("root_check: self-test: %s falling through into %s %s"
          % (h, leaf, "detected" if ok else "NOT DETECTED"))
    failed += not ok
    funcs = dict(graph.funcs)
    a = funcs["memset"][0]
    funcs["memset"] = (a, [(a, "call", "%x <memset>" % a, None)]
                       + list(funcs["memset"][1]))
    ok = any("memset calls memset" in e
             for e in analyse(Graph(funcs, graph.slots))[0])
    print("root_check: self-test: memset calling itself %s"
          % ("detected" if ok else "NOT DETECTED"))
    failed += not ok
    return 1 if failed else 0


def main(argv):
    args = argv[1:]
    objdump, test = "x86_64-w64-mingw32-objdump", False
    if args and args[0] == "--self-test":
        test = True
        args = args[1:]
    if len(args) >= 2 and args[0] == "--objdump":
        objdump = args[1]
        args = args[2:]
    if len(args) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    syms, shipped = Pe(args[0]), Pe(args[1])
    base = struct.unpack_from("<Q", syms.data, syms.opt + 24)[0]
    graph = Graph(disassemble(objdump, args[0]), import_slots(syms, base))
    if test:
        return self_test(graph)
    errors = same_sections(syms, shipped)
    ext, more = ext_roots(syms, base, graph)
    errors += more
    more, roots, seen, imports = analyse(graph, ext)
    errors += more
    for w in sorted(WARNINGS):
        print("root_check: %s: WARNING: %s" % (args[1], w))
    for e in errors:
        print("root_check: %s: FAIL: %s" % (args[1], e), file=sys.stderr)
    print("root_check: %s: %d VMX-root entry points (%s), %d functions "
          "reachable, imports used there: %s; %s"
          % (args[1], len(roots), " ".join(roots), len(seen),
             " ".join(sorted(imports)) or "none",
             "%d problems" % len(errors) if errors else "no SIMD, no "
             "other import, no unfollowed branch"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
