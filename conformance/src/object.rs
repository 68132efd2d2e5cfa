//! What an eBPF object holds, read with goblin: its programs (section and
//! instruction count), maps, license, BTF and CO-RE relocations, and the
//! kernel functions (kfuncs) it references.

use goblin::elf::{section_header::SHF_EXECINSTR, sym, Elf};
use serde::{Deserialize, Serialize};

/// LLVM's BPF relocation of a call instruction's 32-bit immediate.
const R_BPF_64_32: u32 = 10;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Program {
    pub name: String,
    pub section: String,
    /// eBPF instructions (8 bytes each) as compiled, before the verifier.
    pub insns: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Object {
    pub bytes: usize,
    pub programs: Vec<Program>,
    pub maps: Vec<String>,
    pub license: String,
    pub btf: bool,
    pub btf_ext: bool,
    pub core_relocs: u64,
    pub kfuncs: Vec<String>,
}

pub fn inspect(data: &[u8]) -> Result<Object, String> {
    let elf = Elf::parse(data).map_err(|e| format!("not an ELF object: {e}"))?;
    let section_name = |i: usize| -> String {
        elf.section_headers
            .get(i)
            .and_then(|s| elf.shdr_strtab.get_at(s.sh_name))
            .unwrap_or("")
            .to_string()
    };
    let section_bytes = |name: &str| -> Option<&[u8]> {
        let s = elf
            .section_headers
            .iter()
            .find(|s| elf.shdr_strtab.get_at(s.sh_name) == Some(name))?;
        data.get(s.sh_offset as usize..(s.sh_offset + s.sh_size) as usize)
    };
    let mut o = Object {
        bytes: data.len(),
        ..Object::default()
    };
    // Symbols that code calls (R_BPF_64_32, the relocation of a call
    // instruction's immediate): an undefined one is a kfunc, resolved at
    // load. The symbol's type is no guide: clang 14 marks `__ksym`
    // function externs STT_NOTYPE, like extern variables (which are
    // loaded with ld_imm64, R_BPF_64_64, instead).
    let mut called = std::collections::BTreeSet::new();
    for (rel_idx, relocs) in &elf.shdr_relocs {
        let Some(target) = elf
            .section_headers
            .get(*rel_idx)
            .and_then(|r| elf.section_headers.get(r.sh_info as usize))
        else {
            continue;
        };
        if target.sh_flags & SHF_EXECINSTR as u64 == 0 {
            continue;
        }
        for r in relocs.iter() {
            if r.r_type == R_BPF_64_32 {
                called.insert(r.r_sym);
            }
        }
    }
    for (i, s) in elf.syms.iter().enumerate() {
        let name = elf.strtab.get_at(s.st_name).unwrap_or("").to_string();
        let shndx = s.st_shndx;
        if shndx == 0 {
            if !name.is_empty() && (s.st_type() == sym::STT_FUNC || called.contains(&i)) {
                o.kfuncs.push(name);
            }
            continue;
        }
        let Some(sh) = elf.section_headers.get(shndx) else {
            continue;
        };
        let sec = section_name(shndx);
        if s.st_type() == sym::STT_FUNC
            && s.st_bind() == sym::STB_GLOBAL
            && sh.sh_flags & SHF_EXECINSTR as u64 != 0
            && sec != ".text"
        {
            o.programs.push(Program {
                name,
                section: sec,
                insns: s.st_size / 8,
            });
        } else if sec == ".maps" && s.st_type() == sym::STT_OBJECT {
            o.maps.push(name);
        }
    }
    o.programs.sort_by(|a, b| a.name.cmp(&b.name));
    o.maps.sort();
    o.kfuncs.sort();
    if let Some(l) = section_bytes("license") {
        o.license =
            String::from_utf8_lossy(l.split(|b| *b == 0).next().unwrap_or(&[])).into_owned();
    }
    o.btf = section_bytes(".BTF").is_some();
    if let Some(ext) = section_bytes(".BTF.ext") {
        o.btf_ext = true;
        o.core_relocs = core_relocs(ext);
    }
    Ok(o)
}

/// CO-RE relocation records in `.BTF.ext` (struct btf_ext_header in
/// libbpf: the core_relo section follows func_info and line_info).
fn core_relocs(ext: &[u8]) -> u64 {
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(ext.get(at..at + 4)?.try_into().ok()?))
    };
    let Some(hdr_len) = u32_at(4) else { return 0 };
    if hdr_len < 32 {
        return 0;
    }
    let (Some(off), Some(len)) = (u32_at(24), u32_at(28)) else {
        return 0;
    };
    let start = hdr_len as usize + off as usize;
    let end = start + len as usize;
    let Some(rec_size) = u32_at(start) else {
        return 0;
    };
    if rec_size == 0 {
        return 0;
    }
    let mut at = start + 4;
    let mut n = 0u64;
    while at + 8 <= end {
        let Some(count) = u32_at(at + 4) else { break };
        n += count as u64;
        at += 8 + count as usize * rec_size as usize;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    /// kfuncs are the undefined functions the code calls, whatever type
    /// the compiler gave their symbols; `__ksym` variables are not kfuncs.
    #[test]
    fn kfuncs_are_the_called_externs_and_not_ksym_variables() {
        let dir = std::env::temp_dir().join(format!("ksc-object-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let c = dir.join("k.c");
        std::fs::write(
            &c,
            "#define __ksym __attribute__((section(\".ksyms\")))\n\
             extern unsigned long long weigh(unsigned long long n) __ksym;\n\
             extern const int some_var __ksym;\n\
             __attribute__((section(\"xdp\"), used)) int f(void *ctx) {\n\
                 return (int)weigh((unsigned long long)&some_var);\n\
             }\n\
             char _license[] __attribute__((section(\"license\"), used)) = \"GPL\";\n",
        )
        .unwrap();
        let o = dir.join("k.o");
        let out = std::process::Command::new("clang")
            .args(["-O2", "-g", "-target", "bpf", "-c"])
            .arg(&c)
            .arg("-o")
            .arg(&o)
            .output()
            .expect("clang (the eBPF compiler .ci/setup installs)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let obj = inspect(&std::fs::read(&o).unwrap()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(obj.kfuncs, ["weigh"]);
        assert_eq!(obj.license, "GPL");
    }
}
