//! deploy, undeploy, attach, detach: everything lives in the deployment's
//! directory on bpffs, so that it outlives ksc and `status` can read it
//! back from the kernel:
//!
//! ```text
//! DIR/maps/<map>            every map but .rodata (reused on redeploy: contents kept;
//!                           `.` in a name becomes `_`, bpffs refuses it)
//! DIR/progs/<program>       each deployed program
//! DIR/links/<program>@<at>  each attachment (if:<ifname>, tp:<cat>:<event>, lsm:<hook>, fn:<function>)
//! DIR/supervisor            the userspace supervisor's pids (a one-entry array map)
//! ```

use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};

use libbpf_rs::MapCore;

use crate::config::Attach;
use crate::kernel::{self, Target};
use crate::plan::Plan;

/// A failure after the checks (the kernel refused something).
#[derive(Debug)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err(what: impl std::fmt::Display, e: impl std::fmt::Display) -> Error {
    Error(format!("{what}: {e}"))
}

pub fn maps_dir(dir: &Path) -> PathBuf {
    dir.join("maps")
}
pub fn progs_dir(dir: &Path) -> PathBuf {
    dir.join("progs")
}
pub fn links_dir(dir: &Path) -> PathBuf {
    dir.join("links")
}

/// Maps whose contents belong to the object, not to the deployment: the
/// constants (`.rodata`, frozen at load) and the kernel config.
fn keeps_state(map: &str) -> bool {
    !(map.ends_with(".rodata") || map.contains(".rodata.") || map.ends_with(".kconfig"))
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn mkdirs(dir: &Path) -> Result<(), Error> {
    for d in [maps_dir(dir), progs_dir(dir), links_dir(dir)] {
        std::fs::create_dir_all(&d)
            .map_err(|e| err(format!("cannot create `{}`", d.display()), e))?;
    }
    Ok(())
}

/// Load the object, pin its maps (reusing pinned ones) and programs, and
/// attach: a link already pinned is updated in place. Returns what it did.
pub fn deploy(plan: &Plan, object: &Path) -> Result<Vec<String>, Error> {
    let dir = &plan.dir;
    mkdirs(dir)?;
    let mut done = Vec::new();
    let mut open = libbpf_rs::ObjectBuilder::default()
        .open_file(object)
        .map_err(|e| err(format!("cannot open `{}`", object.display()), e))?;
    for mut m in open.maps_mut() {
        let name = m.name().to_string_lossy().into_owned();
        if !keeps_state(&name) {
            continue;
        }
        let pin = maps_dir(dir).join(crate::config::pin_safe(&name));
        if pin.exists() {
            done.push(format!("map {name}: reusing {}", pin.display()));
        }
        m.set_pin_path(&pin)
            .map_err(|e| err(format!("cannot pin map `{name}`"), e))?;
    }
    let obj = open.load().map_err(|e| {
        err(
            format!("the kernel refused `{}`", object.display()),
            format!("{e} (a map whose definition changed cannot be reused: `ksc undeploy` first)"),
        )
    })?;
    for m in obj.maps() {
        let name = m.name().to_string_lossy().into_owned();
        if keeps_state(&name) && !done.iter().any(|d| d.starts_with(&format!("map {name}:"))) {
            done.push(format!(
                "map {name}: pinned at {}",
                maps_dir(dir).join(crate::config::pin_safe(&name)).display()
            ));
        }
    }
    let mut wanted_links = Vec::new();
    for p in &plan.programs {
        let prog = obj
            .progs()
            .find(|q| q.name() == p.name.as_str())
            .ok_or_else(|| Error(format!("the object has no program `{}`", p.name)))?;
        let prog_fd = prog.as_fd().as_raw_fd();
        let ppin = progs_dir(dir).join(&p.name);
        let _ = std::fs::remove_file(&ppin);
        let owned = prog
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| err("cannot duplicate a program fd", e))?;
        kernel::obj_pin(&owned, &ppin)
            .map_err(|e| err(format!("cannot pin `{}`", ppin.display()), e))?;
        let id = kernel::prog_info(prog_fd).map(|i| i.id).unwrap_or(0);
        done.push(format!(
            "program {}: loaded (id {id}), pinned at {}",
            p.name,
            ppin.display()
        ));
        for (a, t) in &p.attach {
            let pin_name = a.pin_name(&p.name);
            wanted_links.push(pin_name.clone());
            done.push(attach_or_update(dir, &p.name, prog_fd, a, t, &pin_name)?);
        }
    }
    // Attachments the file no longer lists go; with `auto_attach: false`
    // a redeploy keeps the ones `ksc attach` made, updated to the new code.
    for l in entries(&links_dir(dir)) {
        if wanted_links.contains(&l) {
            continue;
        }
        let prog = l.split('@').next().unwrap_or("");
        let listed = plan.programs.iter().find(|p| p.name == prog);
        match listed {
            Some(p) if p.attach.is_empty() => {
                let path = links_dir(dir).join(&l);
                let pfd = kernel::obj_get(&progs_dir(dir).join(&p.name))
                    .map_err(|e| err("cannot open the pinned program", e))?;
                if let Ok(link) = kernel::obj_get(&path) {
                    if kernel::link_update(&link, pfd.as_raw_fd()).is_ok() {
                        done.push(format!("link {l}: updated to the new program"));
                    }
                }
            }
            _ => {
                let _ = std::fs::remove_file(links_dir(dir).join(&l));
                done.push(format!("link {l}: detached (no longer listed)"));
            }
        }
    }
    for p in entries(&progs_dir(dir)) {
        if !plan.programs.iter().any(|q| q.name == p) {
            let _ = std::fs::remove_file(progs_dir(dir).join(&p));
            done.push(format!("program {p}: unpinned (no longer listed)"));
        }
    }
    Ok(done)
}

