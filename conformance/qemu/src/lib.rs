//! Booting Debian kernels under qemu for the conformance runner (being written).
