//! The loader runtime of ksc's Rust/aya programs, the counterpart of the C
//! loader's `ksc_runtime.c`: the same messages, exit codes and kernel
//! state. The rust-aya backend writes this crate into every generated
//! project (`ksc-rt/`) and the program's `main.rs` calls it as `rt::...`;
//! in ksc's workspace it is compiled and tested as `ksc-aya-rt`.
//!
//! One module per job: [`desc`] (what `main.rs` describes), `plain` and
//! `ptr` (the program's values), `fmt` (`print`), `state` (lifetime,
//! signals, cleanup), `load`, `attach`, `perf`, `maps` (and globals),
//! `ring`, `process` (`exec`, `daemon`), `testrun` (`test`), `cli`
//! (`main(args)`), and [`py`] (Python imports, feature `python`).
//! Everything the generated code calls is re-exported here.

mod attach;
mod cli;
pub mod desc;
mod fmt;
mod load;
mod maps;
mod perf;
mod plain;
mod process;
mod ptr;
#[cfg(feature = "python")]
pub mod py;
mod ring;
mod state;
mod testrun;

pub use attach::{attach, detach, Target};
pub use cli::{int_opt, options, Opt};
pub use desc::{Desc, Kind, MapRef, Prog};
pub use fmt::{cfmt, print, Arg};
pub use load::{load, open};
pub use maps::{delete, global, lookup, next_key, set_global, update};
pub use perf::{perf_attach, perf_detach, perf_read};
pub use plain::{KStr, Plain};
pub use process::{daemon, exec};
pub use ptr::Ptr;
pub use ring::{dispatch, on_event, ring_read};
pub use state::{cleanup, sleep, uncaught};
pub use testrun::test;
