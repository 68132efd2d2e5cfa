//! # ksc-lsp: the KernelScript language server (`ksc lsp`)
//!
//! Speaks the Language Server Protocol over stdio with `lsp-server` (one
//! thread, synchronous, as rust-analyzer's transport). Every open or
//! change of a `.ks` file checks the program through the entry point of
//! `ksc check` ([`ksc_midend::check_main`]) and publishes exactly its
//! diagnostics; the questions (hover, definition, completion, ...) are
//! answered from that check ([`analysis::Analysis`]), see `features.rs`.
//! The kernel's BTF is read once per process, on a thread started at
//! `initialize`, so no request waits for it unless it asks before it is
//! read.

pub mod analysis;
mod btfview;
mod complete;
mod features;
mod pos;

use std::collections::HashMap;

use lsp_server::{Connection, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{self as notif, Notification as _};
use lsp_types::request::{self as req, Request as _};
use lsp_types::{self as lsp, Url};
use serde_json::Value;

use analysis::Analysis;
pub use btfview::btf_view_path;
pub use features::Server;

/// Serve one editor on stdin/stdout until it says `exit`.
pub fn run(python: Option<&dyn ksc_midend::PythonBridge>) -> Result<(), String> {
    let (conn, io) = Connection::stdio();
    serve(&conn, python)?;
    drop(conn);
    io.join().map_err(|e| e.to_string())
}

fn capabilities() -> lsp::ServerCapabilities {
    use lsp::*;
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::FULL),
                // A saved header or module changes the programs that read it.
                save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                ..Default::default()
            },
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".into(), ">".into(), "@".into()]),
            ..Default::default()
        }),
        signature_help_provider: Some(SignatureHelpOptions {
            trigger_characters: Some(vec!["(".into(), ",".into()]),
            ..Default::default()
        }),
        semantic_tokens_provider: Some(SemanticTokensServerCapabilities::SemanticTokensOptions(
            SemanticTokensOptions {
                legend: features::legend(),
                full: Some(SemanticTokensFullOptions::Bool(true)),
                range: None,
                ..Default::default()
            },
        )),
        ..Default::default()
    }
}

fn serve(conn: &Connection, python: Option<&dyn ksc_midend::PythonBridge>) -> Result<(), String> {
    let caps = serde_json::to_value(capabilities()).map_err(|e| e.to_string())?;
    conn.initialize(caps).map_err(|e| e.to_string())?;
    // Read the BTF the checks read ($KSC_BTF's, else the running
    // kernel's) now, off the request path.
    std::thread::spawn(|| {
        let _ = ksc_midend::btf::Btf::for_checks();
    });
    let mut server = Server::new(python);
    for msg in &conn.receiver {
        match msg {
            Message::Request(r) => {
                if conn.handle_shutdown(&r).map_err(|e| e.to_string())? {
                    return Ok(());
                }
                // A bug in one answer must not end the editor's session.
                let id = r.id.clone();
                let method = r.method.clone();
                let resp = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    handle_request(&mut server, r)
                }))
                .unwrap_or_else(|_| {
                    Response::new_err(
                        id,
                        lsp_server::ErrorCode::InternalError as i32,
                        format!("internal error: ksc lsp panicked answering {method}"),
                    )
                });
                conn.sender
                    .send(Message::Response(resp))
                    .map_err(|e| e.to_string())?;
            }
            Message::Notification(n) => {
                for out in handle_notification(&mut server, n) {
                    conn.sender
                        .send(Message::Notification(out))
                        .map_err(|e| e.to_string())?;
                }
            }
            Message::Response(_) => {}
        }
    }
    Ok(())
}

fn params<P: serde::de::DeserializeOwned>(v: Value) -> Result<P, String> {
    serde_json::from_value(v).map_err(|e| format!("invalid parameters: {e}"))
}

