//! The program's data as it crosses into the kernel: [`Plain`] values
//! (read and written as their bytes) and `str(N)` text ([`KStr`]).

/// Plain data that crosses into the kernel as bytes.
///
/// # Safety
/// `#[repr(C)]` types of integers, bools, `KStr` and arrays of them: all
/// zero bytes is a value, and the kernel only hands back bytes that
/// userspace or eBPF code wrote as such a value.
pub unsafe trait Plain: Copy + 'static {
    /// All bytes zero, as C's `= {}`.
    fn zero() -> Self {
        // SAFETY: the trait's contract.
        unsafe { std::mem::zeroed() }
    }
    fn bytes(&self) -> &[u8] {
        // SAFETY: a Plain value is readable as its bytes.
        unsafe {
            std::slice::from_raw_parts(
                self as *const Self as *const u8,
                std::mem::size_of::<Self>(),
            )
        }
    }
    /// The value in the first bytes of `b` (zero-extended when short).
    fn from_bytes(b: &[u8]) -> Self {
        let mut v = Self::zero();
        let n = b.len().min(std::mem::size_of::<Self>());
        // SAFETY: see `bytes`; writes stay inside `v`.
        unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), &mut v as *mut Self as *mut u8, n) };
        v
    }
}

macro_rules! plain {
    ($($t:ty),*) => { $(unsafe impl Plain for $t {})* };
}
plain!(u8, u16, u32, u64, i8, i16, i32, i64, bool);
unsafe impl<T: Plain, const N: usize> Plain for [T; N] {}
unsafe impl<const N: usize> Plain for KStr<N> {}

/// `str(N)`: N bytes of text, NUL-terminated when shorter.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct KStr<const N: usize>(pub [u8; N]);

impl<const N: usize> KStr<N> {
    /// The text, cut to fit (as the C side's `strncpy`).
    pub fn new(s: &str) -> Self {
        Self::concat(&[s.as_bytes()])
    }
    pub fn concat(parts: &[&[u8]]) -> Self {
        let mut out = [0u8; N];
        let mut at = 0;
        for p in parts {
            for &b in p.iter().take_while(|&&b| b != 0) {
                if at + 1 >= N {
                    break;
                }
                out[at] = b;
                at += 1;
            }
        }
        KStr(out)
    }
    /// The bytes before the NUL.
    pub fn text(&self) -> &[u8] {
        let n = self.0.iter().position(|&b| b == 0).unwrap_or(N);
        &self.0[..n]
    }
}

impl<const N: usize> std::ops::Index<usize> for KStr<N> {
    type Output = u8;
    fn index(&self, i: usize) -> &u8 {
        &self.0[i]
    }
}

impl<const N: usize> std::ops::IndexMut<usize> for KStr<N> {
    fn index_mut(&mut self, i: usize) -> &mut u8 {
        &mut self.0[i]
    }
}

impl<const N: usize, const M: usize> PartialEq<KStr<M>> for KStr<N> {
    fn eq(&self, other: &KStr<M>) -> bool {
        self.text() == other.text()
    }
}
