//! The userspace side under systemd: where systemd runs the machine
//! (`/run/systemd/system` exists, as sd_booted(3) asks), `auto_start`
//! writes a runtime unit `ksc-<deployment>.service` whose `Restart=`
//! follows `restart_policy`, and starts it with `systemctl`; undeploy stops
//! it and removes the unit. Runtime units (under `/run`) vanish at reboot,
//! as the deployment's pins on bpffs do.
//!
//! `$KSC_SYSTEMD_UNIT_DIR` replaces `/run/systemd/system` (the tests point
//! it at a scratch directory and put a `systemctl` of their own first on
//! `PATH`: this machine has no systemd).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::RestartPolicy;
use crate::ops::Error;

/// Where runtime units go; its existence says systemd runs the machine.
pub fn unit_dir() -> PathBuf {
    match std::env::var_os("KSC_SYSTEMD_UNIT_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from("/run/systemd/system"),
    }
}

/// Whether systemd runs this machine.
pub fn running() -> bool {
    unit_dir().is_dir()
}

/// The unit of the deployment pinned at `dir` (named after its directory).
pub fn unit_name(dir: &Path) -> String {
    let base = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Unit names take [A-Za-z0-9:_.\-]; anything else becomes `_`.
    let clean: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("ksc-{clean}.service")
}

fn unit_path(dir: &Path) -> PathBuf {
    unit_dir().join(unit_name(dir))
}

/// One word of `ExecStart=`, quoted as systemd.service(5) reads it
/// (`%` and `$` would otherwise be expanded).
fn quote(word: &str) -> String {
    let mut q = String::from("\"");
    for c in word.chars() {
        match c {
            '"' | '\\' => {
                q.push('\\');
                q.push(c);
            }
            '%' => q.push_str("%%"),
            '$' => q.push_str("$$"),
            _ => q.push(c),
        }
    }
    q.push('"');
    q
}

/// The unit's text.
pub fn unit_text(
    deployment: &str,
    policy: RestartPolicy,
    log: &Path,
    exe: &Path,
    args: &[String],
) -> String {
    let restart = match policy {
        RestartPolicy::Always => "always",
        RestartPolicy::OnFailure => "on-failure",
        RestartPolicy::Never => "no",
    };
    let mut exec = quote(&exe.to_string_lossy());
    for a in args {
        exec.push(' ');
        exec.push_str(&quote(a));
    }
    let log = log.to_string_lossy();
    format!(
        "# Written by `ksc deploy` for the deployment `{deployment}`; removed by `ksc undeploy`.\n\
         [Unit]\n\
         Description=KernelScript deployment {deployment} (userspace)\n\
         \n\
         [Service]\n\
         Type=simple\n\
         ExecStart={exec}\n\
         Restart={restart}\n\
         RestartSec=1s\n\
         StandardOutput=append:{log}\n\
         StandardError=append:{log}\n"
    )
}

fn systemctl(args: &[&str]) -> Result<String, Error> {
    let out = Command::new("systemctl")
        .args(args)
        .output()
        .map_err(|e| Error(format!("cannot run `systemctl`: {e}")))?;
    if !out.status.success() {
        return Err(Error(format!(
            "`systemctl {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Write the unit and (re)start it.
pub fn start(
    dir: &Path,
    deployment: &str,
    policy: RestartPolicy,
    log: &Path,
    exe: &Path,
    args: &[String],
) -> Result<String, Error> {
    let path = unit_path(dir);
    std::fs::write(&path, unit_text(deployment, policy, log, exe, args))
        .map_err(|e| Error(format!("cannot write the unit {}: {e}", path.display())))?;
    let unit = unit_name(dir);
    systemctl(&["daemon-reload"])?;
    // restart: a redeploy runs the newly built program.
    systemctl(&["restart", &unit])?;
    Ok(format!(
        "userspace: {} started as the systemd unit {unit} (Restart={}), output in {}",
        exe.display(),
        match policy {
            RestartPolicy::Never => "no",
            p => p.as_str(),
        },
        log.display()
    ))
}

/// Stop and remove the deployment's unit, if it has one.
pub fn stop(dir: &Path) -> Option<String> {
    let path = unit_path(dir);
    if !path.exists() {
        return None;
    }
    let unit = unit_name(dir);
    let stopped = systemctl(&["stop", &unit]);
    let _ = std::fs::remove_file(&path);
    let _ = systemctl(&["daemon-reload"]);
    Some(match stopped {
        Ok(_) => format!("userspace: systemd unit {unit} stopped and removed"),
        Err(e) => format!("userspace: systemd unit {unit} removed ({e})"),
    })
}

/// The unit's main pid and whether it is active, if the deployment has one.
pub fn main_pid(dir: &Path) -> Option<(u32, bool)> {
    if !unit_path(dir).exists() {
        return None;
    }
    let out = systemctl(&[
        "show",
        "--property=MainPID",
        "--property=ActiveState",
        &unit_name(dir),
    ])
    .ok()?;
    let mut pid = 0;
    let mut active = false;
    for line in out.lines() {
        match line.split_once('=') {
            Some(("MainPID", v)) => pid = v.trim().parse().unwrap_or(0),
            Some(("ActiveState", v)) => active = v.trim() == "active",
            _ => {}
        }
    }
    Some((pid, active))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unit_restarts_per_policy_and_quotes_its_command() {
        let t = unit_text(
            "web",
            RestartPolicy::Never,
            Path::new("/run/ksc/web.log"),
            Path::new("/opt/x/prog"),
            &["--interface".into(), "a b%$\"".into()],
        );
        assert!(t.contains("Restart=no\n"), "{t}");
        assert!(
            t.contains(r#"ExecStart="/opt/x/prog" "--interface" "a b%%$$\"""#),
            "{t}"
        );
        assert!(
            t.contains("StandardOutput=append:/run/ksc/web.log\n"),
            "{t}"
        );
        let t = unit_text(
            "web",
            RestartPolicy::OnFailure,
            Path::new("/l"),
            Path::new("/p"),
            &[],
        );
        assert!(t.contains("Restart=on-failure\n"), "{t}");
        assert_eq!(
            unit_name(Path::new("/sys/fs/bpf/ksc/my app")),
            "ksc-my_app.service"
        );
    }
}
