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

#[cfg(test)]
mod tests {
    use super::{KStr, Plain};

    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Pair {
        a: u32,
        b: u16,
        name: KStr<4>,
    }
    // SAFETY: repr(C) of plain fields.
    unsafe impl Plain for Pair {}

    #[test]
    fn plain_values_are_their_bytes() {
        assert_eq!(u32::zero(), 0);
        assert_eq!(0x0102_0304u32.bytes(), 0x0102_0304u32.to_ne_bytes());
        assert_eq!(u64::from_bytes(&7u64.to_ne_bytes()), 7);
        // Short input zero-extends, long input is cut.
        assert_eq!(
            u32::from_bytes(&[0xff]),
            u32::from_ne_bytes([0xff, 0, 0, 0])
        );
        assert_eq!(u16::from_bytes(&[1, 0, 9, 9]), u16::from_ne_bytes([1, 0]));
        assert!(bool::from_bytes(&[1]));
        let arr: [i16; 3] = Plain::from_bytes(&[1, 0, 2, 0, 3, 0]);
        assert_eq!(arr, [[1, 0], [2, 0], [3, 0]].map(i16::from_ne_bytes));
        let p = Pair {
            a: 5,
            b: 6,
            name: KStr::new("abc"),
        };
        let q = Pair::from_bytes(p.bytes());
        assert_eq!((q.a, q.b, q.name.text()), (5, 6, &b"abc"[..]));
        let z = Pair::zero();
        assert_eq!((z.a, z.b, z.name.text()), (0, 0, &b""[..]));
    }

    /// `str(N)` holds at most N - 1 bytes and a NUL, as the C side's.
    #[test]
    fn kstr_cuts_to_fit_and_compares_by_text() {
        let s = KStr::<4>::new("hello");
        assert_eq!(s.0, *b"hel\0");
        assert_eq!(s.text(), b"hel");
        assert_eq!(KStr::<8>::new("").text(), b"");
        assert_eq!(KStr::<1>::new("x").0, [0]);
        // Each part ends at its own NUL.
        let c = KStr::<16>::concat(&[b"ab\0zz", b"cd", KStr::<4>::new("ef").text()]);
        assert_eq!(c.text(), b"abcdef");
        assert_eq!(KStr::<5>::concat(&[b"abc", b"def"]).text(), b"abcd");
        // Equal text in different sizes is equal.
        assert!(KStr::<4>::new("ab") == KStr::<16>::new("ab"));
        assert!(KStr::<4>::new("ab") != KStr::<16>::new("abc"));
        let mut m = KStr::<4>::new("ab");
        m[1] = b'z';
        assert_eq!((m[0], m.text()), (b'a', &b"az"[..]));
        // A full buffer without a NUL (written by eBPF code) reads whole.
        assert_eq!(KStr::<3>(*b"xyz").text(), b"xyz");
    }
}
