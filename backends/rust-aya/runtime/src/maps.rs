//! Maps and globals from userspace: lookups, updates, deletes and key
//! walks through the bpf system call (per-CPU values summed as the C
//! loader sums them), and globals and configs, which live in the object's
//! data maps once it is loaded and in its image before.

use std::os::fd::{AsFd as _, AsRawFd as _};

use aya::maps::{Map, MapData};

use crate::desc::MapRef;
use crate::plain::Plain;
use crate::state::{die, with};

pub(crate) fn map_data(m: &Map) -> &MapData {
    match m {
        Map::Array(d)
        | Map::BloomFilter(d)
        | Map::CpuMap(d)
        | Map::DevMap(d)
        | Map::DevMapHash(d)
        | Map::HashMap(d)
        | Map::LpmTrie(d)
        | Map::LruHashMap(d)
        | Map::PerCpuArray(d)
        | Map::PerCpuHashMap(d)
        | Map::PerCpuLruHashMap(d)
        | Map::PerfEventArray(d)
        | Map::ProgramArray(d)
        | Map::Queue(d)
        | Map::RingBuf(d)
        | Map::SockHash(d)
        | Map::SockMap(d)
        | Map::Stack(d)
        | Map::StackTraceMap(d)
        | Map::Unsupported(d)
        | Map::XskMap(d) => d,
    }
}

pub(crate) fn map_fd(name: &str) -> i32 {
    let fd = with(|s| {
        s.ebpf
            .as_ref()
            .and_then(|e| e.map(name))
            .map(|m| map_data(m).fd().as_fd().as_raw_fd())
    });
    match fd {
        Some(fd) => fd,
        None => die(format_args!(
            "error: map `{name}` used before load(): maps exist once the programs are loaded"
        )),
    }
}

#[repr(C)]
struct MapElemAttr {
    map_fd: u32,
    pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

/// BPF_MAP_{LOOKUP,UPDATE,DELETE}_ELEM / GET_NEXT_KEY: 0 or -errno.
pub(crate) fn map_elem(cmd: i64, fd: i32, key: &[u8], value: u64, flags: u64) -> i32 {
    let attr = MapElemAttr {
        map_fd: fd as u32,
        pad: 0,
        key: if key.is_empty() {
            0
        } else {
            key.as_ptr() as u64
        },
        value,
        flags,
    };
    // SAFETY: the attribute points at buffers of the map's key and value
    // sizes (the callers size them from the key and value types).
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            &attr as *const MapElemAttr,
            std::mem::size_of::<MapElemAttr>(),
        )
    };
    if r < 0 {
        -std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EINVAL)
    } else {
        0
    }
}

fn ncpus() -> usize {
    aya::util::nr_cpus().unwrap_or(1)
}

/// `m[k]`: the value, or None when absent; per-CPU values summed.
pub fn lookup<K: Plain, V: Plain>(m: &MapRef, key: &K) -> Option<V> {
    let fd = map_fd(m.name);
    let size = std::mem::size_of::<V>();
    if !m.percpu {
        let mut v = V::zero();
        let r = map_elem(1, fd, key.bytes(), &mut v as *mut V as u64, 0);
        return (r == 0).then_some(v);
    }
    let n = ncpus();
    let stride = (size + 7) & !7;
    let mut all = vec![0u8; n * stride];
    if map_elem(1, fd, key.bytes(), all.as_mut_ptr() as u64, 0) != 0 {
        return None;
    }
    Some(V::from_bytes(&sum_percpu(&all, n, size, m.sum_width)))
}

/// A per-CPU value from the bytes of all `n` CPUs' values (each `size`
/// bytes, 8-aligned): CPU 0's, its first `sum_width` bytes (an integer)
/// replaced by the wrapping sum over every CPU (0: CPU 0's as is).
fn sum_percpu(all: &[u8], n: usize, size: usize, sum_width: usize) -> Vec<u8> {
    let stride = (size + 7) & !7;
    let mut first = all[..size].to_vec();
    if sum_width > 0 {
        let mut total: u64 = 0;
        for c in 0..n {
            let mut b = [0u8; 8];
            b[..sum_width].copy_from_slice(&all[c * stride..c * stride + sum_width]);
            total = total.wrapping_add(u64::from_ne_bytes(b));
        }
        first[..sum_width].copy_from_slice(&total.to_ne_bytes()[..sum_width]);
    }
    first
}

