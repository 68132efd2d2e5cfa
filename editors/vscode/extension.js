// The KernelScript extension: starts `ksc lsp` (the language server, over
// stdio) for .ks and .kh files. Highlighting is the TextMate grammar in
// syntaxes/; the server adds semantic tokens, diagnostics, hover,
// definitions, references, completion, signature help, formatting and
// quick fixes. Kernel structs open as read-only files the server writes
// from BTF (~/.cache/ksc/btf/NAME.kh).
'use strict';

const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

let client;

function activate(context) {
  const path = vscode.workspace.getConfiguration('kernelscript').get('server.path') || 'ksc';
  const server = { command: path, args: ['lsp'] };
  client = new LanguageClient(
    'kernelscript',
    'KernelScript (ksc lsp)',
    { run: server, debug: server },
    { documentSelector: [{ scheme: 'file', language: 'kernelscript' }] }
  );
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