/// Attach `prog_fd` at `t`, pinned as `links/<pin_name>`. An existing pin
/// is updated in place (`bpf_link_update`); links the kernel cannot update
/// (perf-event ones: tracepoints, kprobes) get the new link attached before
/// the old one goes, so no event is missed.
fn attach_or_update(
    dir: &Path,
    prog: &str,
    prog_fd: i32,
    a: &Attach,
    t: &Target,
    pin_name: &str,
) -> Result<String, Error> {
    let path = links_dir(dir).join(pin_name);
    if let Ok(old) = kernel::obj_get(&path) {
        if kernel::link_update(&old, prog_fd).is_ok() {
            return Ok(format!(
                "link {pin_name}: {prog} replaced in place on {}",
                a.describe()
            ));
        }
        let new = match kernel::attach(prog_fd, t) {
            Ok(l) => l,
            // The hook takes one link (the old one could not be updated:
            // the program's type changed): replace it, with a gap.
            Err(e)
                if e.raw_os_error() == Some(libc::EBUSY)
                    || e.raw_os_error() == Some(libc::EEXIST) =>
            {
                let _ = std::fs::remove_file(&path);
                drop(old);
                let l = kernel::attach(prog_fd, t)
                    .map_err(|e| err(format!("cannot attach `{prog}` to {}", a.describe()), e))?;
                kernel::obj_pin(&l, &path).map_err(|e| err("cannot pin a link", e))?;
                return Ok(format!(
                    "link {pin_name}: {prog} replaced on {} (detached, then attached: the old link could not be updated)",
                    a.describe()
                ));
            }
            Err(e) => {
                return Err(err(
                    format!("cannot attach `{prog}` to {}", a.describe()),
                    e,
                ))
            }
        };
        let tmp = links_dir(dir).join(format!("new+{pin_name}"));
        let _ = std::fs::remove_file(&tmp);
        kernel::obj_pin(&new, &tmp).map_err(|e| err("cannot pin a link", e))?;
        std::fs::rename(&tmp, &path).map_err(|e| err("cannot replace a link's pin", e))?;
        drop(old);
        return Ok(format!(
            "link {pin_name}: {prog} attached anew on {} (old link detached after)",
            a.describe()
        ));
    }
    let link = kernel::attach(prog_fd, t).map_err(|e| {
        err(
            format!("the kernel refused to attach `{prog}` to {}", a.describe()),
            e,
        )
    })?;
    kernel::obj_pin(&link, &path)
        .map_err(|e| err(format!("cannot pin `{}`", path.display()), e))?;
    Ok(format!(
        "link {pin_name}: {prog} attached to {}",
        a.describe()
    ))
}

