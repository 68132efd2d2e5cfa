//! Tests for the BTF reader: a Debian kernel's vmlinux BTF (the subset in
//! `tests/btf/small.btf` that `tests/btf/make-small-btf.sh` makes, so these
//! read the same kernel on every machine), hand-built BTF blobs, and
//! malformed input.

mod support;

use ksc_midend::btf::{Btf, BtfField, BtfType, StructLayout};

/// The Debian kernel's BTF file.
fn vmlinux_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/btf/small.btf")
}

fn vmlinux() -> Option<&'static Btf> {
    Some(support::test_btf())
}

fn field<'a>(layout: &'a StructLayout, name: &str) -> &'a BtfField {
    layout
        .fields
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("{} has no field {name}: {layout:#?}", layout.name))
}

fn int(name: &str, bits: u32, signed: bool) -> BtfType {
    BtfType::Int {
        name: name.to_string(),
        bits,
        signed,
    }
}

fn is_int(ty: &BtfType, want_bits: u32, want_signed: bool) -> bool {
    matches!(ty, BtfType::Int { bits, signed, .. } if *bits == want_bits && *signed == want_signed)
}

// ---------------------------------------------------------------------------
// A Debian kernel's BTF.
// ---------------------------------------------------------------------------

#[test]
fn vmlinux_sys_enter_layout() {
    let Some(btf) = vmlinux() else { return };
    assert!(btf.has_struct("trace_event_raw_sys_enter"));
    let s = btf
        .find_struct("trace_event_raw_sys_enter")
        .expect("trace_event_raw_sys_enter");
    assert_eq!(s.name, "trace_event_raw_sys_enter");
    assert!(!s.is_union);

    let ent = field(&s, "ent");
    assert_eq!(ent.offset_bits, 0);
    match &ent.ty {
        BtfType::Struct(inner) => {
            // Nested structs are resolved one level deep.
            assert_eq!(inner.name, "trace_entry");
            assert_eq!(inner.size, 8);
            assert!(inner.fields.iter().any(|f| f.name == "pid"));
        }
        other => panic!("ent: expected struct trace_entry, got {other:?}"),
    }

    let id = field(&s, "id");
    assert_eq!(id.offset_bits, 64);
    assert_eq!(id.bitfield_size, 0);
    assert!(is_int(&id.ty, 64, true), "id: {:?}", id.ty);

    let args = field(&s, "args");
    assert_eq!(args.offset_bits, 128);
    match &args.ty {
        BtfType::Array(elem, 6) => assert!(is_int(elem, 64, false), "args elem: {elem:?}"),
        other => panic!("args: expected [u64; 6], got {other:?}"),
    }
}

#[test]
fn vmlinux_sched_switch_prev_comm() {
    let Some(btf) = vmlinux() else { return };
    let s = btf
        .find_struct("trace_event_raw_sched_switch")
        .expect("trace_event_raw_sched_switch");
    let prev_comm = field(&s, "prev_comm");
    assert_eq!(prev_comm.offset_bits, 64);
    assert_eq!(prev_comm.ty, BtfType::Array(Box::new(BtfType::Char), 16));
    let next_comm = field(&s, "next_comm");
    assert_eq!(next_comm.ty, BtfType::Array(Box::new(BtfType::Char), 16));
}

#[test]
fn vmlinux_xdp_md() {
    let Some(btf) = vmlinux() else { return };
    let s = btf.find_struct("xdp_md").expect("xdp_md");
    assert_eq!(field(&s, "data").offset_bits, 0);
    assert_eq!(field(&s, "data_end").offset_bits, 32);
    assert!(is_int(&field(&s, "data").ty, 32, false));
}

