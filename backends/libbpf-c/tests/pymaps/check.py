# Drives the generated module on real maps the test makes itself
# (BPF_MAP_CREATE), named to the module through KSC_MAPS as the loader
# does. Prints "ok", or "skip: why" when maps cannot be made here.
import ctypes as c
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.pop("KSC_MAPS", None)
import prog  # noqa: E402  (no maps yet: using one raises)

try:
    prog.h[1]
    raise AssertionError("a map without KSC_MAPS")
except RuntimeError as e:
    assert "map h of prog is not open" in str(e), e


class Create(c.Structure):
    _fields_ = [("map_type", c.c_uint32), ("key_size", c.c_uint32),
                ("value_size", c.c_uint32), ("max_entries", c.c_uint32),
                ("map_flags", c.c_uint32)]


TYPES = {"hash": 1, "array": 2, "percpu_hash": 5, "percpu_array": 6, "lru_hash": 9}
fds = []
for name, m in prog.maps.items():
    fd = prog._bpf(0, Create(TYPES[m.kind], c.sizeof(m.key_type), c.sizeof(m.value_type),
                             m.max_entries, 0))
    if fd < 0:
        print("skip: cannot create maps (%s)" % os.strerror(-fd))
        sys.exit(0)
    fds.append("%s=%d" % (name, fd))
os.environ["KSC_MAPS"] = ",".join(fds)
for m in prog.maps.values():
    m._fd = None

assert sorted(prog.maps) == ["h", "kept", "lru", "pc"], sorted(prog.maps)
assert "events" not in prog.maps
assert c.sizeof(prog.Outer) == 40 and c.sizeof(prog.Inner) == 8

# A struct with every kind of field, from keywords, a dict and a tuple.
o = prog.Outer(flag=True, inner=prog.Inner(a=7, b=70000), vals=[1, 2, 3],
               name=b"abcd", c=2, big=-(1 << 40))
prog.h[5] = o
got = prog.h[5]
assert got == o, got
assert got.inner.b == 70000 and list(got.vals) == [1, 2, 3] and got.name == b"abcd"
assert got.flag is True and got.c == 2 and got.big == -(1 << 40)
assert got._asdict()["inner"] == prog.Inner(7, 70000)
prog.h[6] = {"inner": {"a": 1}, "name": "xy"}
assert prog.h[6].inner.a == 1 and prog.h[6].name == b"xy" and prog.h[6].big == 0
prog.h[7] = (False, (2, 3))
assert prog.h[7].inner.b == 3
assert sorted(prog.h.keys()) == [5, 6, 7] and len(prog.h) == 3
assert sorted(k for k, _ in prog.h.items()) == [5, 6, 7]
del prog.h[6]
assert 6 not in prog.h and 5 in prog.h and prog.h.get(6) is None
for bad, err in ((lambda: prog.h[6]), KeyError), ((lambda: prog.h.__delitem__(6)), KeyError), \
        ((lambda: prog.h.__setitem__(-1, o)), OverflowError), \
        ((lambda: prog.h.__setitem__(1, {"name": "toolong"})), ValueError), \
        ((lambda: prog.h.__setitem__(1, {"nope": 1})), TypeError):
    try:
        bad()
        raise AssertionError("no %s" % err.__name__)
    except err:
        pass

# A struct key; signed values.
prog.lru[prog.Inner(1, 2)] = -3
prog.lru[{"a": 4, "b": 5}] = 300
assert prog.lru[(1, 2)] == -3 and dict(prog.lru.items())[prog.Inner(4, 5)] == 300

# Per-CPU: one value per possible CPU; one value written goes to CPU 0.
n = len(prog.pc._lookup(0) or []) or prog._ncpus()
prog.pc[1 << 40] = prog.Inner(a=1, b=2)
vals = prog.pc[1 << 40]
assert len(vals) == n and vals[0] == prog.Inner(1, 2), vals
assert all(v == prog.Inner() for v in vals[1:])
prog.pc[3] = [prog.Inner(b=i) for i in range(n)]
assert [v.b for v in prog.pc[3]] == list(range(n))

prog.kept[1] = 2
assert prog.kept.sum(1) == 2 and list(prog.kept.values()) == [2]
print("ok")