/// `ksc attach`: attach a deployed (pinned) program.
pub fn attach(dir: &Path, prog: &str, a: &Attach, t: &Target) -> Result<String, Error> {
    let ppin = progs_dir(dir).join(prog);
    let pfd = kernel::obj_get(&ppin).map_err(|e| {
        err(
            format!("program `{prog}` is not deployed (no `{}`)", ppin.display()),
            e,
        )
    })?;
    attach_or_update(dir, prog, pfd.as_raw_fd(), a, t, &a.pin_name(prog))
}

/// `ksc detach`: remove every link of `prog`.
pub fn detach(dir: &Path, prog: &str) -> Result<Vec<String>, Error> {
    let mut done = Vec::new();
    for l in entries(&links_dir(dir)) {
        if l.split('@').next() == Some(prog) {
            std::fs::remove_file(links_dir(dir).join(&l))
                .map_err(|e| err(format!("cannot remove the link pin `{l}`"), e))?;
            done.push(format!("link {l}: detached"));
        }
    }
    if done.is_empty() {
        return Err(Error(format!(
            "program `{prog}` has no attachment in `{}`",
            dir.display()
        )));
    }
    Ok(done)
}

/// `ksc undeploy`: stop the userspace side, detach, unpin; the maps go too
/// unless `keep_maps`.
pub fn undeploy(dir: &Path, keep_maps: bool) -> Result<Vec<String>, Error> {
    let mut done = Vec::new();
    if !dir.exists() {
        return Err(Error(format!("nothing is deployed at `{}`", dir.display())));
    }
    if let Some(s) = crate::supervisor::stop(dir) {
        done.push(s);
    }
    for l in entries(&links_dir(dir)) {
        let _ = std::fs::remove_file(links_dir(dir).join(&l));
        done.push(format!("link {l}: detached"));
    }
    for p in entries(&progs_dir(dir)) {
        let _ = std::fs::remove_file(progs_dir(dir).join(&p));
        done.push(format!("program {p}: unpinned"));
    }
    let _ = std::fs::remove_dir(links_dir(dir));
    let _ = std::fs::remove_dir(progs_dir(dir));
    if keep_maps {
        done.push(format!(
            "maps kept in {} (cleanup_on_exit: false)",
            maps_dir(dir).display()
        ));
    } else {
        for m in entries(&maps_dir(dir)) {
            let _ = std::fs::remove_file(maps_dir(dir).join(&m));
            done.push(format!("map {m}: unpinned"));
        }
        let _ = std::fs::remove_dir(maps_dir(dir));
        let _ = std::fs::remove_dir(dir);
    }
    Ok(done)
}

/// What `ksc status` shows: read from the pins and the kernel.
#[derive(Debug, Default, serde::Serialize)]
pub struct Status {
    pub dir: String,
    pub deployed: bool,
    pub programs: Vec<ProgStatus>,
    pub links: Vec<LinkStatus>,
    pub maps: Vec<MapStatus>,
    pub userspace: Option<UserspaceStatus>,
}

#[derive(Debug, serde::Serialize)]
pub struct ProgStatus {
    pub name: String,
    pub id: u32,
    pub kernel_name: String,
}

#[derive(Debug, serde::Serialize)]
pub struct LinkStatus {
    pub pin: String,
    pub program: String,
    pub attach_point: String,
    pub link: Option<kernel::LinkInfo>,
    pub interface: Option<String>,
}

#[derive(Debug, serde::Serialize)]
pub struct MapStatus {
    pub name: String,
    pub id: u32,
    pub map_type: u32,
    pub max_entries: u32,
}

#[derive(Debug, serde::Serialize)]
pub struct UserspaceStatus {
    /// `ksc` (its own supervisor) or `systemd` (a unit).
    pub manager: &'static str,
    /// The ksc supervisor's pid (0 under systemd).
    pub supervisor_pid: u32,
    pub supervisor_running: bool,
    pub pid: u32,
    pub running: bool,
}

fn ifname(index: u32) -> Option<String> {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: the buffer is IF_NAMESIZE long.
    let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: if_indextoname wrote a NUL-terminated name.
    Some(
        unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned(),
    )
}