#[test]
fn vmlinux_vfs_read_prototype() {
    let Some(btf) = vmlinux() else { return };
    let (params, ret) = btf.find_func("vfs_read").expect("vfs_read");
    assert_eq!(params.len(), 4, "{params:#?}");
    let names: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["file", "buf", "count", "pos"]);
    // `struct file *` is not expanded.
    match &params[0].1 {
        BtfType::Pointer(p) => match p.as_ref() {
            BtfType::Struct(l) => {
                assert_eq!(l.name, "file");
                assert!(l.fields.is_empty());
            }
            other => panic!("file: expected pointer to struct file, got {other:?}"),
        },
        other => panic!("file: expected pointer, got {other:?}"),
    }
    assert_eq!(params[1].1, BtfType::Pointer(Box::new(BtfType::Char)));
    assert!(is_int(&ret, 64, true), "ret: {ret:?}"); // ssize_t
}

#[test]
fn vmlinux_struct_ops_and_misses() {
    let Some(btf) = vmlinux() else { return };
    if let Some(ops) = btf.find_struct("tcp_congestion_ops") {
        let ssthresh = field(&ops, "ssthresh");
        match &ssthresh.ty {
            BtfType::Pointer(p) => {
                assert!(matches!(p.as_ref(), BtfType::FuncProto { .. }), "{p:?}")
            }
            other => panic!("ssthresh: expected function pointer, got {other:?}"),
        }
    }
    assert!(!btf.has_struct("no_such_struct_xyz"));
    assert!(btf.find_struct("no_such_struct_xyz").is_none());
    assert!(btf.find_func("no_such_function_xyz").is_none());
    // A function name is not a struct and vice versa.
    assert!(btf.find_struct("vfs_read").is_none());
    assert!(btf.find_func("xdp_md").is_none());
}

#[test]
fn vmlinux_kfuncs_tracepoints_and_names() {
    let Some(btf) = vmlinux() else { return };
    // Kfuncs: the functions tagged `bpf_kfunc` (6.2+), not the others.
    let kfuncs = btf.kfuncs();
    assert!(
        kfuncs.iter().any(|k| k == "bpf_rcu_read_lock"),
        "{kfuncs:?}"
    );
    assert!(!kfuncs.iter().any(|k| k == "vfs_read"));
    assert!(kfuncs.windows(2).all(|w| w[0] < w[1]), "sorted, unique");
    // One `btf_trace_<event>` typedef per tracepoint.
    let tps = btf.typedefs_with_prefix("btf_trace_");
    assert!(tps.iter().any(|t| t == "btf_trace_sched_switch"), "{tps:?}");
    assert!(tps.iter().all(|t| t.starts_with("btf_trace_")));
    assert!(btf.func_names().any(|f| f == "vfs_read"));
    assert!(btf
        .struct_names()
        .any(|s| s == "trace_event_raw_sched_switch"));
    // The same BTF read from a file.
    let from_file = Btf::load_file(&vmlinux_path()).unwrap();
    assert_eq!(from_file.kfuncs(), kfuncs);
    let e = Btf::load_file(std::path::Path::new("/nonexistent.btf")).unwrap_err();
    assert!(e.contains("cannot read BTF from /nonexistent.btf"), "{e}");
}

#[test]
fn vmlinux_truncated_and_corrupted() {
    let data = std::fs::read(vmlinux_path()).expect("read the kernel's BTF");
    for len in [0, 1, 4, 23, 24, 100, 4096, data.len() / 2, data.len() - 1] {
        assert!(
            Btf::from_bytes(&data[..len]).is_err(),
            "truncated to {len} bytes should fail"
        );
    }
    // Corrupt each header byte in turn: must never panic.
    for i in 0..24 {
        let mut bad = data.clone();
        bad[i] ^= 0xff;
        let _ = Btf::from_bytes(&bad);
    }
}

// ---------------------------------------------------------------------------
// Hand-built BTF.
// ---------------------------------------------------------------------------

const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_FWD: u32 = 7;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_FLOAT: u32 = 16;
const KIND_TYPE_TAG: u32 = 18;
const KIND_ENUM64: u32 = 19;

/// Assembles raw BTF blobs type by type; ids are assigned in order from 1.
struct Builder {
    types: Vec<u8>,
    strings: Vec<u8>,
    next_id: u32,
    /// Where this blob's strings start: 0, or for split BTF the length of
    /// its base's strings (its offsets continue them, as its ids do).
    str_base: u32,
}