fn handle_request(s: &mut Server, r: Request) -> Response {
    let id: RequestId = r.id.clone();
    let result: Result<Value, String> = (|| {
        let v = match r.method.as_str() {
            req::HoverRequest::METHOD => to_json(s.hover(params(r.params)?)),
            req::GotoDefinition::METHOD => to_json(s.definition(params(r.params)?)),
            req::References::METHOD => to_json(s.references(params(r.params)?)),
            req::Completion::METHOD => to_json(s.completion(params(r.params)?)),
            req::DocumentSymbolRequest::METHOD => to_json(s.symbols(params(r.params)?)),
            req::SemanticTokensFullRequest::METHOD => to_json(s.semantic_tokens(params(r.params)?)),
            req::SignatureHelpRequest::METHOD => to_json(s.signature_help(params(r.params)?)),
            req::Formatting::METHOD => to_json(s.formatting(params(r.params)?)?),
            req::CodeActionRequest::METHOD => to_json(s.code_actions(params(r.params)?)),
            // The text of a kernel struct's read-only view (`ksc-btf:` URIs).
            "ksc/btfView" => {
                let p: lsp::TextDocumentIdentifier = params(r.params)?;
                to_json(btfview::render_uri(&p.uri))
            }
            other => {
                return Err(format!("unsupported request `{other}`"));
            }
        };
        Ok(v)
    })();
    match result {
        Ok(v) => Response::new_ok(id, v),
        Err(e) => Response::new_err(id, lsp_server::ErrorCode::RequestFailed as i32, e),
    }
}

fn to_json<T: serde::Serialize>(t: T) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}

fn handle_notification(s: &mut Server, n: Notification) -> Vec<Notification> {
    let uri_text: Option<(Url, String)> = match n.method.as_str() {
        notif::DidOpenTextDocument::METHOD => params::<lsp::DidOpenTextDocumentParams>(n.params)
            .ok()
            .map(|p| (p.text_document.uri, p.text_document.text)),
        notif::DidChangeTextDocument::METHOD => {
            params::<lsp::DidChangeTextDocumentParams>(n.params)
                .ok()
                .and_then(|p| {
                    // Full sync: the last change is the whole text.
                    let text = p.content_changes.into_iter().last()?.text;
                    Some((p.text_document.uri, text))
                })
        }
        notif::DidCloseTextDocument::METHOD => {
            if let Ok(p) = params::<lsp::DidCloseTextDocumentParams>(n.params) {
                s.close(&p.text_document.uri);
                return vec![publish(p.text_document.uri, Vec::new())];
            }
            None
        }
        notif::DidSaveTextDocument::METHOD => {
            // Included and imported files are read from disk: check every
            // open program again.
            let mut out = Vec::new();
            for (uri, text) in s.open_documents() {
                s.update(uri.clone(), text);
                out.extend(s.diagnostics(&uri).into_iter().map(|(u, d)| publish(u, d)));
            }
            return out;
        }
        _ => None,
    };
    let Some((uri, text)) = uri_text else {
        return Vec::new();
    };
    s.update(uri.clone(), text);
    s.diagnostics(&uri)
        .into_iter()
        .map(|(u, d)| publish(u, d))
        .collect()
}

fn publish(uri: Url, diagnostics: Vec<lsp::Diagnostic>) -> Notification {
    Notification::new(
        notif::PublishDiagnostics::METHOD.into(),
        lsp::PublishDiagnosticsParams {
            uri,
            diagnostics,
            version: None,
        },
    )
}

/// The documents open in the editor, with their last check.
#[derive(Default)]
pub(crate) struct Docs {
    pub(crate) text: HashMap<Url, String>,
    pub(crate) analysis: HashMap<Url, Analysis>,
    /// The last check of each document whose text parsed: completion and
    /// signature help use it while the text being typed does not parse.
    pub(crate) last_good: HashMap<Url, Analysis>,
    /// The files each document's last diagnostics were published on.
    pub(crate) published: HashMap<Url, Vec<Url>>,
}
