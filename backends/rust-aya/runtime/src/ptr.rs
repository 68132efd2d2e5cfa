//! Userspace pointers ([`Ptr`]) with the C loader's meaning: null, a
//! snapshot of a map entry or event, or the address of a variable.

/// A userspace pointer, with the C loader's meaning: null; a snapshot (a
/// map entry or ring-buffer record read into the program: writes through
/// it change the copy, as they change the C loader's buffer); or the
/// address of a variable (`&x`, `&a[i]`), whose writes change the variable.
#[derive(Clone, Copy)]
pub enum Ptr<T: Copy> {
    Null,
    Snap(T),
    Addr(*mut T),
}

impl<T: Copy> From<Option<T>> for Ptr<T> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Ptr::Null, Ptr::Snap)
    }
}

impl<T: Copy> Ptr<T> {
    pub fn is_none(&self) -> bool {
        matches!(self, Ptr::Null)
    }
    pub fn is_some(&self) -> bool {
        !self.is_none()
    }
    /// `*p`: the value pointed at (the C loader would crash on null).
    pub fn expect(self, msg: &str) -> T {
        match self {
            Ptr::Null => panic!("{msg}"),
            Ptr::Snap(v) => v,
            // SAFETY: made from a live variable of the generated code
            // (`std::ptr::addr_of_mut!`), which outlives its pointers as
            // the C loader's locals do.
            Ptr::Addr(p) => unsafe { *p },
        }
    }
    /// The place pointed at, to write through.
    pub fn as_mut(&mut self) -> Option<&mut T> {
        match self {
            Ptr::Null => None,
            Ptr::Snap(v) => Some(v),
            // SAFETY: as in `expect`.
            Ptr::Addr(p) => Some(unsafe { &mut **p }),
        }
    }
    fn addr(self, what: &str) -> *mut T {
        match self {
            Ptr::Addr(p) => p,
            _ => panic!("{what} of a pointer that is not the address of a variable"),
        }
    }
    /// `new T()`: a zeroed value on the heap, owned by the program until
    /// `delete` (the C loader's `calloc`).
    pub fn alloc(v: T) -> Self {
        Ptr::Addr(Box::into_raw(Box::new(v)))
    }
    /// `delete p`: frees what `alloc` gave; nothing for null.
    pub fn free(self) {
        match self {
            Ptr::Null => {}
            // SAFETY: `delete` takes what `new` (`alloc`) returned, once.
            Ptr::Addr(p) => drop(unsafe { Box::from_raw(p) }),
            Ptr::Snap(_) => panic!("delete of a pointer that `new` did not return"),
        }
    }
    /// `p + n`, `p - n`: `n` elements on.
    pub fn offset(self, n: i64) -> Self {
        Ptr::Addr(self.addr("arithmetic").wrapping_offset(n as isize))
    }
    /// `p - q`: how many elements apart.
    pub fn diff(self, q: Self) -> i64 {
        let (a, b) = (
            self.addr("difference") as isize,
            q.addr("difference") as isize,
        );
        ((a - b) / std::mem::size_of::<T>().max(1) as isize) as i64
    }
    /// `p[i]`.
    pub fn at(self, i: i64) -> T {
        if i == 0 {
            return self.expect("null pointer");
        }
        self.offset(i).expect("null pointer")
    }
}

#[cfg(test)]
mod tests {
    use super::Ptr;

    #[test]
    fn null_snapshot_and_address() {
        let n: Ptr<u32> = None.into();
        assert!(n.is_none() && !n.is_some());
        let mut s: Ptr<u32> = Some(5).into();
        assert!(s.is_some());
        // Writing through a snapshot changes the copy only.
        *s.as_mut().unwrap() = 6;
        assert_eq!(s.expect("x"), 6);
        let mut x = 1u32;
        let mut a = Ptr::Addr(std::ptr::addr_of_mut!(x));
        *a.as_mut().unwrap() = 9;
        assert_eq!(x, 9);
        let mut n2 = n;
        assert!(n2.as_mut().is_none());
    }

    #[test]
    fn arithmetic_on_the_address_of_an_array_element() {
        let mut arr = [10u64, 20, 30, 40];
        let p = Ptr::Addr(std::ptr::addr_of_mut!(arr[0]));
        let q = p.offset(3);
        assert_eq!(q.expect("x"), 40);
        assert_eq!(q.diff(p), 3);
        assert_eq!(p.diff(q), -3);
        assert_eq!(p.at(2), 30);
        assert_eq!(q.offset(-1).at(0), 30);
    }

    #[test]
    fn new_and_delete() {
        let mut p = Ptr::alloc(7i32);
        *p.as_mut().unwrap() += 1;
        assert_eq!(p.expect("x"), 8);
        p.free();
        Ptr::<i32>::Null.free();
    }

    #[test]
    #[should_panic(expected = "null pointer")]
    fn reading_through_null_panics_with_the_message() {
        Ptr::<u8>::Null.at(0);
    }
}
