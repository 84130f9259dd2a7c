//! The integration tests, one test binary (as uv and cargo do): each module is one group of
//! tests through the built `ferry` binary against real registries and peers, and `common` (with
//! the shared `bad_bundle` and `since` helpers) is compiled once instead of once per file.
//! Run one group with `cargo test --test suite GROUP::` (e.g. `import::`).

mod bad_bundle;
mod common;
mod since;

mod answers;
mod answers_secrets;
mod bounded;
mod byte_identity;
mod crash;
mod deep_chain;
mod differential;
mod discovery;
mod export;
mod export_auth;
mod export_shapes;
mod faults;
mod foreign;
mod foreign_ctr;
mod gzip_bomb;
mod harness;
mod helm;
mod hostile_index;
mod hostile_tar;
mod images;
mod import;
mod import_auth;
mod import_bad;
mod import_bad_layout;
mod import_race;
mod inspect;
mod inventory;
mod keyless;
mod keyless_fixtures;
mod library_api;
mod local_files;
mod local_outputs;
mod logins;
mod mirror;
mod oddities;
mod proptest_bundles;
mod readers;
mod redirects;
mod referrers_api;
mod rewrite;
mod scale;
mod signatures;
mod sigstore_conformance;
mod sparse_source;
mod test_script;
mod timeouts;
mod tls_auth;
mod trust;
mod usage;
mod verify;

/// With `autotests = false` a file under `tests/` that is not declared above would never run:
/// every `tests/*.rs` must be a module here.
#[test]
fn every_test_file_is_a_module_of_the_suite() {
    let declared: std::collections::BTreeSet<String> = include_str!("suite.rs")
        .lines()
        .filter_map(|l| l.strip_prefix("mod ")?.strip_suffix(';'))
        .map(str::to_string)
        .collect();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests");
    let missing: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".rs").map(str::to_string))
        .filter(|n| n != "suite" && !declared.contains(n))
        .collect();
    assert!(
        missing.is_empty(),
        "tests/{{{}}}.rs: declare each as `mod NAME;` in tests/suite.rs",
        missing.join(",")
    );
}
