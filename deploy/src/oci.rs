//! Fleets: the eBPF object as a bpfman bytecode image (an OCI image layout:
//! one tar+gzip layer with the `.o` at its root, config labels
//! `io.ebpf.programs` and `io.ebpf.maps` computed from the IR), and the
//! `BpfApplication` resource bpfman's operator takes.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use ksc_ir::{MapKind, Module, ProgramType};
use oci_spec::image::{
    ConfigBuilder, DescriptorBuilder, ImageConfigurationBuilder, ImageIndexBuilder,
    ImageManifestBuilder, MediaType, RootFsBuilder, SCHEMA_VERSION,
};
use sha2::{Digest, Sha256};

use crate::config::{Attach, Deployment};
use crate::ops::Error;

/// bpfman's word for a program type: the deployment file's words are
/// bpfman's (`xdp`, `tc`, `tracepoint`, `kprobe`, ...).
pub fn bpfman_type(t: &ProgramType) -> &'static str {
    crate::plan::type_word(t)
}

fn map_type(k: &MapKind) -> &'static str {
    match k {
        MapKind::Hash => "hash",
        MapKind::Array => "array",
        MapKind::PercpuHash => "percpu_hash",
        MapKind::PercpuArray => "percpu_array",
        MapKind::LruHash => "lru_hash",
        MapKind::Ringbuf => "ringbuf",
        MapKind::ProgArray => "prog_array",
    }
}

/// The `io.ebpf.programs` and `io.ebpf.maps` label values (JSON objects
/// as strings, as bpfman reads them).
pub fn labels(m: &Module) -> (String, String) {
    let progs: BTreeMap<&str, &str> = crate::plan::programs(m)
        .into_iter()
        .map(|(n, t, _)| (n, bpfman_type(t)))
        .collect();
    let maps: BTreeMap<&str, &str> = m
        .maps
        .iter()
        .map(|mp| (mp.name.as_str(), map_type(&mp.kind)))
        .collect();
    (
        serde_json::to_string(&progs).unwrap_or_default(),
        serde_json::to_string(&maps).unwrap_or_default(),
    )
}

fn sha256(b: &[u8]) -> String {
    let d = Sha256::digest(b);
    d.iter().map(|x| format!("{x:02x}")).collect()
}

fn blob(dir: &Path, bytes: &[u8]) -> Result<String, Error> {
    let hex = sha256(bytes);
    let p = dir.join("blobs/sha256").join(&hex);
    std::fs::write(&p, bytes).map_err(|e| Error(format!("cannot write `{}`: {e}", p.display())))?;
    Ok(format!("sha256:{hex}"))
}

fn oci_err(e: impl std::fmt::Display) -> Error {
    Error(format!("cannot build the image description: {e}"))
}

/// Write the image layout for `object` (the built `.o`) to `dir`, tagged
/// `tag`. Returns the manifest's digest.
pub fn package(m: &Module, object: &Path, dir: &Path, tag: &str) -> Result<String, Error> {
    let obj = std::fs::read(object)
        .map_err(|e| Error(format!("cannot read `{}`: {e}", object.display())))?;
    std::fs::create_dir_all(dir.join("blobs/sha256"))
        .map_err(|e| Error(format!("cannot create `{}`: {e}", dir.display())))?;
    let file_name = format!("{}.o", m.name);
    // The layer: a tar with the object at its root, gzipped.
    let mut tar_bytes = Vec::new();
    {
        let mut t = tar::Builder::new(&mut tar_bytes);
        let mut h = tar::Header::new_gnu();
        h.set_size(obj.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_cksum();
        t.append_data(&mut h, &file_name, obj.as_slice())
            .map_err(|e| Error(format!("cannot write the layer: {e}")))?;
        t.finish()
            .map_err(|e| Error(format!("cannot write the layer: {e}")))?;
    }
    let diff_id = format!("sha256:{}", sha256(&tar_bytes));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar_bytes)
        .map_err(|e| Error(format!("cannot compress the layer: {e}")))?;
    let layer = gz
        .finish()
        .map_err(|e| Error(format!("cannot compress the layer: {e}")))?;
    let layer_digest = blob(dir, &layer)?;

    let (progs, maps) = labels(m);
    let mut lbl = std::collections::HashMap::new();
    lbl.insert("io.ebpf.programs".to_string(), progs);
    lbl.insert("io.ebpf.maps".to_string(), maps);
    lbl.insert("io.kernelscript.source".to_string(), m.source_path.clone());
    let config = ImageConfigurationBuilder::default()
        .architecture(oci_spec::image::Arch::Amd64)
        .os(oci_spec::image::Os::Linux)
        .config(
            ConfigBuilder::default()
                .labels(lbl)
                .build()
                .map_err(oci_err)?,
        )
        .rootfs(
            RootFsBuilder::default()
                .typ("layers")
                .diff_ids(vec![diff_id])
                .build()
                .map_err(oci_err)?,
        )
        .build()
        .map_err(oci_err)?;
    let config_json = serde_json::to_vec(&config).map_err(oci_err)?;
    let config_digest = blob(dir, &config_json)?;

    let manifest = ImageManifestBuilder::default()
        .schema_version(SCHEMA_VERSION)
        .media_type(MediaType::ImageManifest)
        .config(
            DescriptorBuilder::default()
                .media_type(MediaType::ImageConfig)
                .digest(
                    config_digest
                        .parse::<oci_spec::image::Digest>()
                        .map_err(oci_err)?,
                )
                .size(config_json.len() as u64)
                .build()
                .map_err(oci_err)?,
        )
        .layers(vec![DescriptorBuilder::default()
            .media_type(MediaType::ImageLayerGzip)
            .digest(
                layer_digest
                    .parse::<oci_spec::image::Digest>()
                    .map_err(oci_err)?,
            )
            .size(layer.len() as u64)
            .build()
            .map_err(oci_err)?])
        .build()
        .map_err(oci_err)?;
    let manifest_json = serde_json::to_vec(&manifest).map_err(oci_err)?;
    let manifest_digest = blob(dir, &manifest_json)?;
    let mut ann = std::collections::HashMap::new();
    ann.insert(
        "org.opencontainers.image.ref.name".to_string(),
        tag.to_string(),
    );
    let index = ImageIndexBuilder::default()
        .schema_version(SCHEMA_VERSION)
        .media_type(MediaType::ImageIndex)
        .manifests(vec![DescriptorBuilder::default()
            .media_type(MediaType::ImageManifest)
            .digest(
                manifest_digest
                    .parse::<oci_spec::image::Digest>()
                    .map_err(oci_err)?,
            )
            .size(manifest_json.len() as u64)
            .annotations(ann)
            .build()
            .map_err(oci_err)?])
        .build()
        .map_err(oci_err)?;
    let w = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.join(name), bytes)
            .map_err(|e| Error(format!("cannot write `{name}`: {e}")))
    };
    w("index.json", &serde_json::to_vec(&index).map_err(oci_err)?)?;
    w("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    Ok(manifest_digest)
}