impl Builder {
    fn new() -> Self {
        Builder {
            types: Vec::new(),
            strings: vec![0],
            next_id: 1,
            str_base: 0,
        }
    }

    /// Split BTF on top of `base` (a kernel module's on vmlinux's).
    fn split(base: &Builder) -> Self {
        Builder {
            types: Vec::new(),
            strings: Vec::new(),
            next_id: base.next_id,
            str_base: base.strings.len() as u32,
        }
    }

    fn str(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        let off = self.str_base + self.strings.len() as u32;
        self.strings.extend_from_slice(s.as_bytes());
        self.strings.push(0);
        off
    }

    fn raw(
        &mut self,
        name: &str,
        kind: u32,
        kflag: bool,
        vlen: u32,
        sot: u32,
        extra: &[u32],
    ) -> u32 {
        let name_off = self.str(name);
        let info = (u32::from(kflag) << 31) | (kind << 24) | vlen;
        for w in [name_off, info, sot].iter().chain(extra) {
            self.types.extend_from_slice(&w.to_le_bytes());
        }
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn int(&mut self, name: &str, size: u32, bits: u32, encoding: u32) -> u32 {
        self.raw(name, KIND_INT, false, 0, size, &[(encoding << 24) | bits])
    }

    fn ptr(&mut self, to: u32) -> u32 {
        self.raw("", KIND_PTR, false, 0, to, &[])
    }

    fn array(&mut self, elem: u32, index: u32, n: u32) -> u32 {
        self.raw("", KIND_ARRAY, false, 0, 0, &[elem, index, n])
    }

    fn modifier(&mut self, kind: u32, name: &str, to: u32) -> u32 {
        self.raw(name, kind, false, 0, to, &[])
    }

    fn composite(
        &mut self,
        kind: u32,
        name: &str,
        size: u32,
        kflag: bool,
        members: &[(&str, u32, u32)],
    ) -> u32 {
        let mut extra = Vec::new();
        for &(n, ty, off) in members {
            extra.extend([self.str(n), ty, off]);
        }
        self.raw(name, kind, kflag, members.len() as u32, size, &extra)
    }

    fn func_proto(&mut self, ret: u32, params: &[(&str, u32)]) -> u32 {
        let mut extra = Vec::new();
        for &(n, ty) in params {
            extra.extend([self.str(n), ty]);
        }
        self.raw("", KIND_FUNC_PROTO, false, params.len() as u32, ret, &extra)
    }

    fn build(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&0xeb9fu16.to_le_bytes());
        out.push(1); // version
        out.push(0); // flags
        for w in [
            24,
            0,
            self.types.len() as u32,
            self.types.len() as u32,
            self.strings.len() as u32,
        ] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&self.types);
        out.extend_from_slice(&self.strings);
        out
    }
}