/// `m[k] = v`; a per-CPU entry gets `v` on CPU 0 and zero elsewhere.
pub fn update<K: Plain, V: Plain>(m: &MapRef, key: &K, value: &V) -> i32 {
    let fd = map_fd(m.name);
    let r = if m.percpu {
        let size = std::mem::size_of::<V>();
        let stride = (size + 7) & !7;
        let mut all = vec![0u8; ncpus() * stride];
        all[..size].copy_from_slice(value.bytes());
        map_elem(2, fd, key.bytes(), all.as_ptr() as u64, 0)
    } else {
        map_elem(2, fd, key.bytes(), value.bytes().as_ptr() as u64, 0)
    };
    if r != 0 {
        eprintln!(
            "error: cannot update map `{}`: {}",
            m.name,
            std::io::Error::from_raw_os_error(-r)
        );
    }
    r
}

/// `delete m[k]`.
pub fn delete<K: Plain>(m: &MapRef, key: &K) {
    let fd = map_fd(m.name);
    map_elem(3, fd, key.bytes(), 0, 0);
}

/// The key after `prev` (the first when None), as `for (k, v) in m` walks.
pub fn next_key<K: Plain>(m: &MapRef, prev: Option<&K>) -> Option<K> {
    let fd = map_fd(m.name);
    let mut next = K::zero();
    let key: &[u8] = prev.map_or(&[], |k| k.bytes());
    let r = map_elem(4, fd, key, &mut next as *mut K as u64, 0);
    (r == 0).then_some(next)
}

// ------------------------------------------------------------------ globals

fn global_at(name: &str) -> (String, usize, usize) {
    match with(|s| s.globals.get(name).cloned()) {
        Some(g) => g,
        None => die(format_args!("error: no global `{name}` in the eBPF object")),
    }
}

/// A global or config: the initial image before load, the live value after.
pub fn global<T: Plain>(name: &str) -> T {
    let (sec, off, size) = global_at(name);
    if with(|s| s.ebpf.is_none()) {
        return with(|s| T::from_bytes(&s.image[&sec][off..off + size]));
    }
    let fd = map_fd(&sec);
    let len = with(|s| s.image[&sec].len());
    let mut all = vec![0u8; len];
    map_elem(1, fd, 0u32.bytes(), all.as_mut_ptr() as u64, 0);
    T::from_bytes(&all[off..off + size])
}

/// Write a global or config (before load: the image the object loads with).
pub fn set_global<T: Plain>(name: &str, value: &T) {
    let (sec, off, size) = global_at(name);
    let b = &value.bytes()[..size.min(std::mem::size_of::<T>())];
    if with(|s| s.ebpf.is_none()) {
        with(|s| {
            if let Some(img) = s.image.get_mut(&sec) {
                img[off..off + b.len()].copy_from_slice(b);
            }
        });
        return;
    }
    let fd = map_fd(&sec);
    let len = with(|s| s.image[&sec].len());
    let mut all = vec![0u8; len];
    map_elem(1, fd, 0u32.bytes(), all.as_mut_ptr() as u64, 0);
    all[off..off + b.len()].copy_from_slice(b);
    map_elem(2, fd, 0u32.bytes(), all.as_ptr() as u64, 0);
}

#[cfg(test)]
mod tests {
    use super::sum_percpu;

    fn cpus(values: &[&[u8]], stride: usize) -> Vec<u8> {
        let mut all = vec![0u8; values.len() * stride];
        for (c, v) in values.iter().enumerate() {
            all[c * stride..c * stride + v.len()].copy_from_slice(v);
        }
        all
    }

    /// Integer values summed at their width, wrapping as the C loader's;
    /// each CPU's value 8-byte aligned, as the kernel lays them out.
    #[test]
    fn per_cpu_values_sum_at_their_width() {
        let all = cpus(
            &[
                &5u64.to_ne_bytes(),
                &7u64.to_ne_bytes(),
                &u64::MAX.to_ne_bytes(),
            ],
            8,
        );
        assert_eq!(sum_percpu(&all, 3, 8, 8), 11u64.to_ne_bytes());
        let all = cpus(&[&0xffff_fff0u32.to_ne_bytes(), &0x20u32.to_ne_bytes()], 8);
        assert_eq!(sum_percpu(&all, 2, 4, 4), 0x10u32.to_ne_bytes());
        // A 12-byte struct (stride 16) summing its first 8 bytes; the rest
        // is CPU 0's.
        let a: Vec<u8> = [3u64.to_ne_bytes().to_vec(), vec![1, 2, 3, 4]].concat();
        let b: Vec<u8> = [4u64.to_ne_bytes().to_vec(), vec![9, 9, 9, 9]].concat();
        let all = cpus(&[&a, &b], 16);
        let want: Vec<u8> = [7u64.to_ne_bytes().to_vec(), vec![1, 2, 3, 4]].concat();
        assert_eq!(sum_percpu(&all, 2, 12, 8), want);
        // Width 0: CPU 0's value as is.
        assert_eq!(sum_percpu(&all, 2, 12, 0), a);
    }
}
