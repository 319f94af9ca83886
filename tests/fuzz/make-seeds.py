#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpora tests/fuzz/corpus/<harness>/ (committed; rerun
after changing an input format).  Each seed is a realistic case in the
harness's input layout: a PC's MTRRs, CPUs' capability MSRs, the CPUID and
CR values Linux uses, so that the fuzzer starts from what machines do."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
UC, WC, WT, WP, WB = 0, 1, 2, 3, 4      # indexes into ref_mtrr's type list


def u8(v): return struct.pack('<B', v & 0xff)
def u16(v): return struct.pack('<H', v & 0xffff)
def u32(v): return struct.pack('<I', v & 0xffffffff)
def u64(v): return struct.pack('<Q', v & 0xffffffffffffffff)


def write(harness, name, data):
    d = os.path.join(HERE, 'corpus', harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def machine(phys, default, fixed, ranges, mode=0, vcnt=None):
    """ref_machine's layout.  fixed: 11 type indexes or None for no
    fixed-range data; ranges: (base, size_log2, type index, flags)."""
    out = u8(mode) + u8(phys - 32)
    out += u8(len(ranges) if vcnt is None else vcnt) + u8(0)
    out += u8(default)
    for t in (fixed or [UC] * 11):
        out += u8(t)
    for base, h, t, fl in ranges:
        out += u8(fl) + u8(h - 12) + u64(0) + u64(base) + u8(t)
    return out


# A desktop as firmware leaves it, MAXPHYADDR 39: WB below 8 GiB in two
# adjacent ranges, a UC hole for PCI at 3-4 GiB with a WC frame buffer
# inside it; VGA UC, option and BIOS ROMs WP below 1 MiB.
DESKTOP_FIXED = [WB, WB, UC, WP, UC, UC, UC, WP, WP, WP, WP]
DESKTOP = machine(39, UC, DESKTOP_FIXED, [
    (0x0, 32, WB, 0), (0x100000000, 32, WB, 0),
    (0xc0000000, 30, UC, 0), (0xd0000000, 28, WC, 0)])
# A server, MAXPHYADDR 46, WB by default, UC holes below 4 GiB and at the
# top, and one non-contiguous mask (firmware bugs make them).
SERVER = machine(46, WB, DESKTOP_FIXED, [
    (0x80000000, 31, UC, 0), (0x3f0000000000, 40, UC, 0),
    (0x7c000000, 26, UC, 8)])
# MTRRs off (everything UC), and no fixed ranges with a WT/WB overlap.
OFF = machine(36, WB, None, [(0, 32, WB, 0)], mode=0x10)
NOFIX = machine(36, UC, None, [(0, 31, WB, 0), (0, 30, WT, 0)], mode=0x20)


def queries(*qs):
    return b''.join(u8(s) + u64(a) + u64(b) for s, a, b in qs)


MTRR_QUERIES = queries((1, 0, 30), (1, 0xc0000000, 30), (1, 0, 33),
                       (0, 0, 0x100000000), (3, 0x9f000, 0x2000),
                       (4, 0xfee00000, 0), (5, 0, 31), (6, 0xa0000, 0x3))

for name, m in (('desktop', DESKTOP), ('server', SERVER), ('off', OFF),
                ('nofix', NOFIX)):
    write('mtrr', name, m + MTRR_QUERIES)
    # ept: mode (bit 0: 1 GiB pages), allocation-failure point, machine,
    # then addresses to walk.
    walk = u64(0xfee00000) + u64(0xc0000000) + u64(0x9f000)
    write('ept', name + '-1g', u8(1) + u8(0) + m + walk)
    write('ept', name + '-2m', u8(0) + u8(0) + m + walk)
write('ept', 'desktop-allocfail', u8(3) + u8(5) + DESKTOP)
write('ept', 'server-wide', u8(0x3d) + u8(0) + SERVER + u64(0x3f0000001000))

# CR-access qualifications: MOV CR3 <- RAX, MOV RSP <- CR3, CLTS, LMSW
# from memory, MOV CR4 <- R12, MOV CR8 <- RCX.
for i, q in enumerate((0x3, 0x413, 0x20, 0x000f0070, 0xc04, 0x108)):
    write('cr_access', 'q%d' % i, u64(q) + u8(i) + u8(i) + u8(i) + u16(0xf) + u8(1))

# VMCS encodings: guest RIP, EPT pointer high, exit reason, a reserved one.
for e in (0x681e, 0x201b, 0x4402, 0x1000):
    write('vmcs_field', '%04x' % e, u32(e))

# MSR bitmap operations: EFER both ways, a VMX MSR read, 0x1fff, uncore.
write('msr_bitmap', 'mixed', u32(0xc0000080) + u8(3) + u32(0x480) + u8(1) +
      u32(0x1fff) + u8(2 | 4) + u32(0x200e) + u8(3) + u32(5) + u8(3 | 12))

# CPUID: leaf 1, 7.0 with PKE, the hypervisor leaves, an AMD-range leaf.
for name, sel, mode, sub, cr4 in (('leaf1', 1, 1, 0, 0x40000),
                                  ('leaf7', 0, 1, 0, 0x400000),
                                  ('hv', 0x80, 2, 0, 0), ('hv1', 0x81, 2, 0, 0),
                                  ('ext', 0x80000008, 0, 0, 0)):
    write('cpuid', name, u32(sel) + u8(mode) + u32(sub) + u64(cr4) +
          u32(0x906ea) + u32(0x100800) + u32(0x7ffafbff) + u32(0xbfebfbff))

# XSETBV: Linux's XCR0 on an AVX-512 machine, AVX without SSE, XCR1.
for name, mode, xcr, v in (('avx512', 0x4 | (4 << 3), 0, 0x2e7),
                           ('avx-nosse', 0x4 | (1 << 3), 0, 0x5),
                           ('xcr1', 0x1 | 0x2, 1, 0x3)):
    write('xsetbv', name, u8(mode) + u32(xcr) + u64(v) + u64(0))

# CR writes under a Skylake's fixed MSRs with unrestricted guest: Linux's
# CR0, CR4; CR0 with PG but not PE; CR4.VMXE; a long-mode PG clear.
CRW = u8(1 | 4) + bytes(16)
CRW += u8(0) + u64(0x80050033)
CRW += u8(1) + u64(0x3506f0)
CRW += u8(0) + u64(0x80000000)
CRW += u8(1) + u64(0x2000)
CRW += u8(0x10 | 8 | 4) + u64(0x00050033) + u64(0xd01) + u64(0x80050033) + u64(0x20)
write('cr_write', 'skylake', CRW)

# Capability MSRs of a Skylake (TRUE controls) and the same without
# unrestricted guest; features RDTSCP, INVPCID, XSAVES, MAXPHYADDR 39/46/52.
SKL = (u64(0xda040000000004) + u64(0x7f00000016) + u64(0xfff9fffe04006172) +
       u64(0x5ffcbf00000000) + u64(0x1ffffff00036dfb) + u64(0x3ffff000011fb)
       + u64(0xf0106734141) + u64(0x7004c1e7) + u32(0x80000021) +
       u32(0xffffffff) + u32(0x2000) + u32(0x3767ff))
for name, mode, phys in (('skylake', 1, 39 - 36), ('skylake-46', 1, 46 - 36),
                         ('phys52', 1, 0x80 | 52), ('raw', 0, 3)):
    write('controls', name, u8(mode) + SKL + u8(1) + u8(1) + u8(1) + u8(0) +
          u8(phys) + u32(0x4006172))

# Events: #GP in protected mode, #PF in real mode, GETSEC leaves, MCE;
# root events (pending: bits 1:0 NMIs, 3:2 #MCs): an NMI under STI
# blocking, one for a halted CPU, one for a CPU waiting for SIPI.
def event(sel, vec, cr0, leaf, cr4, caps, reason, ev=0, info=0, intr=0,
          act=0, rip=0xffffffffc0001234):
    return (u8(sel) + u32(vec) + u64(cr0) + u32(leaf) + u8(0) + u64(cr4) +
            u32(caps) + u32(reason) + u8(ev) + u32(info) + u32(intr) +
            u32(act) + u64(rip) + u64(0x10) + u64(0x2b))
write('events', 'mix', event(0, 13, 0x80050033, 0, 0x4000, 0x7d, 41, 1, 0, 1) +
      event(1, 14, 0x60000010, 6, 0x4000, 0x7d, 33, 1, 0, 0, 1) +
      event(1, 21, 1, 5, 0x4000, 0x1, 0x80000021, 2, 0, 0, 3))
# A machine check pending for a CPU waiting for SIPI: nothing may be
# injected (SDM 26.3.1.5); core/root.h injects it (the known bug
# fuzz_events.c exempts until it is fixed).
write('events', 'mce-wait-for-sipi', event(0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 3))

# fuzz_decode: info, qualification, 16 registers, segment (base, limit,
# rights), mode, segment index, offset, size, write.  SGDT [rax+rbx*4+8]
# in a 64-bit kernel; LTR r9; OUTS to port 0x3f8 through a 32-bit flat
# DS; a real-mode stack access at SS:0xfffe.
def decode(info, q, regs, seg, mode, segi, off, size, wr):
    out = u32(info) + u64(q)
    for r in (regs + [0] * 16)[:16]:
        out += u64(r)
    base, limit, ar = seg
    return (out + u64(base) + u32(limit) + u32(ar) + u8(mode) + u8(segi) +
            u64(off) + u8(size) + u8(wr))


write('decode', 'sgdt-64', decode(0xd8102, 8, [0xffff888000001000, 0, 0, 0x30],
                                  (0, 0xffffffff, 0xc093), 5, 3, 0x10d8, 10, 1))
write('decode', 'ltr-reg', decode(0x30000000 | 1 << 10 | 9 << 3, 0, [0] * 9 + [0x40],
                                  (0x7f0000000000, 0xffffffff, 0xc093), 5, 4,
                                  0xfffffffff8, 16, 0))
write('decode', 'outs-32', decode(1 << 7 | 3 << 15, 0x03f80011, [0] * 6 + [0x8000],
                                  (0, 0xffffffff, 0xc093), 4, 3, 0x8000, 1, 0))
write('decode', 'real-stack', decode(0, 0x12, [], (0x20000, 0xffff, 0x93), 0, 2,
                                     0xfffe, 4, 1))

# fuzz_guest_walk: mode selectors (bit 0 PG, 1 WP, 2 PAE, 3 LMA, 4 NXE,
# 5 no 1G pages, 6 PDPTEs given; CR4: 0 PSE, 1 SMEP, 2 SMAP, 3 PKE,
# 4 LA57), MAXPHYADDR - 32, PKRU, CR3, LA, access, [4 PDPTEs], 64
# entries.  A Linux kernel's 4-level walk to a 4 KiB page, a 2 MiB one
# with protection keys, PAE with its PDPTEs, 32-bit paging with PSE.
def walk_seed(sel, cr4, m, pkru, cr3, la, acc, entries, pdptes=None):
    out = u8(sel) + u8(cr4) + u8(m - 32) + u32(pkru) + u64(cr3) + u64(la) + u8(acc)
    if pdptes is not None:
        out += b''.join(u64(x) for x in pdptes)
    return out + b''.join(u64(e) for e in (entries * 64)[:64])


write('guest_walk', 'linux-4k', walk_seed(31, 6, 46, 0x55555554, 0x1000,
                                          0xffffffff81000000, 0, [0x2063]))
write('guest_walk', 'user-2m-pkey', walk_seed(31, 8, 39, 0x00000008, 0x1000,
                                              0x7f0000200000, 7,
                                              [0x2067, 0x2067, 0x10000000002000e7 | 1 << 60]))
write('guest_walk', 'pae', walk_seed(64 | 21, 0, 36, 0, 0x5020, 0xc0001000, 1,
                                     [0x3063], [0x4001] * 4))
write('guest_walk', '32bit-pse', walk_seed(3, 1, 36, 0, 0x9000, 0x80403555, 0,
                                           [0x004000e3, 0x6027]))