/// A blob exercising most kinds; see the assertions in `synthetic_*`.
fn sample() -> Vec<u8> {
    let mut b = Builder::new();
    let int = b.int("int", 4, 32, 1); // 1
    let uint = b.int("unsigned int", 4, 32, 0); // 2
    let chr = b.int("char", 1, 8, 1); // 3
    let boolean = b.int("_Bool", 1, 8, 4); // 4
    let u64t = b.int("long long unsigned int", 8, 64, 0); // 5
    let u32_td = b.modifier(KIND_TYPEDEF, "u32", uint); // 6
    let const_u32 = b.modifier(KIND_CONST, "", u32_td); // 7
    let volatile_int = b.modifier(KIND_VOLATILE, "", int); // 8
    let comm = b.array(chr, int, 16); // 9

    // struct inner { int a; struct deep d; }  (struct deep defined below)
    let deep_id = b.next_id + 2;
    let inner = b.composite(
        KIND_STRUCT,
        "inner",
        8,
        false,
        &[("a", int, 0), ("d", deep_id, 32)],
    ); // 10
    let list_ptr = b.ptr(b.next_id + 2); // 11: struct node *
    let deep = b.composite(KIND_STRUCT, "deep", 4, false, &[("x", int, 0)]); // 12
    assert_eq!(deep, deep_id);
    let node = b.composite(KIND_STRUCT, "node", 8, false, &[("next", list_ptr, 0)]); // 13
    assert_eq!(node, list_ptr + 2);

    // Anonymous union { u32 u; int i; } and a typedef'd anonymous struct.
    let anon_union = b.composite(KIND_UNION, "", 4, false, &[("u", u32_td, 0), ("i", int, 0)]);
    let anon_struct = b.composite(KIND_STRUCT, "", 4, false, &[("counter", int, 0)]);
    let atomic_t = b.modifier(KIND_TYPEDEF, "atomic_t", anon_struct);

    let red = b.str("RED");
    let green = b.str("GREEN");
    let color = b.raw(
        "color2",
        KIND_ENUM,
        true,
        2,
        4,
        &[red, (-1i32) as u32, green, 7],
    );
    let big = b.str("BIG");
    let big_enum = b.raw("big", KIND_ENUM64, false, 1, 8, &[big, 0x1, 0x8000_0000]);
    let fwd = b.raw("opaque", KIND_FWD, false, 0, 0, &[]);
    let fwd_ptr = b.ptr(fwd);
    let float = b.raw("double", KIND_FLOAT, false, 0, 8, &[]);
    let tagged = b.modifier(KIND_TYPE_TAG, "user", chr);
    let user_ptr = b.ptr(tagged);

    // struct sample {
    //   const u32 id; volatile int v; char comm[16]; struct inner in;
    //   struct node *head; union { u32 u; int i; }; atomic_t refs;
    //   unsigned int lo:3, hi:5; enum color2 c; enum big e; _Bool flag;
    //   struct opaque *o; double f; char __user *up; u64 wide;
    // }
    let sample_ptr = b.ptr(b.next_id + 2);
    let _sample_const = b.modifier(KIND_CONST, "", b.next_id + 1);
    let sample = b.composite(
        KIND_STRUCT,
        "sample",
        96,
        true,
        &[
            ("id", const_u32, 0),
            ("v", volatile_int, 32),
            ("comm", comm, 64),
            ("in", inner, 192),
            ("head", list_ptr, 256),
            ("", anon_union, 320),
            ("refs", atomic_t, 352),
            ("lo", uint, (3 << 24) | 384),
            ("hi", uint, (5 << 24) | 387),
            ("c", color, 416),
            ("e", big_enum, 448),
            ("flag", boolean, 512),
            ("o", fwd_ptr, 576),
            ("f", float, 640),
            ("up", user_ptr, 704),
            ("wide", u64t, 768),
        ],
    );
    assert_eq!(sample_ptr + 2, sample);

    // int handle(struct sample *s, u32 n, ...);
    let proto = b.func_proto(int, &[("s", sample_ptr), ("n", u32_td), ("", 0)]);
    b.raw("handle", KIND_FUNC, false, 1, proto, &[]);
    // void noargs(void);
    let proto = b.func_proto(0, &[]);
    b.raw("noargs", KIND_FUNC, false, 1, proto, &[]);
    b.build()
}

