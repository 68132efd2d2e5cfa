"""The maps of a KernelScript program, for the Python script it runs with
`exec` (docs/language.md, "`exec` into Python"). Written by ksc beside the
executable; do not edit.

The loader hands the script its maps' file descriptors in the environment
(KSC_MAPS=name=fd,...). Each map is an object of this module named like
the map:

    m[k]            the value (KeyError when there is none)
    m[k] = v        create or replace the entry
    del m[k]        remove it (KeyError when there is none)
    k in m, m.get(k, default), len(m)
    m.keys(), m.values(), m.items(), for k in m

Integers (and enums, bools) are ints, `str(N)` is bytes, arrays are
lists, structs are objects of the classes below (fields by name; made
from keywords, a dict or a tuple; `_asdict()` gives a dict). A per-CPU
map's value is a list, one value per possible CPU; `m.sum(k)` adds
integer values up; writing a list sets each CPU's value, writing one
value puts it on CPU 0 and zero on the others (as the loader does). Pure Python: ctypes and the bpf() system call.
"""

import ctypes as _c
import os as _os

_libc = _c.CDLL(None, use_errno=True)
_libc.syscall.restype = _c.c_long
# The bpf() system call's number, per architecture.
_SYS_BPF = {"x86_64": 321, "aarch64": 280, "riscv64": 280, "s390x": 351,
            "ppc64le": 361, "armv7l": 386}.get(_os.uname().machine, 321)
_LOOKUP, _UPDATE, _DELETE, _NEXT_KEY, _OBJ_GET = 1, 2, 3, 4, 7


class _ElemAttr(_c.Structure):
    _fields_ = [("map_fd", _c.c_uint32), ("pad", _c.c_uint32),
                ("key", _c.c_uint64), ("value", _c.c_uint64),
                ("flags", _c.c_uint64)]


class _ObjAttr(_c.Structure):
    _fields_ = [("pathname", _c.c_uint64), ("bpf_fd", _c.c_uint32),
                ("file_flags", _c.c_uint32)]


def _bpf(cmd, attr):
    r = _libc.syscall(_c.c_long(_SYS_BPF), _c.c_int(cmd), _c.byref(attr),
                      _c.c_uint(_c.sizeof(attr)))
    return -_c.get_errno() if r < 0 else r


def _addr(buf):
    return 0 if buf is None else _c.addressof(buf)


def _ncpus():
    # Per-CPU values come one per possible CPU ("0-3", "0,2-5").
    with open("/sys/devices/system/cpu/possible") as f:
        text = f.read().strip()
    return max(int(p.split("-")[-1]) for p in text.split(",")) + 1


def _fds():
    out = {}
    for item in _os.environ.get("KSC_MAPS", "").split(","):
        name, _, fd = item.rpartition("=")
        if name and fd.isdigit():
            out[name] = int(fd)
    return out


class _Struct(_c.Structure):
    """A struct of the program: its fields by name."""

    def __init__(self, *args, **kw):
        if len(args) == 1 and not kw and isinstance(args[0], dict):
            args, kw = (), args[0]
        super().__init__()
        for (name, _), v in zip(self._public_, args):
            setattr(self, name, _to_c(dict(self._fields_)[name], v))
        for name, v in kw.items():
            t = dict(self._fields_).get(name)
            if t is None or name not in self._names_:
                raise TypeError("%s has no field %r" % (type(self).__name__, name))
            setattr(self, name, _to_c(t, v))

    @property
    def _names_(self):
        return [n for n, _ in self._public_]

    def _asdict(self):
        return {n: _plain(t, getattr(self, n)) for n, t in self._public_}

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, ", ".join(
            "%s=%r" % (n, v) for n, v in self._asdict().items()))

    def __eq__(self, other):
        return type(self) is type(other) and bytes(self) == bytes(other)

    def __hash__(self):
        return hash(bytes(self))


def _layout(cls, size, offsets):
    # The IR's layout, checked against ctypes' (a mismatch is a ksc bug).
    cls._public_ = [(n, t) for n, t in cls._fields_ if not n.startswith("_ksc_pad")]
    got = [(n, getattr(cls, n).offset) for n, _ in cls._public_]
    if _c.sizeof(cls) != size or got != offsets:
        raise ImportError("%s: layout %d %r, expected %d %r" % (
            cls.__name__, _c.sizeof(cls), got, size, offsets))


def _is_int(t):
    return issubclass(t, _c._SimpleCData) and t._type_ in "bBhHiIlLqQ"


def _to_c(t, v):
    """A Python value as what a ctypes field or buffer of type t takes."""
    if isinstance(v, t):
        return v
    if issubclass(t, _Struct):
        if isinstance(v, dict):
            return t(**v)
        if isinstance(v, (tuple, list)):
            return t(*v)
        raise TypeError("expected %s, a dict or a tuple, got %r" % (t.__name__, v))
    if issubclass(t, _c.Array):
        if t._type_ is _c.c_char:
            b = v.encode() if isinstance(v, str) else bytes(v)
            if len(b) >= t._length_:
                raise ValueError("%r does not fit in str(%d)" % (v, t._length_))
            return b
        v = list(v)
        if len(v) > t._length_:
            raise ValueError("%d elements do not fit in %d" % (len(v), t._length_))
        return t(*[_to_c(t._type_, x) for x in v])
    if _is_int(t):
        if isinstance(v, bool) or not isinstance(v, int):
            v = int(v)
        bits = 8 * _c.sizeof(t)
        signed = t._type_ in "bhilq"
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        if not lo <= v <= hi:
            raise OverflowError("%d does not fit in %s%d" % (v, "i" if signed else "u", bits))
        return v
    return v


