//! Helpers of the deploy and package tests: a scratch directory with a
//! program and its deployment file, a veth pair in a namespace the test
//! creates, map reads through bpftool.
#![allow(dead_code)]

pub use ksc_testkit::net::{sh, Veth};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

static SEQ: AtomicU32 = AtomicU32::new(0);

pub fn plugin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_ksc"))
        .parent()
        .unwrap()
        .join("deps")
}

pub fn example(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples")
            .join(name),
    )
    .unwrap()
}

/// A scratch directory with the program and its deployment file.
pub struct Case {
    pub dir: PathBuf,
    pub name: String,
    /// Environment for every ksc this case runs.
    pub env: Vec<(String, String)>,
}

impl Case {
    pub fn new(tag: &str, program: &str, yaml: &str) -> Case {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let name = format!("ksc-t-{tag}-{}-{n}", std::process::id());
        let dir = std::env::temp_dir().join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("prog.ks"), program).unwrap();
        std::fs::write(dir.join("deploy.yaml"), yaml.replace("@NAME@", &name)).unwrap();
        Case {
            dir,
            name,
            env: Vec::new(),
        }
    }

    pub fn pins(&self) -> PathBuf {
        Path::new("/sys/fs/bpf/ksc").join(&self.name)
    }

    pub fn ksc(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ksc"))
            .args(args)
            .current_dir(&self.dir)
            .env("KSC_PLUGIN_PATH", plugin_dir())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap()
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.ksc(args);
        assert!(
            o.status.success(),
            "ksc {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    pub fn status(&self) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["status", "--json"])).unwrap()
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        let _ = self.ksc(&["undeploy"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn root() -> Result<(), String> {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc_getuid() } == 0 {
        Ok(())
    } else {
        Err("not root".into())
    }
}

extern "C" {
    #[link_name = "getuid"]
    fn libc_getuid() -> u32;
}

/// The sum over CPUs (or the value) of a pinned map's entry `key` (u32), via bpftool.
pub fn map_value(pin: &Path, key: u32) -> u64 {
    let k = key.to_le_bytes();
    let out = sh(&format!(
        "bpftool -j map lookup pinned {} key {} {} {} {}",
        pin.display(),
        k[0],
        k[1],
        k[2],
        k[3]
    ));
    let v: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|_| panic!("bpftool: {out}"));
    let f = &v["formatted"];
    if let Some(vals) = f["values"].as_array() {
        vals.iter().map(|c| c["value"].as_u64().unwrap_or(0)).sum()
    } else {
        f["value"]
            .as_u64()
            .unwrap_or_else(|| panic!("no value in {out}"))
    }
}
