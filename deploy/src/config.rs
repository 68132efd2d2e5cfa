//! The deployment file (`kind: ProgramDeployment`, the spec's tooling
//! section; every field and default in docs/deploy.md), read with
//! `marked-yaml` so that every value keeps its line and column: each error
//! about the file is a [`Diagnostic`] pointing into it.

use ksc_frontend::diag::codes;
use ksc_frontend::Diagnostic;
use ksc_ir::{FileId, Span};
use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode};
use marked_yaml::{LoadError, Node};

/// A value with where it is written in the deployment file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    pub span: Span,
}

/// `spec.global_maps`.
#[derive(Clone, Debug)]
pub struct GlobalMaps {
    /// The deployment's directory on bpffs; default `/sys/fs/bpf/ksc/<name>`.
    pub pin_path: Option<Located<String>>,
    /// `undeploy` removes the pinned maps too (default `true`).
    pub cleanup_on_exit: bool,
}

/// `restart_policy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartPolicy {
    Always,
    OnFailure,
    Never,
}

impl RestartPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            RestartPolicy::Always => "always",
            RestartPolicy::OnFailure => "on-failure",
            RestartPolicy::Never => "never",
        }
    }

    pub fn parse(s: &str) -> Option<RestartPolicy> {
        match s {
            "always" => Some(RestartPolicy::Always),
            "on-failure" | "on_failure" => Some(RestartPolicy::OnFailure),
            "never" => Some(RestartPolicy::Never),
            _ => None,
        }
    }
}

/// `spec.userspace`.
#[derive(Clone, Debug)]
pub struct Userspace {
    /// Start the program's `main` supervised after deploying (default `false`).
    pub auto_start: bool,
    /// Default `on-failure`.
    pub restart_policy: RestartPolicy,
    /// Command-line arguments for `main`.
    pub args: Vec<String>,
}

/// One attach point of a program, as the file writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attach {
    /// `interfaces:` (XDP, TC).
    Interface(String),
    /// `tracepoints:` `category/event`.
    Tracepoint(String),
    /// `hooks:` (LSM).
    Hook(String),
    /// `functions:` (kprobes).
    Function(String),
}

impl Attach {
    /// The name of the link's pin under `links/` (bpffs refuses `.` in
    /// names).
    pub fn pin_name(&self, program: &str) -> String {
        let target = match self {
            Attach::Interface(i) => format!("if:{i}"),
            Attach::Tracepoint(t) => format!("tp:{}", t.replace('/', ":")),
            Attach::Hook(h) => format!("lsm:{h}"),
            Attach::Function(f) => format!("fn:{f}"),
        };
        crate::config::pin_safe(&format!("{program}@{target}"))
    }

    pub fn describe(&self) -> String {
        match self {
            Attach::Interface(i) => format!("interface {i}"),
            Attach::Tracepoint(t) => format!("tracepoint {t}"),
            Attach::Hook(h) => format!("LSM hook {h}"),
            Attach::Function(f) => format!("function {f}"),
        }
    }
}

/// A name bpffs accepts: it reserves `.` (libbpf's internal maps are
/// `.bss`, `.data.NAME`).
pub fn pin_safe(name: &str) -> String {
    name.trim_start_matches('.').replace('.', "_")
}

/// XDP `mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XdpMode {
    /// The kernel chooses (driver mode where the driver has it).
    Default,
    Native,
    Generic,
    Offload,
}

/// One entry of `spec.programs`.
#[derive(Clone, Debug)]
pub struct ProgramSpec {
    pub name: Located<String>,
    pub ty: Located<String>,
    pub attach: Vec<Located<Attach>>,
    pub mode: XdpMode,
    /// Where the entry is (its `name:` mapping), for errors about all of it.
    pub span: Span,
}

/// A parsed deployment file.
#[derive(Clone, Debug)]
pub struct Deployment {
    pub file: FileId,
    pub name: Located<String>,
    /// `spec.source`: the `.ks` file, relative to the deployment file.
    pub source: Option<Located<String>>,
    /// `spec.image`: the bytecode image reference for `--emit=bpfman`.
    pub image: Option<Located<String>>,
    pub programs: Vec<ProgramSpec>,
    /// Attach every program at deploy time (default `true`).
    pub auto_attach: bool,
    pub global_maps: GlobalMaps,
    pub userspace: Option<Userspace>,
}