def _pack(t, v):
    v = _to_c(t, v)
    if isinstance(v, t):
        return bytes(v)
    if isinstance(v, bytes) and issubclass(t, _c.Array):
        return v.ljust(_c.sizeof(t), b"\0")
    return bytes(t(v))


def _plain(t, v):
    """A ctypes value (a field's, or an element's) as plain Python."""
    if issubclass(t, _Struct):
        return v
    if issubclass(t, _c.Array):
        if t._type_ is _c.c_char:
            return v if isinstance(v, bytes) else v.value
        return [_plain(t._type_, x) for x in v]
    return v.value if isinstance(v, _c._SimpleCData) else v


def _unpack(t, b):
    v = t.from_buffer_copy(b)
    if issubclass(t, _Struct):
        return v
    if issubclass(t, _c.Array) and t._type_ is _c.c_char:
        return v.value
    return _plain(t, v)


class _Map:
    """One map of the program (see the module's documentation)."""

    def __init__(self, name, kind, key, value, max_entries, percpu, pin):
        self.name, self.kind, self.key_type, self.value_type = name, kind, key, value
        self.max_entries, self.percpu, self._pin, self._fd = max_entries, percpu, pin, None
        self._vsize = _c.sizeof(value)
        if percpu:
            self._stride = (self._vsize + 7) // 8 * 8
            self._ncpus = _ncpus()

    def __repr__(self):
        return "<%s map %s of %s: %s -> %s>" % (
            self.kind, self.name, _PROGRAM, self.key_type.__name__, self.value_type.__name__)

    @property
    def fd(self):
        if self._fd is None:
            fd = _fds().get(self.name)
            if fd is None and self._pin:
                # Run on its own: a pinned map is found by its path.
                path = _c.create_string_buffer(self._pin.encode())
                fd = _bpf(_OBJ_GET, _ObjAttr(pathname=_c.addressof(path)))
                fd = None if fd < 0 else fd
            if fd is None:
                raise RuntimeError(
                    "map %s of %s is not open: this module reads the maps of a script "
                    "that %s runs with exec()" % (self.name, _PROGRAM, _PROGRAM))
            self._fd = fd
        return self._fd

    def _err(self, what, err):
        raise OSError(err, "%s map %s: %s" % (what, self.name, _os.strerror(err)))

    def _key(self, k):
        return _c.create_string_buffer(_pack(self.key_type, k), _c.sizeof(self.key_type))

    def _lookup(self, k):
        n = self._stride * self._ncpus if self.percpu else self._vsize
        buf = _c.create_string_buffer(n)
        key = self._key(k)
        r = _bpf(_LOOKUP, _ElemAttr(map_fd=self.fd, key=_addr(key), value=_addr(buf)))
        if r == -2:
            return None
        if r < 0:
            self._err("reading", -r)
        raw = buf.raw
        if not self.percpu:
            return _unpack(self.value_type, raw)
        return [_unpack(self.value_type, raw[i * self._stride:i * self._stride + self._vsize])
                for i in range(self._ncpus)]

    def __getitem__(self, k):
        v = self._lookup(k)
        if v is None:
            raise KeyError(k)
        return v

    def get(self, k, default=None):
        v = self._lookup(k)
        return default if v is None else v

    def sum(self, k):
        """A per-CPU map's integer value, added up over the CPUs."""
        return sum(self[k]) if self.percpu else self[k]

    def __contains__(self, k):
        return self._lookup(k) is not None

    def __setitem__(self, k, v):
        if self.percpu:
            # A list: one value per CPU (for an array value, a list of them).
            many = isinstance(v, list) and (
                not issubclass(self.value_type, _c.Array) or (v and isinstance(v[0], (list, tuple))))
            vs = v if many else [v]
            if len(vs) > self._ncpus:
                raise ValueError("%d values for %d CPUs" % (len(vs), self._ncpus))
            raw = b"".join(_pack(self.value_type, x).ljust(self._stride, b"\0") for x in vs)
            raw = raw.ljust(self._stride * self._ncpus, b"\0")
        else:
            raw = _pack(self.value_type, v)
        buf = _c.create_string_buffer(raw, len(raw))
        key = self._key(k)
        r = _bpf(_UPDATE, _ElemAttr(map_fd=self.fd, key=_addr(key), value=_addr(buf)))
        if r < 0:
            self._err("writing", -r)

    def __delitem__(self, k):
        if self.kind in ("array", "percpu_array"):
            raise TypeError("the entries of array map %s cannot be deleted; set them to zero" % self.name)
        key = self._key(k)
        r = _bpf(_DELETE, _ElemAttr(map_fd=self.fd, key=_addr(key)))
        if r == -2:
            raise KeyError(k)
        if r < 0:
            self._err("deleting from", -r)

    def keys(self):
        size = _c.sizeof(self.key_type)
        prev = None
        while True:
            nxt = _c.create_string_buffer(size)
            r = _bpf(_NEXT_KEY, _ElemAttr(map_fd=self.fd, key=_addr(prev), value=_addr(nxt)))
            if r == -2:
                return
            if r < 0:
                self._err("listing", -r)
            yield _unpack(self.key_type, nxt.raw)
            prev = nxt

    __iter__ = keys

    def items(self):
        for k in self.keys():
            v = self._lookup(k)
            if v is not None:
                yield k, v

    def values(self):
        for _, v in self.items():
            yield v

    def __len__(self):
        return sum(1 for _ in self.keys())