#[test]
fn synthetic_struct_layout() {
    let btf = Btf::from_bytes(&sample()).expect("parse sample");
    assert!(btf.has_struct("sample"));
    assert!(btf.has_struct("inner"));
    assert!(
        !btf.has_struct("opaque"),
        "forward declarations are not structs"
    );
    assert!(!btf.has_struct("u32"));

    let s = btf.find_struct("sample").expect("sample");
    assert_eq!(s.size, 96);
    assert!(!s.is_union);
    let u32t = int("unsigned int", 32, false);

    // Typedef + const + volatile are stripped.
    assert_eq!(field(&s, "id").ty, u32t);
    assert_eq!(field(&s, "v").ty, int("int", 32, true));
    assert_eq!(field(&s, "v").offset_bits, 32);
    assert_eq!(
        field(&s, "comm").ty,
        BtfType::Array(Box::new(BtfType::Char), 16)
    );

    // Nested named struct: expanded one level, its own struct members are
    // name-only.
    let inner = field(&s, "in");
    assert_eq!(inner.offset_bits, 192);
    let BtfType::Struct(inner) = &inner.ty else {
        panic!("in: {:?}", inner.ty)
    };
    assert_eq!(inner.name, "inner");
    assert_eq!(inner.fields.len(), 2);
    assert_eq!(inner.fields[1].name, "d");
    assert_eq!(inner.fields[1].offset_bits, 32);
    assert_eq!(
        inner.fields[1].ty,
        BtfType::Struct(StructLayout {
            name: "deep".into(),
            size: 4,
            is_union: false,
            fields: vec![],
        })
    );

    // Pointer to struct: name only.
    assert_eq!(
        field(&s, "head").ty,
        BtfType::Pointer(Box::new(BtfType::Struct(StructLayout {
            name: "node".into(),
            size: 8,
            is_union: false,
            fields: vec![],
        })))
    );

    // Anonymous union member is expanded.
    let anon = &s.fields[5];
    assert_eq!(anon.name, "");
    let BtfType::Struct(u) = &anon.ty else {
        panic!("anon: {:?}", anon.ty)
    };
    assert!(u.is_union);
    assert_eq!(u.fields.len(), 2);
    assert_eq!(u.fields[0].ty, u32t);

    // Typedef'd anonymous struct takes the typedef's name.
    let BtfType::Struct(refs) = &field(&s, "refs").ty else {
        panic!("refs")
    };
    assert_eq!(refs.name, "atomic_t");
    assert_eq!(refs.fields[0].name, "counter");

    // Bitfields (kind_flag set on the struct).
    let lo = field(&s, "lo");
    assert_eq!((lo.offset_bits, lo.bitfield_size), (384, 3));
    let hi = field(&s, "hi");
    assert_eq!((hi.offset_bits, hi.bitfield_size), (387, 5));
    assert_eq!(field(&s, "id").bitfield_size, 0);

    assert_eq!(
        field(&s, "c").ty,
        BtfType::Enum {
            name: "color2".into(),
            size: 4,
            values: vec![("RED".into(), -1), ("GREEN".into(), 7)],
        }
    );
    assert_eq!(
        field(&s, "e").ty,
        BtfType::Enum {
            name: "big".into(),
            size: 8,
            values: vec![("BIG".into(), 0x8000_0000_0000_0001u64 as i64)],
        }
    );
    assert_eq!(field(&s, "flag").ty, BtfType::Bool);
    assert_eq!(
        field(&s, "o").ty,
        BtfType::Pointer(Box::new(BtfType::Struct(StructLayout {
            name: "opaque".into(),
            size: 0,
            is_union: false,
            fields: vec![],
        })))
    );
    assert!(matches!(field(&s, "f").ty, BtfType::Unknown(_)));
    // Type tags (`__user`) are stripped.
    assert_eq!(
        field(&s, "up").ty,
        BtfType::Pointer(Box::new(BtfType::Char))
    );
    assert_eq!(
        field(&s, "wide").ty,
        int("long long unsigned int", 64, false)
    );
}

#[test]
fn synthetic_self_referential_struct() {
    let btf = Btf::from_bytes(&sample()).expect("parse sample");
    let node = btf.find_struct("node").expect("node");
    assert_eq!(node.fields.len(), 1);
    let BtfType::Pointer(p) = &node.fields[0].ty else {
        panic!("next: {:?}", node.fields[0].ty)
    };
    assert!(matches!(p.as_ref(), BtfType::Struct(l) if l.name == "node" && l.fields.is_empty()));
}

