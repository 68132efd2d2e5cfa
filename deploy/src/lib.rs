//! `ksc deploy` and friends (docs/deploy.md): a KernelScript program
//! loaded, attached and pinned on bpffs so that it outlives ksc, replaced
//! in place on redeploy, its userspace side supervised; and for fleets,
//! the program as a bpfman bytecode image with its `BpfApplication`.
//!
//! `config` reads the deployment file, `plan` checks it against the
//! program and the kernel (located errors), `ops` does the work on the
//! kernel through `kernel`, `supervisor` runs the userspace side (through `systemd` where it runs the
//! machine), `oci`
//! packages.

pub mod config;
pub mod kernel;
pub mod oci;
pub mod ops;
pub mod plan;
pub mod supervisor;
pub mod systemd;

pub use config::{parse, Deployment, RestartPolicy};
pub use ops::{Error, Status};
pub use plan::{plan, Plan};
