#!/bin/sh
# Makes small.btf, the kernel BTF the midend's tests check against: the
# types subset.txt names, cut out of a Debian kernel's vmlinux BTF by
# subset.py. The same input gives the same file byte for byte.
#
#   midend/tests/btf/make-small-btf.sh [VMLINUX]
#
# VMLINUX defaults to the Debian 7.2.13+deb14-amd64 kernel's, as ksc's
# kernel cache holds it (`ksc test --kernel 7.2` fetches it). That kernel
# and not an older one: its BTF tags kfuncs (`bpf_kfunc`, which 6.12's
# Debian build lacks) and has sched_ext. Needs llvm-objcopy and python3.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
release=7.2.13+deb14-amd64
# The .BTF section of that kernel's vmlinux: a different input is refused
# unless given explicitly.
want=8f61b70f8990384438069ae844dbd98dcc071518a2835989e0407135ae1d4bf7
cache=${XDG_CACHE_HOME:-$HOME/.cache}/ksc/kernels
vmlinux=${1:-$cache/$release/kbuild/root/usr/src/linux-headers-$release/vmlinux}
[ -f "$vmlinux" ] || { echo "no $vmlinux: run \`ksc test --kernel 7.2\` to fetch it, or name a vmlinux" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
llvm-objcopy --dump-section .BTF="$tmp/full.btf" "$vmlinux" "$tmp/vmlinux.o"
got=$(sha256sum "$tmp/full.btf" | cut -d' ' -f1)
if [ $# -eq 0 ] && [ "$got" != "$want" ]; then
    echo "$vmlinux: its BTF is not the one small.btf was made from ($got, want $want)" >&2
    exit 1
fi
python3 "$here/subset.py" "$tmp/full.btf" "$here/subset.txt" "$here/small.btf"
sha256sum "$here/small.btf"