#[test]
fn synthetic_functions() {
    let btf = Btf::from_bytes(&sample()).expect("parse sample");
    let (params, ret) = btf.find_func("handle").expect("handle");
    assert_eq!(ret, int("int", 32, true));
    assert_eq!(params.len(), 3);
    assert_eq!(params[0].0, "s");
    let BtfType::Pointer(p) = &params[0].1 else {
        panic!("s: {:?}", params[0].1)
    };
    assert!(matches!(p.as_ref(), BtfType::Struct(l) if l.name == "sample" && l.fields.is_empty()));
    assert_eq!(params[1], ("n".to_string(), int("unsigned int", 32, false)));
    assert_eq!(params[2], ("...".to_string(), BtfType::Void));

    let (params, ret) = btf.find_func("noargs").expect("noargs");
    assert!(params.is_empty());
    assert_eq!(ret, BtfType::Void);
    assert!(btf.find_func("sample").is_none());
    assert!(btf.find_struct("handle").is_none());
}

#[test]
fn synthetic_cycles_are_bounded() {
    let mut b = Builder::new();
    // typedef A -> typedef B -> typedef A, used as a struct member.
    let a = b.modifier(KIND_TYPEDEF, "A", 2); // 1
    let _b = b.modifier(KIND_TYPEDEF, "B", 1); // 2
    let s = b.composite(KIND_STRUCT, "loop", 4, false, &[("x", a, 0)]); // 3
                                                                        // A function prototype whose parameters point back to itself.
    let proto_ptr = b.ptr(s + 2); // 4
    let params: Vec<(&str, u32)> = (0..8).map(|_| ("f", proto_ptr)).collect();
    let proto = b.func_proto(proto_ptr, &params); // 5
    b.raw("explode", KIND_FUNC, false, 1, proto, &[]);
    let data = b.build();

    let btf = Btf::from_bytes(&data).expect("cyclic types still parse");
    let l = btf.find_struct("loop").expect("loop");
    assert!(
        matches!(l.fields[0].ty, BtfType::Unknown(_)),
        "{:?}",
        l.fields[0].ty
    );
    let start = std::time::Instant::now();
    let (params, _) = btf.find_func("explode").expect("explode");
    assert_eq!(params.len(), 8);
    assert!(start.elapsed().as_secs() < 10, "resolution must be bounded");
}

// ---------------------------------------------------------------------------
// Malformed input.
// ---------------------------------------------------------------------------

#[test]
fn rejects_empty_short_and_bad_magic() {
    assert!(Btf::from_bytes(&[]).is_err());
    assert!(Btf::from_bytes(&[0x9f]).is_err());
    assert!(Btf::from_bytes(&[0x9f, 0xeb, 1, 0]).is_err());

    let good = sample();
    let mut bad = good.clone();
    bad[0] = 0x00;
    let err = Btf::from_bytes(&bad).unwrap_err();
    assert!(err.contains("magic"), "{err}");
    let mut big_endian = good.clone();
    big_endian.swap(0, 1);
    assert!(Btf::from_bytes(&big_endian).is_err());
    let mut bad_version = good.clone();
    bad_version[2] = 2;
    assert!(Btf::from_bytes(&bad_version).is_err());
    let mut elf = good;
    elf[..4].copy_from_slice(b"\x7fELF");
    assert!(Btf::from_bytes(&elf).is_err());
}

#[test]
fn rejects_every_truncation() {
    let good = sample();
    assert!(Btf::from_bytes(&good).is_ok());
    for len in 0..good.len() {
        assert!(
            Btf::from_bytes(&good[..len]).is_err(),
            "prefix of {len}/{} bytes accepted",
            good.len()
        );
    }
}