/// Push the layout at `dir` (tag `tag`) to `reference` with skopeo (the
/// registry protocol and its authentication are skopeo's business).
pub fn push(dir: &Path, tag: &str, reference: &str) -> Result<(), Error> {
    let out = std::process::Command::new("skopeo")
        .arg("copy")
        .arg("--quiet")
        .arg(format!("oci:{}:{tag}", dir.display()))
        .arg(format!("docker://{reference}"))
        .output()
        .map_err(|e| {
            Error(format!(
                "cannot run `skopeo` to push (install it: apt-get install skopeo): {e}"
            ))
        })?;
    if !out.status.success() {
        return Err(Error(format!(
            "pushing to `{reference}` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

fn yq(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// The `BpfApplication` (bpfman.io/v1alpha1) for deployment `d` of `m`,
/// with bytecode from `image`.
pub fn bpf_application(d: &Deployment, m: &Module, image: &str) -> String {
    let mut o = String::new();
    o.push_str("apiVersion: bpfman.io/v1alpha1\nkind: BpfApplication\nmetadata:\n");
    o.push_str(&format!("  name: {}\n", yq(&d.name.value)));
    o.push_str("  labels:\n    app.kubernetes.io/managed-by: ksc\n");
    o.push_str("spec:\n  nodeselector: {}\n  bytecode:\n    image:\n");
    o.push_str(&format!(
        "      url: {}\n      imagepullpolicy: IfNotPresent\n",
        yq(image)
    ));
    o.push_str("  programs:\n");
    let progs = crate::plan::programs(m);
    for p in &d.programs {
        let Some((name, ty, _)) = progs.iter().find(|(n, _, _)| *n == p.name.value) else {
            continue;
        };
        let ifaces: Vec<String> = p
            .attach
            .iter()
            .filter_map(|a| match &a.value {
                Attach::Interface(i) => Some(yq(i)),
                _ => None,
            })
            .collect();
        match ty {
            ProgramType::Xdp => {
                o.push_str(&format!(
                    "    - type: XDP\n      xdp:\n        bpffunctionname: {name}\n        interfaceselector:\n          interfaces: [{}]\n        priority: 50\n",
                    ifaces.join(", ")
                ));
            }
            ProgramType::Tc { ingress } => {
                o.push_str(&format!(
                    "    - type: TC\n      tc:\n        bpffunctionname: {name}\n        interfaceselector:\n          interfaces: [{}]\n        direction: {}\n        priority: 50\n",
                    ifaces.join(", "),
                    if *ingress { "ingress" } else { "egress" }
                ));
            }
            ProgramType::Tracepoint { category, event } => {
                let mut names: Vec<String> = p
                    .attach
                    .iter()
                    .filter_map(|a| match &a.value {
                        Attach::Tracepoint(t) => Some(yq(t)),
                        _ => None,
                    })
                    .collect();
                if names.is_empty() {
                    names.push(yq(&format!("{category}/{event}")));
                }
                o.push_str(&format!(
                    "    - type: TracePoint\n      tracepoint:\n        bpffunctionname: {name}\n        names: [{}]\n",
                    names.join(", ")
                ));
            }
            ProgramType::Probe { function, offset } => {
                o.push_str(&format!(
                    "    - type: Kprobe\n      kprobe:\n        bpffunctionname: {name}\n        func_name: {}\n        offset: {}\n        retprobe: false\n",
                    yq(function),
                    offset.unwrap_or(0)
                ));
            }
            _ => {
                o.push_str(&format!(
                    "    # {name}: a {} program; bpfman's BpfApplication has no attach point for it\n",
                    bpfman_type(ty)
                ));
            }
        }
    }
    o
}
