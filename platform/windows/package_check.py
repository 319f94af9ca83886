#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks of what ships next to thinvisor.sys, without Windows.

  package_check.py inf FILE VERSION
      the INF installs a root kernel service the primitive-driver way:
      [Version] complete (DriverVer = VERSION), only architecture-decorated
      DefaultInstall sections, every referenced section and %string%
      defined, the service a demand-start kernel driver whose binary is
      the file copied, and that file listed in SourceDisksFiles.
  package_check.py res SYS VERSION PDB
      the image has a VS_VERSIONINFO resource with the file and product
      version VERSION, a driver file type and the names thinvisor.sys;
      its CodeView debug entry names a PDB whose GUID and age are PDB's.
  package_check.py self-test INF SYS VERSION PDB
      each check above fails on a copy broken the way it guards against.
"""
import re
import struct
import sys


class Bad(Exception):
    pass


def need(cond, msg):
    if not cond:
        raise Bad(msg)


# ---- INF -------------------------------------------------------------------

def parse_inf(text):
    """{section lower: [(key or None, value, raw line)]} in file order."""
    sections = {}
    cur = None
    for raw in text.splitlines():
        line = re.sub(r';.*$', '', raw).strip()  # no ';' inside our strings
        if not line:
            continue
        m = re.fullmatch(r'\[([^\]]+)\]', line)
        if m:
            cur = m.group(1).strip().lower()
            need(cur not in sections, "section [%s] twice" % m.group(1))
            sections[cur] = []
            continue
        need(cur is not None, "line outside any section: %s" % raw)
        if '=' in line:
            k, v = line.split('=', 1)
            sections[cur].append((k.strip().lower(), v.strip(), raw))
        else:
            sections[cur].append((None, line, raw))
    return sections


def value(sections, sec, key):
    for k, v, _ in sections.get(sec, []):
        if k == key:
            return v
    return None


def check_inf(text, version):
    s = parse_inf(text)
    strings = {k: v.strip('"') for k, v, _ in s.get('strings', []) if k}
    for sec, entries in s.items():
        for k, v, raw in entries:
            for tok in re.findall(r'%([^%]*)%', v):
                need(tok.isdigit() or tok.lower() in strings,
                     "[%s] uses %%%s%% that [Strings] does not define" % (sec, tok))
    need('version' in s, "no [Version]")
    need((value(s, 'version', 'signature') or '').strip('"').lower() == '$windows nt$',
         "[Version] Signature is not \"$WINDOWS NT$\"")
    for key in ('class', 'classguid', 'provider', 'catalogfile', 'driverver'):
        need(value(s, 'version', key), "[Version] has no %s" % key)
    need(value(s, 'version', 'pnplockdown') == '1', "[Version] PnpLockdown is not 1")
    dv = value(s, 'version', 'driverver')
    m = re.fullmatch(r'(\d\d)/(\d\d)/(\d{4})\s*,\s*([\d.]+)', dv)
    need(m, "DriverVer '%s' is not mm/dd/yyyy,w.x.y.z" % dv)
    need(1 <= int(m.group(1)) <= 12 and 1 <= int(m.group(2)) <= 31,
         "DriverVer date '%s' is not a date" % dv)
    want = version + '.0' * (3 - version.count('.'))
    need(m.group(4) == want, "DriverVer version %s, VERSION says %s" % (m.group(4), want))
    # A primitive driver: only architecture-decorated DefaultInstall, no
    # DefaultUninstall, no [Manufacturer] (it installs on no device).
    for bad in ('defaultinstall', 'defaultinstall.services', 'manufacturer'):
        need(bad not in s, "[%s] makes it no primitive driver" % bad)
    need(not any(n.startswith('defaultuninstall') for n in s),
         "a primitive driver has no [DefaultUninstall]")
    inst = 'defaultinstall.ntamd64'
    need(inst in s, "no [DefaultInstall.NTamd64]")
    need(inst + '.services' in s, "no [DefaultInstall.NTamd64.Services]")
    copied = []
    for sec in (value(s, inst, 'copyfiles') or '').split(','):
        sec = sec.strip().lower()
        need(sec in s, "CopyFiles names [%s], which does not exist" % sec)
        copied += [v.lower() for k, v, _ in s[sec] if k is None]
    need(copied, "[DefaultInstall.NTamd64] copies no file")
    dirs = s.get('destinationdirs', [])
    need(any(k == 'defaultdestdir' and v == '13' for k, v, _ in dirs),
         "DefaultDestDir is not 13 (the driver store)")
    disks = {k for k, _, _ in s.get('sourcedisksnames', [])}
    files = {k: v for k, v, _ in s.get('sourcedisksfiles', [])}
    for f in copied:
        need(f in files, "%s is copied but not in [SourceDisksFiles]" % f)
        need(files[f].split(',')[0].strip() in disks,
             "%s is on a disk [SourceDisksNames] does not name" % f)
    adds = [v for k, v, _ in s[inst + '.services'] if k == 'addservice']
    need(len(adds) == 1, "want one AddService, have %d" % len(adds))
    name, _, svc = [x.strip() for x in (adds[0].split(',') + ['', ''])[:3]]
    need(name == 'thinvisor', "service '%s', docs and sc.exe say thinvisor" % name)
    svc = svc.lower()
    need(svc in s, "AddService names [%s], which does not exist" % svc)
    need(value(s, svc, 'servicetype') == '1', "ServiceType is not 1 (kernel driver)")
    need(value(s, svc, 'starttype') == '3', "StartType is not 3 (demand start)")
    need(value(s, svc, 'errorcontrol') in ('0', '1'), "ErrorControl is not 0 or 1")
    binary = (value(s, svc, 'servicebinary') or '').lower()
    need(binary.startswith('%13%\\') and binary[5:] in copied,
         "ServiceBinary '%s' is not a copied file in %%13%%" % binary)
    return "service thinvisor, DriverVer %s, copies %s" % (dv, ", ".join(copied))


# ---- PE: version resource and CodeView entry ------------------------------

class PE:
    def __init__(self, data):
        self.d = data
        need(data[:2] == b'MZ', "no MZ header")
        pe = struct.unpack_from('<I', data, 0x3c)[0]
        need(data[pe:pe + 4] == b'PE\0\0', "no PE signature")
        nsec, = struct.unpack_from('<H', data, pe + 6)
        optsz, = struct.unpack_from('<H', data, pe + 20)
        opt = pe + 24
        need(struct.unpack_from('<H', data, opt)[0] == 0x20b, "not PE32+")
        ndirs, = struct.unpack_from('<I', data, opt + 108)
        self.dirs = [struct.unpack_from('<II', data, opt + 112 + 8 * i)
                     for i in range(ndirs)]
        self.secs = []
        for i in range(nsec):
            o = opt + optsz + 40 * i
            vsize, va, rsize, raw = struct.unpack_from('<IIII', data, o + 8)
            self.secs.append((va, max(vsize, rsize), raw))

    def off(self, rva):
        for va, size, raw in self.secs:
            if va <= rva < va + size:
                return raw + rva - va
        raise Bad("RVA 0x%x is in no section" % rva)


def version_resource(pe):
    need(len(pe.dirs) > 2 and pe.dirs[2][0], "no resource directory")
    base = pe.off(pe.dirs[2][0])

    def entries(off):
        named, ids = struct.unpack_from('<HH', pe.d, off + 12)
        for i in range(named + ids):
            yield struct.unpack_from('<II', pe.d, off + 16 + 8 * i)

    for rid, sub in entries(base):
        if rid != 16:  # RT_VERSION
            continue
        off = sub
        while off & 0x80000000:  # name and language levels
            off = next(entries(base + (off & 0x7fffffff)))[1]
        rva, size = struct.unpack_from('<II', pe.d, base + off)
        return pe.d[pe.off(rva):pe.off(rva) + size]
    raise Bad("no RT_VERSION resource")


def check_version_info(blob, version):
    need(blob[6:6 + 32].decode('utf-16-le', 'replace').startswith('VS_VERSION_INFO'),
         "resource is no VS_VERSION_INFO")
    fixed = blob.find(struct.pack('<I', 0xfeef04bd))
    need(fixed > 0, "no VS_FIXEDFILEINFO")
    f = struct.unpack_from('<13I', blob, fixed)
    parts = [int(x) for x in version.split('.')] + [0] * 4
    want = ((parts[0] << 16) | parts[1], (parts[2] << 16) | parts[3])
    need((f[2], f[3]) == want, "FILEVERSION %d.%d.%d.%d, VERSION says %s" % (
        f[2] >> 16, f[2] & 0xffff, f[3] >> 16, f[3] & 0xffff, version))
    need((f[4], f[5]) == want, "PRODUCTVERSION is not VERSION")
    need(f[9] == 3 and f[10] == 7, "file type %d/%d, want VFT_DRV/VFT2_DRV_SYSTEM"
         % (f[9], f[10]))
    text = blob.decode('utf-16-le', 'replace')
    strings = {}
    for key in ('FileVersion', 'ProductVersion', 'OriginalFilename', 'ProductName',
                'FileDescription', 'CompanyName', 'LegalCopyright'):
        m = re.search(key + r'\x00+([^\x00]+)', text)
        need(m, "StringFileInfo has no %s" % key)
        strings[key] = m.group(1)
    need(strings['FileVersion'] == version and strings['ProductVersion'] == version,
         "FileVersion/ProductVersion strings %s/%s, VERSION says %s" % (
             strings['FileVersion'], strings['ProductVersion'], version))
    need(strings['OriginalFilename'] == 'thinvisor.sys', "OriginalFilename is not thinvisor.sys")
    return strings


def codeview(pe):
    need(len(pe.dirs) > 6 and pe.dirs[6][0], "no debug directory")
    off = pe.off(pe.dirs[6][0])
    for i in range(pe.dirs[6][1] // 28):
        e = struct.unpack_from('<IIHHIIII', pe.d, off + 28 * i)
        if e[4] == 2:  # IMAGE_DEBUG_TYPE_CODEVIEW
            cv = pe.d[e[7]:e[7] + e[5]]
            need(cv[:4] == b'RSDS', "CodeView entry is not RSDS")
            return cv[4:20], struct.unpack_from('<I', cv, 20)[0], \
                cv[24:].split(b'\0')[0].decode()
    raise Bad("no CodeView debug entry")


def pdb_guid_age(data):
    """GUID and age from the PDB info stream (stream 1) of an MSF 7 file."""
    need(data.startswith(b'Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0'), "not an MSF 7 PDB")
    bs, _, _, dirbytes, _, mapblk = struct.unpack_from('<6I', data, 32)
    ndir = (dirbytes + bs - 1) // bs
    dblocks = struct.unpack_from('<%dI' % ndir, data, mapblk * bs)
    d = b''.join(data[b * bs:(b + 1) * bs] for b in dblocks)
    nstreams, = struct.unpack_from('<I', d, 0)
    sizes = struct.unpack_from('<%dI' % nstreams, d, 4)
    pos = 4 + 4 * nstreams
    pos += 4 * ((sizes[0] + bs - 1) // bs if sizes[0] != 0xffffffff else 0)
    nb = (sizes[1] + bs - 1) // bs
    blocks = struct.unpack_from('<%dI' % nb, d, pos)
    info = b''.join(data[b * bs:(b + 1) * bs] for b in blocks)
    _, _, age = struct.unpack_from('<III', info, 0)
    return info[12:28], age


def check_res(sys_data, version, pdb_data, pdb_name):
    pe = PE(sys_data)
    strings = check_version_info(version_resource(pe), version)
    guid, age, name = codeview(pe)
    pguid, page = pdb_guid_age(pdb_data)
    need(name.replace('\\', '/').split('/')[-1] == pdb_name,
         "CodeView names %s, the PDB is %s" % (name, pdb_name))
    need((guid, age) == (pguid, page), "image and PDB GUID/age differ")
    return "version %s (%s), PDB %s GUID %s age %d" % (
        strings['FileVersion'], strings['FileDescription'], name, guid.hex(), age)


def main(argv):
    if len(argv) == 4 and argv[1] == 'inf':
        what = check_inf(open(argv[2], encoding='utf-8').read(), argv[3])
        print("package_check: %s: %s" % (argv[2], what))
    elif len(argv) == 5 and argv[1] == 'res':
        pdb = argv[4]
        what = check_res(open(argv[2], 'rb').read(), argv[3], open(pdb, 'rb').read(),
                         pdb.split('/')[-1])
        print("package_check: %s: %s" % (argv[2], what))
    elif len(argv) == 6 and argv[1] == 'self-test':
        self_test(*argv[2:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


def self_test(inf, sysf, version, pdb):
    text = open(inf, encoding='utf-8').read()
    data = open(sysf, 'rb').read()
    pdata = open(pdb, 'rb').read()
    name = pdb.split('/')[-1]
    check_inf(text, version)
    check_res(data, version, pdata, name)
    broken_infs = {
        'other version': (text, version + '.1'),
        'no AddService': (re.sub(r'(?m)^AddService.*$', '', text), version),
        'undecorated DefaultInstall':
            (text.replace('[DefaultInstall.NTamd64]', '[DefaultInstall]'), version),
        'service not a kernel driver':
            (re.sub(r'(?m)^ServiceType.*$', 'ServiceType = 16', text), version),
        'undefined string': (text.replace('%ServiceName%', '%NoSuch%'), version),
        'binary not copied': (text.replace('%13%\\thinvisor.sys', '%13%\\other.sys'), version),
    }
    for what, (t, v) in broken_infs.items():
        try:
            check_inf(t, v)
        except Bad:
            continue
        raise Bad("self-test: INF check passed with %s" % what)
    i = data.find(struct.pack('<I', 0xfeef04bd))
    bumped = bytearray(data)
    struct.pack_into('<I', bumped, i + 12, struct.unpack_from('<I', data, i + 12)[0] + 1)
    other_pdb = bytearray(pdata)
    g = pdb_guid_age(pdata)[0]
    j = bytes(pdata).find(g)
    other_pdb[j] ^= 0xff
    for what, (d, p) in {'FILEVERSION bumped': (bytes(bumped), pdata),
                         'other PDB GUID': (data, bytes(other_pdb))}.items():
        try:
            check_res(d, version, p, name)
        except Bad:
            continue
        raise Bad("self-test: resource check passed with %s" % what)
    print("package_check: self-test: %d broken INFs and 2 broken images caught"
          % len(broken_infs))


if __name__ == '__main__':
    try:
        sys.exit(main(sys.argv))
    except Bad as e:
        print("package_check: FAIL: %s" % e, file=sys.stderr)
        sys.exit(1)