pub fn status(dir: &Path) -> Status {
    let mut s = Status {
        dir: dir.display().to_string(),
        deployed: dir.exists(),
        ..Default::default()
    };
    for p in entries(&progs_dir(dir)) {
        if let Ok(fd) = kernel::obj_get(&progs_dir(dir).join(&p)) {
            let info = kernel::prog_info(fd.as_raw_fd()).unwrap_or_default();
            s.programs.push(ProgStatus {
                name: p,
                id: info.id,
                kernel_name: info.name,
            });
        }
    }
    for l in entries(&links_dir(dir)) {
        let (program, at) = l.split_once('@').unwrap_or((&l, ""));
        let link = kernel::obj_get(&links_dir(dir).join(&l))
            .ok()
            .and_then(|fd| kernel::link_info(&fd).ok());
        let interface = link.as_ref().and_then(|i| i.ifindex).and_then(ifname);
        s.links.push(LinkStatus {
            pin: l.clone(),
            program: program.to_string(),
            attach_point: at.to_string(),
            link,
            interface,
        });
    }
    for m in entries(&maps_dir(dir)) {
        if let Ok(fd) = kernel::obj_get(&maps_dir(dir).join(&m)) {
            let info = kernel::map_info(&fd).unwrap_or_default();
            s.maps.push(MapStatus {
                name: m,
                id: info.id,
                map_type: info.map_type,
                max_entries: info.max_entries,
            });
        }
    }
    s.userspace = crate::systemd::main_pid(dir)
        .map(|(pid, active)| UserspaceStatus {
            manager: "systemd",
            supervisor_pid: 0,
            supervisor_running: active,
            pid,
            running: active && pid != 0,
        })
        .or_else(|| supervisor_status(dir));
    s
}

fn supervisor_status(dir: &Path) -> Option<UserspaceStatus> {
    crate::supervisor::pids(dir).map(|(sup, child)| UserspaceStatus {
        manager: "ksc",
        supervisor_pid: sup,
        supervisor_running: crate::supervisor::alive(sup),
        pid: child,
        running: child != 0 && crate::supervisor::alive(child),
    })
}

impl Status {
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut o = String::new();
        if !self.deployed {
            let _ = writeln!(o, "nothing deployed at {}", self.dir);
            return o;
        }
        let _ = writeln!(o, "deployment at {}", self.dir);
        let _ = writeln!(o, "programs:");
        for p in &self.programs {
            let _ = writeln!(o, "  {} (id {})", p.name, p.id);
        }
        let _ = writeln!(o, "links:");
        for l in &self.links {
            match &l.link {
                Some(k) => {
                    let _ = writeln!(
                        o,
                        "  {} -> {} ({} link id {}, program id {}{})",
                        l.program,
                        l.attach_point,
                        k.kind,
                        k.id,
                        k.prog_id,
                        l.interface
                            .as_ref()
                            .map(|i| format!(", interface {i}"))
                            .unwrap_or_default()
                    );
                }
                None => {
                    let _ = writeln!(o, "  {} -> {} (pin unreadable)", l.program, l.attach_point);
                }
            }
        }
        let _ = writeln!(o, "maps:");
        for m in &self.maps {
            let _ = writeln!(
                o,
                "  {} (id {}, type {}, {} entries)",
                m.name, m.id, m.map_type, m.max_entries
            );
        }
        match &self.userspace {
            Some(u) if u.manager == "systemd" => {
                let _ = writeln!(
                    o,
                    "userspace: systemd unit {} ({}), process pid {}",
                    crate::systemd::unit_name(Path::new(&self.dir)),
                    if u.supervisor_running {
                        "active"
                    } else {
                        "inactive"
                    },
                    u.pid
                );
            }
            Some(u) => {
                let _ = writeln!(
                    o,
                    "userspace: supervisor pid {} ({}), process pid {} ({})",
                    u.supervisor_pid,
                    if u.supervisor_running {
                        "running"
                    } else {
                        "gone"
                    },
                    u.pid,
                    if u.running { "running" } else { "not running" }
                );
            }
            None => {
                let _ = writeln!(o, "userspace: not supervised");
            }
        }
        o
    }
}