#[test]
fn rejects_bad_references() {
    // Out-of-range type id.
    let mut b = Builder::new();
    b.ptr(42);
    let err = Btf::from_bytes(&b.build()).unwrap_err();
    assert!(err.contains("42"), "{err}");

    // Out-of-range struct member type.
    let mut b = Builder::new();
    let int = b.int("int", 4, 32, 1);
    b.composite(KIND_STRUCT, "s", 8, false, &[("a", int, 0), ("b", 99, 32)]);
    assert!(Btf::from_bytes(&b.build()).is_err());

    // Unknown kind.
    let mut b = Builder::new();
    b.raw("x", 31, false, 0, 0, &[]);
    assert!(Btf::from_bytes(&b.build()).is_err());

    // Name offset outside the string section.
    let mut b = Builder::new();
    b.int("int", 4, 32, 1);
    let mut data = b.build();
    data[24..28].copy_from_slice(&1000u32.to_le_bytes());
    assert!(Btf::from_bytes(&data).is_err());

    // vlen claims more members than the section holds.
    let mut b = Builder::new();
    b.raw("s", KIND_STRUCT, false, 100, 4, &[]);
    assert!(Btf::from_bytes(&b.build()).is_err());

    // Section offsets past the end / overflowing.
    let mut data = sample();
    data[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(Btf::from_bytes(&data).is_err());
    let mut data = sample();
    data[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(Btf::from_bytes(&data).is_err());
    let mut data = sample();
    data[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(Btf::from_bytes(&data).is_err());
}

/// xorshift64*, to avoid a dependency on `rand`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn random_bytes_are_rejected() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for i in 0..2000 {
        let len = (rng.next() % 512) as usize;
        let mut data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if i % 2 == 0 && data.len() >= 4 {
            // Give half of them a plausible magic and version.
            data[..4].copy_from_slice(&[0x9f, 0xeb, 1, 0]);
        }
        // Random data may in principle form a valid (empty) BTF; it just
        // must not panic. Without the magic it must be rejected.
        let result = Btf::from_bytes(&data);
        if i % 2 == 1 {
            assert!(result.is_err());
        }
    }
}

#[test]
fn mutated_blobs_never_panic() {
    let good = sample();
    let names = [
        "sample", "inner", "node", "deep", "loop", "handle", "noargs",
    ];
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    for _ in 0..5000 {
        let mut data = good.clone();
        for _ in 0..1 + rng.next() % 4 {
            let pos = (rng.next() as usize) % data.len();
            data[pos] = rng.next() as u8;
        }
        if let Ok(btf) = Btf::from_bytes(&data) {
            for name in names {
                let _ = btf.find_struct(name);
                let _ = btf.find_func(name);
                let _ = btf.has_struct(name);
            }
        }
    }
}

/// A module's split BTF reads on top of its base: its functions (kfuncs)
/// and its structs, whose members may be the base's types, by name;
/// alone it is refused (its ids and names point into the base).
#[test]
fn split_btf_reads_on_its_base() {
    let mut base = Builder::new();
    let int = base.int("int", 4, 32, 1);
    base.composite(KIND_STRUCT, "xdp_md", 4, false, &[("data", int, 0)]);
    let base_blob = base.build();

    let mut module = Builder::split(&base);
    let s = module.composite(
        KIND_STRUCT,
        "flow",
        8,
        false,
        &[("a", int, 0), ("b", int, 32)],
    );
    let p = module.ptr(s);
    let proto = module.func_proto(int, &[("f", p), ("n", int)]);
    module.raw("flow_bucket", KIND_FUNC, false, 1, proto, &[]);
    let module_blob = module.build();

    let btf = Btf::from_split(&base_blob, &module_blob).expect("split BTF parses on its base");
    let names: Vec<&str> = btf.func_names().collect();
    assert_eq!(names, ["flow_bucket"]);
    assert!(btf.has_func("flow_bucket") && !btf.has_func("xdp_md"));
    let (params, ret) = btf.find_func("flow_bucket").expect("the module's function");
    assert_eq!(params.len(), 2);
    assert_eq!(params[1].0, "n");
    assert!(is_int(&ret, 32, true), "{ret:?}");
    let flow = btf.find_struct("flow").expect("the module's struct");
    assert!(is_int(&field(&flow, "b").ty, 32, true));
    assert!(btf.has_struct("xdp_md"), "the base's types stay visible");

    let alone = Btf::from_bytes(&module_blob);
    assert!(alone.is_err(), "split BTF alone must be refused: {alone:?}");
}
