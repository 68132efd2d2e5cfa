//! The fleet path: `ksc package` writes a bpfman bytecode image (OCI image
//! layout), `--push` sends it to a registry, `ksc deploy --emit=bpfman`
//! writes the BpfApplication; and the real bpfman loads the image from a
//! local registry (127.0.0.1 only) and attaches it to a test veth.

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use ksc_testkit::require;

mod deploy_common;
use deploy_common::{example, map_value, root, sh, Case, Veth};

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn blob(layout: &Path, digest: &str) -> std::path::PathBuf {
    layout
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
}

#[test]
fn package_writes_a_bytecode_image_with_labels_from_the_ir() {
    let case = Case::new("pkg", &example("xdp_firewall.ks"), "");
    case.ok(&["package", "prog.ks", "--oci", "img"]);
    let img = case.dir.join("img");
    assert_eq!(json(&img.join("oci-layout"))["imageLayoutVersion"], "1.0.0");
    let index = json(&img.join("index.json"));
    let m = &index["manifests"][0];
    assert_eq!(
        m["annotations"]["org.opencontainers.image.ref.name"],
        "latest"
    );
    let manifest = json(&blob(&img, m["digest"].as_str().unwrap()));
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "{manifest}");
    assert_eq!(
        layers[0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    let config = json(&blob(&img, manifest["config"]["digest"].as_str().unwrap()));
    let labels = &config["config"]["Labels"];
    let progs: serde_json::Value =
        serde_json::from_str(labels["io.ebpf.programs"].as_str().unwrap()).unwrap();
    assert_eq!(progs, serde_json::json!({"firewall_filter": "xdp"}));
    let maps: serde_json::Value =
        serde_json::from_str(labels["io.ebpf.maps"].as_str().unwrap()).unwrap();
    assert_eq!(
        maps,
        serde_json::json!({"proto_counts": "percpu_array", "dropped": "array"})
    );
    // The layer: the object, alone, at the root.
    let x = case.dir.join("x");
    std::fs::create_dir_all(&x).unwrap();
    let o = sh(&format!(
        "tar -xzf {} -C {} && ls -A {}",
        blob(&img, layers[0]["digest"].as_str().unwrap()).display(),
        x.display(),
        x.display()
    ));
    assert_eq!(o.trim(), "prog.o");
    assert_eq!(
        std::fs::read(x.join("prog.o")).unwrap(),
        std::fs::read(case.dir.join("out/prog/prog.ebpf.o")).unwrap()
    );
    // An independent reader of the layout agrees.
    if ksc_testkit::command("skopeo").is_ok() {
        let o = sh(&format!(
            "skopeo inspect --config oci:{}:latest",
            img.display()
        ));
        assert!(o.contains("io.ebpf.programs"), "skopeo: {o}");
    }
}

#[test]
fn emit_bpfman_writes_a_bpf_application() {
    let yaml = "apiVersion: kernelscript.dev/v1
kind: ProgramDeployment
metadata:
  name: counters
spec:
  source: prog.ks
  image: registry.example/ksc/tc_counter:v1
  programs:
    - name: ingress_counter
      type: tc
      attach:
        interfaces: [ens1f0]
";
    let case = Case::new("emit", &example("tc_counter.ks"), yaml);
    let out = case.ok(&["deploy", "--emit=bpfman"]);
    for want in [
        "apiVersion: bpfman.io/v1alpha1",
        "kind: BpfApplication",
        "name: \"counters\"",
        "url: \"registry.example/ksc/tc_counter:v1\"",
        "- type: TC",
        "bpffunctionname: ingress_counter",
        "interfaces: [\"ens1f0\"]",
        "direction: ingress",
    ] {
        assert!(out.contains(want), "no `{want}` in:\n{out}");
    }
    // Nothing was deployed.
    assert!(!case.pins().exists());
}

/// Debian's docker-registry on 127.0.0.1 with a self-signed certificate
/// (bpfman pulls over HTTPS only); killed on drop.
struct Registry {
    child: Child,
    addr: String,
    cert: std::path::PathBuf,
}

impl Registry {
    fn start(dir: &Path) -> Registry {
        let cert = dir.join("cert.pem");
        let key = dir.join("key.pem");
        let o = sh(&format!(
            "openssl req -x509 -newkey rsa:2048 -nodes -keyout {} -out {} -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>&1",
            key.display(),
            cert.display()
        ));
        assert!(cert.exists(), "openssl: {o}");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let cfg = dir.join("registry.yml");
        std::fs::write(
            &cfg,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}\n  tls:\n    certificate: {}\n    key: {}\n",
                dir.join("registry").display(),
                cert.display(),
                key.display()
            ),
        )
        .unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&cfg)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let t = Instant::now();
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "the registry did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Registry { child, addr, cert }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn package_and_push(case: &Case, reg: &Registry, image: &str) {
    let o = Command::new(env!("CARGO_BIN_EXE_ksc"))
        .args(["package", "prog.ks", "--oci", "img", "--push", image])
        .current_dir(&case.dir)
        .env("KSC_PLUGIN_PATH", deploy_common::plugin_dir())
        .env("SSL_CERT_FILE", &reg.cert)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "ksc package --push: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn package_pushes_to_a_local_registry() {
    require!(ksc_testkit::command("docker-registry"));
    require!(ksc_testkit::command("skopeo"));
    require!(ksc_testkit::command("openssl"));
    let case = Case::new("push", &example("tc_counter.ks"), "");
    let reg = Registry::start(&case.dir);
    let image = format!("{}/ksc/tc_counter:v1", reg.addr);
    package_and_push(&case, &reg, &image);
    let o = Command::new("skopeo")
        .args(["inspect", "--config", &format!("docker://{image}")])
        .env("SSL_CERT_FILE", &reg.cert)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        text.contains("io.ebpf.programs") && text.contains("ingress_counter"),
        "{text}"
    );
}

