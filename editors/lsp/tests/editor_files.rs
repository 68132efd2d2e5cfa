//! The editor setups in editors/: VS Code's manifest and grammar are valid
//! JSON naming files that exist, and both the TextMate grammar and Vim's
//! syntax file highlight every keyword the lexer knows.

use std::path::{Path, PathBuf};

use serde_json::Value;

fn editors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The keywords of the lexer, read from its table (`"fn" => Tok::Fn`).
fn keywords() -> Vec<String> {
    let src = std::fs::read_to_string(editors().join("../frontend/src/token.rs")).unwrap();
    let words: Vec<String> = src
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l.strip_prefix('"')?;
            let (word, tail) = rest.split_once('"')?;
            tail.trim_start()
                .starts_with("=> Tok::")
                .then(|| word.to_string())
        })
        .collect();
    assert!(words.len() > 30, "{words:?}");
    for w in &words {
        assert!(
            ksc_frontend::token::Tok::keyword(w).is_some(),
            "{w} is a keyword"
        );
    }
    words
}

#[test]
fn vscode_extension() {
    let dir = editors().join("vscode");
    let pkg = json(&dir.join("package.json"));
    assert_eq!(pkg["main"], "./extension.js");
    assert!(dir.join("extension.js").is_file());
    let lang = &pkg["contributes"]["languages"][0];
    assert_eq!(lang["id"], "kernelscript");
    assert_eq!(lang["extensions"], serde_json::json!([".ks", ".kh"]));
    json(&dir.join(lang["configuration"].as_str().unwrap()));
    let g = &pkg["contributes"]["grammars"][0];
    let grammar = json(&dir.join(g["path"].as_str().unwrap()));
    assert_eq!(grammar["scopeName"], g["scopeName"]);
    let text = grammar.to_string();
    for k in keywords() {
        assert!(
            text.contains(&format!("|{k}|"))
                || text.contains(&format!("({k}|"))
                || text.contains(&format!("|{k})")),
            "the grammar highlights `{k}`"
        );
    }
    let js = std::fs::read_to_string(dir.join("extension.js")).unwrap();
    assert!(js.contains("args: ['lsp']"));
}

#[test]
fn neovim_syntax() {
    let syntax = std::fs::read_to_string(editors().join("nvim/syntax/kernelscript.vim")).unwrap();
    let words: Vec<&str> = syntax
        .lines()
        .filter(|l| l.starts_with("syntax keyword"))
        .flat_map(|l| l.split_whitespace().skip(3))
        .collect();
    for k in keywords() {
        assert!(
            words.contains(&k.as_str()),
            "the Vim syntax highlights `{k}`"
        );
    }
    let ft = std::fs::read_to_string(editors().join("nvim/ftdetect/kernelscript.vim")).unwrap();
    assert!(ft.contains("*.ks") && ft.contains("filetype=kernelscript"));
}
