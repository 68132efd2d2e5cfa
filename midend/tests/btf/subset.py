#!/usr/bin/env python3
"""Cut a kernel's raw BTF down to the types named in a list (subset.txt).

Usage: subset.py FULL.btf NAMES.txt OUT.btf

Named roots are kept whole, with every type they contain by value. A named
struct or union reached only through a pointer is kept as a stub: its name
and size, no members (how the checker sees a pointee until a program looks
into it). Types keep their order, so the output depends on the input only.

NAMES.txt lines (`#` starts a comment):
  struct NAME        struct or union NAME, whole
  func NAME          function NAME and its prototype
  func-prefix P      every function whose name starts with P
  typedef-prefix P   every typedef whose name starts with P
  enum NAME          enum NAME (32 or 64 bit)
  kfuncs             every function tagged `bpf_kfunc`, with its tag
"""
import struct
import sys

INT, PTR, ARRAY, STRUCT, UNION, ENUM, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT = range(1, 12)
FUNC, FUNC_PROTO, VAR, DATASEC, FLOAT, DECL_TAG, TYPE_TAG, ENUM64 = range(12, 20)
MODIFIERS = (TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG)


def extra_len(kind, vlen):
    return {INT: 4, ARRAY: 12, STRUCT: 12 * vlen, UNION: 12 * vlen, ENUM: 8 * vlen,
            FUNC_PROTO: 8 * vlen, VAR: 4, DATASEC: 12 * vlen, DECL_TAG: 4,
            ENUM64: 12 * vlen}.get(kind, 0)


def read(path):
    data = open(path, "rb").read()
    magic, version, _flags, hdr_len = struct.unpack_from("<HBBI", data, 0)
    assert magic == 0xEB9F and version == 1, "not raw little-endian BTF"
    type_off, type_len, str_off, str_len = struct.unpack_from("<IIII", data, 8)
    tsec = data[hdr_len + type_off:hdr_len + type_off + type_len]
    strs = data[hdr_len + str_off:hdr_len + str_off + str_len]
    types = [None]  # id 0 is void
    off = 0
    while off < len(tsec):
        name_off, info, size_type = struct.unpack_from("<III", tsec, off)
        kind, vlen = (info >> 24) & 0x1F, info & 0xFFFF
        n = extra_len(kind, vlen)
        types.append((name_off, info, size_type, tsec[off + 12:off + 12 + n]))
        off += 12 + n
    return types, strs


def name_of(strs, off):
    return strs[off:strs.index(b"\0", off)].decode()


def main(full, names_path, out):
    types, strs = read(full)
    kind = lambda t: (t[1] >> 24) & 0x1F
    vlen = lambda t: t[1] & 0xFFFF
    name = lambda t: name_of(strs, t[0])
    want = {"struct": set(), "func": set(), "func-prefix": [], "typedef-prefix": [], "enum": set()}
    kfuncs = False
    for line in open(names_path):
        line = line.split("#")[0].split()
        if not line:
            continue
        if line == ["kfuncs"]:
            kfuncs = True
        elif line[0] in ("func-prefix", "typedef-prefix"):
            want[line[0]].append(line[1])
        else:
            want[line[0]].add(line[1])

    def refs(t):
        """(type id, reached through a pointer) for each reference of t."""
        k, extra = kind(t), t[3]
        if k == PTR:
            return [(t[2], True)]
        if k in (FUNC, VAR, DECL_TAG) or k in MODIFIERS:
            return [(t[2], False)]
        if k == ARRAY:
            elem, index, _ = struct.unpack_from("<III", extra)
            return [(elem, False), (index, False)]
        if k in (STRUCT, UNION):
            return [(struct.unpack_from("<I", extra, 12 * i + 4)[0], False) for i in range(vlen(t))]
        if k == FUNC_PROTO:
            return [(t[2], False)] + [(struct.unpack_from("<I", extra, 8 * i + 4)[0], False)
                                      for i in range(vlen(t))]
        return []

    whole, stub, seen = set(), set(), set()
    roots = set()
    stack = []
    for i, t in enumerate(types[1:], 1):
        k, n = kind(t), name(t)
        if ((k in (STRUCT, UNION) and n in want["struct"])
                or (k == FUNC and (n in want["func"] or any(n.startswith(p) for p in want["func-prefix"])))
                or (k == TYPEDEF and any(n.startswith(p) for p in want["typedef-prefix"]))
                or (k in (ENUM, ENUM64) and n in want["enum"])
                or (kfuncs and k == DECL_TAG and n == "bpf_kfunc"
                    and struct.unpack_from("<i", t[3])[0] == -1)):
            stack.append((i, False))
            if k in (STRUCT, UNION):
                roots.add(i)
    while stack:
        i, via_ptr = stack.pop()
        if i == 0 or (i, via_ptr) in seen:
            continue
        seen.add((i, via_ptr))
        t = types[i]
        if via_ptr and kind(t) in (STRUCT, UNION) and t[0] and i not in roots:
            stub.add(i)
            continue
        whole.add(i)
        for r, p in refs(t):
            # Modifiers pass the pointer context on to what they modify.
            stack.append((r, p or (via_ptr and kind(t) in MODIFIERS)))

    kept = sorted(whole | stub)
    new_id = {0: 0}
    new_id.update({old: new for new, old in enumerate(kept, 1)})
    out_strs = bytearray(b"\0")
    str_at = {"": 0}

    def s(off):
        n = name_of(strs, off)
        if n not in str_at:
            str_at[n] = len(out_strs)
            out_strs.extend(n.encode() + b"\0")
        return str_at[n]

    tsec = bytearray()
    for i in kept:
        name_off, info, size_type, extra = types[i]
        k = kind(types[i])
        if i not in whole:  # a stub: name and size only
            tsec += struct.pack("<III", s(name_off), info & ~0xFFFF, size_type)
            continue
        if k in (PTR, FUNC, VAR, DECL_TAG, FUNC_PROTO) or k in MODIFIERS:
            size_type = new_id[size_type]
        extra = bytearray(extra)
        if k == ARRAY:
            elem, index, nelems = struct.unpack_from("<III", extra)
            extra = struct.pack("<III", new_id[elem], new_id[index], nelems)
        elif k in (STRUCT, UNION):
            for m in range(vlen(types[i])):
                mn, mt, mo = struct.unpack_from("<III", extra, 12 * m)
                struct.pack_into("<III", extra, 12 * m, s(mn), new_id[mt], mo)
        elif k == FUNC_PROTO:
            for m in range(vlen(types[i])):
                pn, pt = struct.unpack_from("<II", extra, 8 * m)
                struct.pack_into("<II", extra, 8 * m, s(pn), new_id[pt])
        elif k == ENUM:
            for m in range(vlen(types[i])):
                struct.pack_into("<I", extra, 8 * m, s(struct.unpack_from("<I", extra, 8 * m)[0]))
        elif k == ENUM64:
            for m in range(vlen(types[i])):
                struct.pack_into("<I", extra, 12 * m, s(struct.unpack_from("<I", extra, 12 * m)[0]))
        tsec += struct.pack("<III", s(name_off), info, size_type) + extra
    hdr = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(tsec), len(tsec), len(out_strs))
    open(out, "wb").write(hdr + tsec + out_strs)
    print(f"{out}: {len(kept)} types ({len(stub)} stubs) of {len(types) - 1}, "
          f"{24 + len(tsec) + len(out_strs)} bytes")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
