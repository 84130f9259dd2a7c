//! Usage errors in flag values: a typo in an enumerated flag (`--sparse`, `--emit`,
//! `--referrers`) or in a `--mapping` kind exits 2 with clap's "a similar value exists" tip,
//! like every usage error, before anything runs; values that are not typos (artifact types,
//! mapping files) keep their meaning. No registry is needed: nothing gets that far.

use crate::common;

use std::process::Output;

use common::*;

/// A usage error: exit 2, clap's error naming `flag`, and its suggestion of `suggested`.
fn assert_suggests(o: &Output, value: &str, flag: &str, suggested: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "expected exit 2:\n{err}");
    for needle in [
        format!("error: invalid value '{value}' for '{flag} <"),
        format!("tip: a similar value exists: '{suggested}'"),
    ] {
        assert!(err.contains(&needle), "stderr lacks {needle:?}:\n{err}");
    }
    assert!(o.stdout.is_empty(), "a usage error printed on stdout");
}

#[test]
fn typos_in_enumerated_flags_are_usage_errors_with_a_suggestion() {
    let cases: [(&[&str], &str, &str, &str); 5] = [
        (
            &["import", "b.tar", "--to", "r.local/t", "--sparse", "stripp"],
            "stripp",
            "--sparse",
            "strip",
        ),
        (
            &["map", "--to", "r.local/t", "--emit", "kustomise", "alpine"],
            "kustomise",
            "--emit",
            "kustomize",
        ),
        (
            &["map", "--from-mapping", "m.json", "--emit", "policy-yaml"],
            "policy-yaml",
            "--emit",
            "policy-json",
        ),
        (
            &["export", "-o", "b.tar", "--referrers", "nnoe", "alpine"],
            "nnoe",
            "--referrers",
            "none",
        ),
        (
            &["export", "-o", "b.tar", "--referrers", "al", "alpine"],
            "al",
            "--referrers",
            "all",
        ),
    ];
    for (args, value, flag, suggested) in cases {
        assert_suggests(&ferry(args), value, flag, suggested);
    }
}

#[test]
fn referrers_still_takes_artifact_types() {
    // Parsing passes (types, all, none, and words not close to either), so the first error is
    // the one `-o -` with `--split-size` gets once the arguments are resolved.
    let o = ferry(&[
        "export",
        "-o",
        "-",
        "--split-size",
        "4G",
        "--referrers",
        "application/vnd.dev.sigstore.bundle.v0.3+json",
        "--referrers",
        "all",
        "--referrers",
        "sbom",
        "127.0.0.1:1/a",
    ]);
    assert_failure(&o, &["--split-size writes files"]);
}

#[test]
fn a_mapping_that_is_neither_a_kind_nor_a_file_suggests_the_nearest_kind() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut c = ferry_cmd(args);
        c.current_dir(dir.path());
        ferry_run(c, None)
    };
    for (args, value, suggested) in [
        (
            &["map", "--to", "r.local/t", "--mapping", "hashd", "alpine"][..],
            "hashd",
            "hashed",
        ),
        (
            &["import", "b.tar", "--to", "r.local/t", "--mapping", "paht"][..],
            "paht",
            "path",
        ),
        (
            &[
                "inventory",
                "b.tar",
                "--to",
                "r.local/t",
                "--mapping",
                "Hashed",
            ][..],
            "Hashed",
            "hashed",
        ),
    ] {
        assert_suggests(&run(args), value, "--mapping", suggested);
    }

    // A file of that name is a mapping file, whatever it is called.
    std::fs::write(
        dir.path().join("hashd"),
        r#"{"docker.io/library/alpine": "r.local/t/alp"}"#,
    )
    .unwrap();
    let o = run(&["map", "--to", "r.local/t", "--mapping", "hashd", "alpine"]);
    assert_success(&o);
    assert_eq!(common::readers::stdout_of(&o), "r.local/t/alp\n");

    // The kinds stay kinds even next to a file of their name.
    std::fs::write(dir.path().join("path"), "not a mapping").unwrap();
    let o = run(&["map", "--to", "r.local/t", "--mapping", "path", "alpine"]);
    assert_success(&o);
    assert_eq!(
        common::readers::stdout_of(&o),
        "r.local/t/docker.io/library/alpine\n"
    );

    // A missing file far from any kind is still the failure to read it (exit 1).
    for file in ["mapping.yaml", "/nonexistent/m.json"] {
        let o = run(&["map", "--to", "r.local/t", "--mapping", file, "alpine"]);
        assert_failure(&o, &["cannot read mapping file", file]);
    }
}
