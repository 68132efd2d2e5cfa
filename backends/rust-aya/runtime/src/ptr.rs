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
