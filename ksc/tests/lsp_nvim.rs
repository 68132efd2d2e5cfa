//! A real editor client: Debian's Neovim, headless, with the setup from
//! editors/nvim (filetype detection, `require('kernelscript').setup()`),
//! opens a `.ks` file with an error and receives `ksc lsp`'s diagnostics.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ksc_testkit as testkit;

#[test]
fn neovim_receives_diagnostics() {
    testkit::require!(testkit::command("nvim"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let dir = std::env::temp_dir().join(format!("ksc-nvim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let example = std::fs::read_to_string(root.join("examples/xdp_flow_counter.ks")).unwrap();
    // One narrowing assignment: a `mismatched types` error on its line.
    let text = example.replacen(
        "    var data = ctx->data\n",
        "    var data = ctx->data\n    var wide: u64 = 7\n    var narrow: u8 = wide\n",
        1,
    );
    let line = text.lines().position(|l| l.contains("var narrow")).unwrap();
    let file = dir.join("prog.ks");
    std::fs::write(&file, &text).unwrap();
    let out = dir.join("result.txt");
    let script = dir.join("test.lua");
    std::fs::write(
        &script,
        format!(
            r#"
vim.cmd('filetype on')
require('kernelscript').setup({{ cmd = {{ '{ksc}', 'lsp' }} }})
vim.cmd('edit {file}')
local got = vim.wait(30000, function() return #vim.diagnostic.get(0) > 0 end, 50)
local lines = {{ 'filetype=' .. vim.bo.filetype, 'received=' .. tostring(got) }}
for _, d in ipairs(vim.diagnostic.get(0)) do
  table.insert(lines, string.format('%d:%d:%s', d.lnum, d.severity, d.message))
end
vim.fn.writefile(lines, '{out}')
vim.cmd('qa!')
"#,
            ksc = env!("CARGO_BIN_EXE_ksc"),
            file = file.display(),
            out = out.display(),
        ),
    )
    .unwrap();
    let mut child = Command::new("nvim")
        .args(["--headless", "-u", "NONE", "-i", "NONE", "--cmd"])
        .arg(format!(
            "set runtimepath^={}",
            root.join("editors/nvim").display()
        ))
        .arg("-c")
        .arg(format!("luafile {}", script.display()))
        .env("HOME", &dir)
        .spawn()
        .expect("nvim starts");
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("nvim did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let result = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    let lines: Vec<&str> = result.lines().collect();
    assert_eq!(lines.first(), Some(&"filetype=kernelscript"), "{result}");
    assert_eq!(lines.get(1), Some(&"received=true"), "{result}");
    // Severity 1 is ERROR in vim.diagnostic.severity.
    let want = format!("{line}:1:mismatched types: expected `u8`, found `u64`");
    assert!(
        lines[2..].iter().any(|l| l.starts_with(&want)),
        "want {want} in {result}"
    );
}
