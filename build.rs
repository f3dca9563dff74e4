//! Link settings for the `intercoop` binary.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Packed relative relocations (DT_RELR). A position-independent binary
    // this size carries about 1.8 MB of relative relocations, which the
    // loader reads, and so keeps resident, at every start; packed they are
    // a few kilobytes. Measured in docs/performance.md (idle RSS).
    // GNU ld before 2.38 ignores the option with a warning, and later ones
    // use it only when the C library supports it (glibc 2.36 and up), so a
    // binary built on an older system still links and runs there.
    if std::env::var("TARGET").is_ok_and(|t| t.ends_with("-linux-gnu")) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