fn bpfman() -> Result<std::path::PathBuf, String> {
    if ksc_testkit::command("bpfman").is_ok() {
        return Ok("bpfman".into());
    }
    let p = Path::new("/opt/bpfman/bin/bpfman");
    if p.exists() {
        Ok(p.into())
    } else {
        Err(
            "bpfman is not installed (cargo install bpfman --version '^0.6'; .ci/setup does)"
                .into(),
        )
    }
}

/// bpfman refuses to run unless it can raise RLIMIT_MEMLOCK to infinity.
/// Kernels since 5.11 charge BPF memory to the memory cgroup instead, so
/// the limit is moot; but a sandbox without CAP_SYS_RESOURCE (this
/// machine's) cannot raise it. Where it cannot, a preloaded shim lets that
/// one failing call succeed (every other setrlimit is the real one).
fn memlock_shim(dir: &Path) -> Option<std::path::PathBuf> {
    let can = sh("prlimit --memlock=unlimited:unlimited --pid $$ && echo raised");
    if can.contains("raised") {
        return None;
    }
    let c = dir.join("memlock_shim.c");
    let so = dir.join("memlock_shim.so");
    std::fs::write(
        &c,
        r#"#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/resource.h>
typedef int (*setrlimit_fn)(__rlimit_resource_t, const struct rlimit *);
static int call(const char *name, __rlimit_resource_t r, const struct rlimit *l) {
    setrlimit_fn real = (setrlimit_fn)dlsym(RTLD_NEXT, name);
    int rc = real(r, l);
    return (rc != 0 && r == RLIMIT_MEMLOCK) ? 0 : rc;
}
int setrlimit(__rlimit_resource_t r, const struct rlimit *l) { return call("setrlimit", r, l); }
int setrlimit64(__rlimit_resource_t r, const struct rlimit64 *l) { return call("setrlimit64", r, (const struct rlimit *)l); }
"#,
    )
    .unwrap();
    let o = sh(&format!(
        "cc -shared -fPIC -o {} {} -ldl 2>&1",
        so.display(),
        c.display()
    ));
    assert!(so.exists(), "cannot build the memlock shim: {o}");
    Some(so)
}

#[test]
fn bpfman_loads_the_packaged_image_from_a_local_registry() {
    require!(root());
    require!(ksc_testkit::bpffs());
    require!(bpfman().map(|_| ()));
    require!(ksc_testkit::command("docker-registry"));
    require!(ksc_testkit::command("skopeo"));
    require!(ksc_testkit::command("openssl"));
    let bpfman = bpfman().unwrap();
    let case = Case::new("bpfman", &example("tc_counter.ks"), "");
    let reg = Registry::start(&case.dir);
    let image = format!("{}/ksc/tc_counter:latest", reg.addr);
    package_and_push(&case, &reg, &image);
    // bpfman's signature check fetches Sigstore's trust root from the
    // network: off for this unsigned local image.
    let cfg = Path::new("/etc/bpfman/bpfman.toml");
    let wrote_cfg = !cfg.exists();
    if wrote_cfg {
        std::fs::create_dir_all("/etc/bpfman").unwrap();
        std::fs::write(
            cfg,
            "[signing]\nallow_unsigned = true\nverify_enabled = false\n",
        )
        .unwrap();
    }
    let shim = memlock_shim(&case.dir);
    let run = |args: &[&str]| {
        let mut cmd = Command::new(&bpfman);
        cmd.args(args).env("SSL_CERT_FILE", &reg.cert);
        if let Some(s) = &shim {
            cmd.env("LD_PRELOAD", s);
        }
        let o = cmd.output().unwrap();
        let text =
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
        (o.status.success(), text)
    };
    let (ok, out) = run(&[
        "load",
        "image",
        "--image-url",
        &image,
        "--programs",
        "tcx:ingress_counter",
        "--pull-policy",
        "Always",
    ]);
    let id: Option<u32> = out
        .lines()
        .find(|l| l.contains("Program ID"))
        .and_then(|l| {
            l.split(|c: char| !c.is_ascii_digit())
                .find(|w| !w.is_empty())
        })
        .and_then(|w| w.parse().ok());
    let result = std::panic::catch_unwind(|| {
        assert!(ok, "bpfman load image:\n{out}");
        let id = id.unwrap_or_else(|| panic!("no program id in:\n{out}"));
        let v = Veth::new();
        let (ok, out) = run(&[
            "attach",
            &id.to_string(),
            "tcx",
            "--iface",
            &v.host,
            "--direction",
            "ingress",
            "--priority",
            "50",
        ]);
        assert!(ok, "bpfman attach:\n{out}");
        sh(&v.udp_cmd(6000, 4, 1));
        let stats = Path::new("/run/bpfman/fs/maps")
            .join(id.to_string())
            .join("stats");
        let counted = map_value(&stats, 2);
        assert!(
            counted >= 4,
            "ingress packets counted through bpfman: {counted}"
        );
    });
    if let Some(id) = id {
        let (ok, out) = run(&["unload", &id.to_string()]);
        assert!(ok, "bpfman unload:\n{out}");
    }
    if wrote_cfg {
        let _ = std::fs::remove_file(cfg);
    }
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