/// Where a deployment's pins go when `pin_path` is not given.
pub const DEFAULT_PIN_ROOT: &str = "/sys/fs/bpf/ksc";

impl Deployment {
    /// The deployment's directory on bpffs.
    pub fn pin_dir(&self) -> std::path::PathBuf {
        match &self.global_maps.pin_path {
            Some(p) => std::path::PathBuf::from(&p.value),
            None => std::path::Path::new(DEFAULT_PIN_ROOT).join(&self.name.value),
        }
    }
}

/// Parse the deployment file `text`, which is file `file` of the source map
/// the diagnostics refer to.
pub fn parse(text: &str, file: FileId) -> Result<Deployment, Vec<Diagnostic>> {
    let cx = Cx { text, file };
    let root = marked_yaml::parse_yaml(0, text).map_err(|e| vec![cx.load_error(&e)])?;
    let mut errs = Vec::new();
    let d = cx.deployment(&root, &mut errs);
    match d {
        Some(d) if errs.is_empty() => Ok(d),
        _ => Err(errs),
    }
}

struct Cx<'a> {
    text: &'a str,
    file: FileId,
}

type Errs = Vec<Diagnostic>;

impl Cx<'_> {
    /// Byte offset of a marker (`marked-yaml` counts characters).
    fn offset(&self, m: &marked_yaml::Marker) -> usize {
        self.text
            .char_indices()
            .nth(m.character())
            .map_or(self.text.len(), |(b, _)| b)
    }

    fn span_of(&self, s: &marked_yaml::Span) -> Span {
        let start = s.start().map_or(0, |m| self.offset(m));
        let end = s.end().map_or(start, |m| self.offset(m)).max(start);
        // A node's end marker may sit past trailing blank lines: keep
        // carets on the node's own line.
        let line_end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |n| start + n);
        let end = if end > line_end || end == start {
            line_end.max(start)
        } else {
            end
        };
        Span::new(self.file, start, end)
    }

    fn node_span(&self, n: &Node) -> Span {
        // A block mapping's own marker is at its first key's `:`; point
        // at the key instead.
        if let Some((k, _)) = n.as_mapping().and_then(|m| m.iter().next()) {
            return self.span_of(&marked_yaml::Span::new_start(
                k.span().start().copied().unwrap_or_default_marker(),
            ));
        }
        self.span_of(n.span())
    }

    fn scalar_span(&self, n: &MarkedScalarNode) -> Span {
        let start = n.span().start().map_or(0, |m| self.offset(m));
        // Quoted scalars start at the quote; cover the value's characters.
        let raw = &self.text[start..];
        let quoted = raw.starts_with('"') || raw.starts_with('\'');
        let len = n.as_str().len() + if quoted { 2 } else { 0 };
        Span::new(self.file, start, (start + len.max(1)).min(self.text.len()))
    }

    fn load_error(&self, e: &LoadError) -> Diagnostic {
        let (m, msg) = match e {
            LoadError::TopLevelMustBeMapping(m) => (
                m,
                "the deployment file must be a mapping (`apiVersion:`, `kind:`, ...)".to_string(),
            ),
            LoadError::TopLevelMustBeSequence(m) => (m, "unexpected sequence".to_string()),
            LoadError::UnexpectedAnchor(m) => (
                m,
                "anchors (`&name`) are not used in deployment files".into(),
            ),
            LoadError::MappingKeyMustBeScalar(m) => {
                (m, "a mapping key must be a plain word".into())
            }
            LoadError::UnexpectedTag(m) => {
                (m, "tags (`!name`) are not used in deployment files".into())
            }
            LoadError::ScanError(m, se) => (m, format!("invalid YAML: {}", se.info())),
            LoadError::DuplicateKey(d) => {
                let at = d.key.span().start().copied().unwrap_or_default_marker();
                return Diagnostic::error(
                    codes::DEPLOY_FILE,
                    self.scalar_span(&d.key),
                    format!("`{}` is given twice", d.key.as_str()),
                )
                .with_label("again here")
                .with_secondary(self.scalar_span(&d.prev_key), "first here")
                .with_note(format!("at line {}", at.line()));
            }
        };
        let at = self.offset(m).min(self.text.len());
        let end = (at + 1).min(self.text.len());
        Diagnostic::error(codes::DEPLOY_FILE, Span::new(self.file, at, end), msg).with_label("here")
    }

    fn mapping<'n>(
        &self,
        n: &'n Node,
        what: &str,
        errs: &mut Errs,
    ) -> Option<&'n MarkedMappingNode> {
        match n.as_mapping() {
            Some(m) => Some(m),
            None => {
                errs.push(
                    Diagnostic::error(
                        codes::DEPLOY_FILE,
                        self.node_span(n),
                        format!("`{what}` must be a mapping"),
                    )
                    .with_label("expected `key: value` lines here"),
                );
                None
            }
        }
    }

    /// Check a mapping's keys against the known ones: a typo is an error,
    /// not a silently ignored setting.
    fn known_keys(&self, m: &MarkedMappingNode, what: &str, known: &[&str], errs: &mut Errs) {
        for (k, _) in m.iter() {
            if !known.contains(&k.as_str()) {
                errs.push(
                    Diagnostic::error(
                        codes::DEPLOY_FILE,
                        self.scalar_span(k),
                        format!("unknown field `{}` in {what}", k.as_str()),
                    )
                    .with_label("not a field of this section")
                    .with_help(format!("the fields are: {}", known.join(", "))),
                );
            }
        }
    }

    fn string(&self, m: &MarkedMappingNode, key: &str, errs: &mut Errs) -> Option<Located<String>> {
        let n = m.get_node(key)?;
        match n.as_scalar() {
            Some(s) => Some(Located {
                value: s.as_str().to_string(),
                span: self.scalar_span(s),
            }),
            None => {
                errs.push(
                    Diagnostic::error(
                        codes::DEPLOY_FILE,
                        self.node_span(n),
                        format!("`{key}` must be a string"),
                    )
                    .with_label("not a single value"),
                );
                None
            }
        }
    }

    fn required(
        &self,
        m: &MarkedMappingNode,
        key: &str,
        what: &str,
        at: Span,
        errs: &mut Errs,
    ) -> Option<Located<String>> {
        if m.get_node(key).is_none() {
            errs.push(
                Diagnostic::error(codes::DEPLOY_FILE, at, format!("{what} has no `{key}`"))
                    .with_label(format!("`{key}:` missing here")),
            );
            return None;
        }
        self.string(m, key, errs)
    }

    fn boolean(&self, m: &MarkedMappingNode, key: &str, default: bool, errs: &mut Errs) -> bool {
        let Some(n) = m.get_node(key) else {
            return default;
        };
        match n.as_scalar().and_then(|s| s.as_bool()) {
            Some(b) => b,
            None => {
                errs.push(
                    Diagnostic::error(
                        codes::DEPLOY_FILE,
                        self.node_span(n),
                        format!("`{key}` must be true or false"),
                    )
                    .with_label("not a boolean"),
                );
                default
            }
        }
    }

    /// A list of strings; a single string is taken as a list of one.
    fn strings(&self, n: &Node, key: &str, errs: &mut Errs) -> Vec<Located<String>> {
        if let Some(s) = n.as_scalar() {
            return vec![Located {
                value: s.as_str().to_string(),
                span: self.scalar_span(s),
            }];
        }
        let Some(seq) = n.as_sequence() else {
            errs.push(
                Diagnostic::error(
                    codes::DEPLOY_FILE,
                    self.node_span(n),
                    format!("`{key}` must be a list of names"),
                )
                .with_label("not a list"),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in seq.iter() {
            match item.as_scalar() {
                Some(s) => out.push(Located {
                    value: s.as_str().to_string(),
                    span: self.scalar_span(s),
                }),
                None => errs.push(
                    Diagnostic::error(
                        codes::DEPLOY_FILE,
                        self.node_span(item),
                        format!("each of `{key}` must be a name"),
                    )
                    .with_label("not a name"),
                ),
            }
        }
        out
    }

    fn deployment(&self, root: &Node, errs: &mut Errs) -> Option<Deployment> {
        let top = self.mapping(root, "the deployment file", errs)?;
        let whole = self.node_span(root);
        self.known_keys(
            top,
            "the deployment file",
            &["apiVersion", "kind", "metadata", "spec"],
            errs,
        );
        if let Some(v) = self.required(top, "apiVersion", "the deployment file", whole, errs) {
            if v.value != "kernelscript.dev/v1" {
                errs.push(
                    Diagnostic::error(
                        codes::DEPLOY_FILE,
                        v.span,
                        format!("unknown apiVersion `{}`", v.value),
                    )
                    .with_label("not a version ksc reads")
                    .with_help("use `apiVersion: kernelscript.dev/v1`"),
                );
            }
        }
        if let Some(k) = self.required(top, "kind", "the deployment file", whole, errs) {
            if k.value != "ProgramDeployment" {
                errs.push(
                    Diagnostic::error(
                        codes::DEPLOY_FILE,
                        k.span,
                        format!("unknown kind `{}`", k.value),
                    )
                    .with_label("ksc deploys only this kind")
                    .with_help("use `kind: ProgramDeployment`"),
                );
            }
        }
        let meta = top.get_node("metadata");
        let name = match meta {
            None => {
                errs.push(
                    Diagnostic::error(
                        codes::DEPLOY_FILE,
                        whole,
                        "the deployment file has no `metadata`",
                    )
                    .with_label("`metadata:` with a `name:` missing")
                    .with_help("add `metadata:` with `name: my-deployment`"),
                );
                None
            }
            Some(n) => self.mapping(n, "metadata", errs).and_then(|m| {
                self.known_keys(m, "`metadata`", &["name", "labels"], errs);
                self.required(m, "name", "`metadata`", self.node_span(n), errs)
            }),
        };
        if let Some(n) = &name {
            let ok = !n.value.is_empty()
                && n.value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
                && !n.value.starts_with('.');
            if !ok {
                errs.push(
                    Diagnostic::error(
                        codes::DEPLOY_FILE,
                        n.span,
                        format!("`{}` cannot name a deployment", n.value),
                    )
                    .with_label("it names the deployment's directory on bpffs")
                    .with_help("use letters, digits, `-`, `_` and `.`"),
                );
            }
        }
        let Some(spec_node) = top.get_node("spec") else {
            errs.push(
                Diagnostic::error(
                    codes::DEPLOY_FILE,
                    whole,
                    "the deployment file has no `spec`",
                )
                .with_label("`spec:` with `programs:` missing"),
            );
            return None;
        };
        let spec = self.mapping(spec_node, "spec", errs)?;
        self.known_keys(
            spec,
            "`spec`",
            &[
                "source",
                "image",
                "programs",
                "auto_attach",
                "global_maps",
                "userspace",
            ],
            errs,
        );
        let source = self.string(spec, "source", errs);
        let image = self.string(spec, "image", errs);
        let auto_attach = self.boolean(spec, "auto_attach", true, errs);
        let mut programs = Vec::new();
        match spec.get_node("programs") {
            None => errs.push(
                Diagnostic::error(
                    codes::DEPLOY_FILE,
                    self.node_span(spec_node),
                    "`spec` has no `programs`",
                )
                .with_label("`programs:` missing")
                .with_help(
                    "list the programs to deploy: `programs:` then `- name: NAME` and `type: TYPE`",
                ),
            ),
            Some(n) => match n.as_sequence() {
                None => errs.push(
                    Diagnostic::error(
                        codes::DEPLOY_FILE,
                        self.node_span(n),
                        "`programs` must be a list",
                    )
                    .with_label("expected `- name: ...` entries"),
                ),
                Some(seq) => {
                    for item in seq.iter() {
                        if let Some(p) = self.program(item, errs) {
                            programs.push(p);
                        }
                    }
                }
            },
        }
        for (i, p) in programs.iter().enumerate() {
            if let Some(first) = programs[..i].iter().find(|q| q.name.value == p.name.value) {
                errs.push(
                    Diagnostic::error(
                        codes::DEPLOY_FILE,
                        p.name.span,
                        format!("program `{}` is listed twice", p.name.value),
                    )
                    .with_label("again here")
                    .with_secondary(first.name.span, "first here"),
                );
            }
        }
        let mut global_maps = GlobalMaps {
            pin_path: None,
            cleanup_on_exit: true,
        };
        if let Some(n) = spec.get_node("global_maps") {
            if let Some(m) = self.mapping(n, "global_maps", errs) {
                self.known_keys(m, "`global_maps`", &["pin_path", "cleanup_on_exit"], errs);
                global_maps.pin_path = self.string(m, "pin_path", errs).map(|mut p| {
                    let trimmed = p.value.trim_end_matches('/');
                    if !trimmed.is_empty() {
                        p.value = trimmed.to_string();
                    }
                    p
                });
                global_maps.cleanup_on_exit = self.boolean(m, "cleanup_on_exit", true, errs);
            }
        }
        let mut userspace = None;
        if let Some(n) = spec.get_node("userspace") {
            if let Some(m) = self.mapping(n, "userspace", errs) {
                self.known_keys(
                    m,
                    "`userspace`",
                    &["auto_start", "restart_policy", "args"],
                    errs,
                );
                let auto_start = self.boolean(m, "auto_start", false, errs);
                let mut restart_policy = RestartPolicy::OnFailure;
                if let Some(p) = self.string(m, "restart_policy", errs) {
                    match RestartPolicy::parse(&p.value) {
                        Some(r) => restart_policy = r,
                        None => errs.push(
                            Diagnostic::error(
                                codes::DEPLOY_FILE,
                                p.span,
                                format!("unknown restart_policy `{}`", p.value),
                            )
                            .with_label("not a policy")
                            .with_help("use `always`, `on-failure` or `never`"),
                        ),
                    }
                }
                let args = m
                    .get_node("args")
                    .map(|a| {
                        self.strings(a, "args", errs)
                            .into_iter()
                            .map(|l| l.value)
                            .collect()
                    })
                    .unwrap_or_default();
                userspace = Some(Userspace {
                    auto_start,
                    restart_policy,
                    args,
                });
            }
        }
        Some(Deployment {
            file: self.file,
            name: name?,
            source,
            image,
            programs,
            auto_attach,
            global_maps,
            userspace,
        })
    }

    fn program(&self, n: &Node, errs: &mut Errs) -> Option<ProgramSpec> {
        let m = self.mapping(n, "a program entry", errs)?;
        let span = self.node_span(n);
        self.known_keys(m, "a program entry", &["name", "type", "attach"], errs);
        let name = self.required(m, "name", "this program entry", span, errs);
        let ty = self.required(m, "type", "this program entry", span, errs);
        let mut attach = Vec::new();
        let mut mode = XdpMode::Default;
        if let Some(a) = m.get_node("attach") {
            if let Some(am) = self.mapping(a, "attach", errs) {
                self.known_keys(
                    am,
                    "`attach`",
                    &["interfaces", "mode", "tracepoints", "hooks", "functions"],
                    errs,
                );
                for (key, make) in [
                    ("interfaces", Attach::Interface as fn(String) -> Attach),
                    ("tracepoints", Attach::Tracepoint),
                    ("hooks", Attach::Hook),
                    ("functions", Attach::Function),
                ] {
                    if let Some(list) = am.get_node(key) {
                        for l in self.strings(list, key, errs) {
                            attach.push(Located {
                                value: make(l.value),
                                span: l.span,
                            });
                        }
                    }
                }
                if let Some(md) = self.string(am, "mode", errs) {
                    mode = match md.value.as_str() {
                        "native" | "driver" => XdpMode::Native,
                        "generic" | "skb" => XdpMode::Generic,
                        "offload" => XdpMode::Offload,
                        _ => {
                            errs.push(
                                Diagnostic::error(codes::DEPLOY_FILE, md.span, format!("unknown XDP mode `{}`", md.value))
                                    .with_label("not a mode")
                                    .with_help("use `native`, `generic` or `offload` (or leave it out: the kernel chooses)"),
                            );
                            XdpMode::Default
                        }
                    };
                }
            }
        }
        Some(ProgramSpec {
            name: name?,
            ty: ty?,
            attach,
            mode,
            span,
        })
    }
}

trait MarkerDefault {
    fn unwrap_or_default_marker(self) -> marked_yaml::Marker;
}

impl MarkerDefault for Option<marked_yaml::Marker> {
    fn unwrap_or_default_marker(self) -> marked_yaml::Marker {
        self.unwrap_or(marked_yaml::Marker::new(0, 0, 1, 1))
    }
}
