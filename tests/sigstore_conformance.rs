//! The sigstore-conformance suite's `bundle-verify` cases, run through the built `ferry
//! verify-bundle` exactly as the conformance harness drives a client: each folder's bundle,
//! artifact (`artifact`, else `../a.txt`), `key.pub` or identity and issuer (files, else the
//! suite's defaults) and `trusted_root.json` (else the built-in production root). A passing case
//! exits 0 with one `verified:` line; a `_fail` case exits 1 with an error, never 2 (a usage
//! error would mean the protocol was misread) and never a crash. One test per case, so a
//! failure names it; `every_case_folder_is_listed` keeps the list equal to the directory.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{ferry, sha256_hex, stderr};

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/vectors/sigstore-conformance/bundle-verify"
);

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// The artifact of a case: its own, else the suite's shared `a.txt`.
fn artifact_path(dir: &Path) -> PathBuf {
    let own = dir.join("artifact");
    if own.exists() {
        own
    } else {
        Path::new(VECTORS).join("a.txt")
    }
}

/// A case file's text without its final newline, or `default`.
fn text_or(dir: &Path, file: &str, default: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
        .unwrap_or_else(|_| default.to_string())
}

/// The conformance protocol's arguments for a case, with `artifact` as the last one.
fn args(case: &str, artifact: &str) -> Vec<String> {
    let dir = Path::new(VECTORS).join(case);
    let mut a = vec![
        "verify-bundle".to_string(),
        "--bundle".into(),
        dir.join("bundle.sigstore.json").display().to_string(),
    ];
    let key = dir.join("key.pub");
    if key.exists() {
        a.extend(["--key".into(), key.display().to_string()]);
    } else {
        a.extend([
            "--certificate-identity".into(),
            text_or(&dir, "identity", DEFAULT_IDENTITY),
            "--certificate-oidc-issuer".into(),
            text_or(&dir, "issuer", DEFAULT_ISSUER),
        ]);
    }
    let root = dir.join("trusted_root.json");
    if root.exists() {
        a.extend(["--trusted-root".into(), root.display().to_string()]);
    }
    a.push(artifact.to_string());
    a
}

fn run(case: &str, artifact: &str) -> Output {
    let a = args(case, artifact);
    ferry(&a.iter().map(String::as_str).collect::<Vec<_>>())
}

/// For the cases whose failure the bundle checks themselves decide, what stderr must say (so a
/// case fails for its own reason, not an earlier accident). The others are decided by the
/// certificate, log and timestamp checks and are held only to exit 1.
const REASONS: &[(&str, &str)] = &[
    ("bundle-malformed-json_fail", "sigstore bundle is malformed"),
    ("bundle-unknown-version_fail", "media type"),
    (
        "bundle-empty-certificate-chain_fail",
        "x509CertificateChain is empty",
    ),
    ("bundle-with-root-cert_fail", "root certificate"),
    ("bundle-negative-log-index_fail", "logIndex \"-1\""),
    ("bundle-invalid-base64-signature_fail", "not base64"),
    ("intoto-missing-inclusion-proof_fail", "no inclusion proof"),
    ("rekor2-no-inclusion-proof_fail", "no inclusion proof"),
    ("rekor2-no-timestamp_fail", "no verified signing time"),
    ("managed-key-no-key_fail", "managed key"),
    ("managed-key-wrong-key_fail", "--key"),
    ("message-digest-mismatch_fail", "messageDigest"),
    ("wrong-material_fail", "messageDigest"),
    ("signature-mismatch_fail", "signature does not verify"),
    (
        "dsse-invalid-sig_fail",
        "DSSE envelope signature does not verify",
    ),
];

/// Asserts the outcome the folder's name asks for.
fn check(case: &str, o: &Output) {
    let err = stderr(o);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!err.contains("panicked"), "{case}: ferry panicked:\n{err}");
    if case.ends_with("_fail") {
        assert_eq!(
            o.status.code(),
            Some(1),
            "{case} must fail verification (exit 1), got {}:\n{err}",
            o.status
        );
        assert!(err.contains("error: "), "{case}: no error line:\n{err}");
        // Refusing because a check is missing is not a verdict on the bundle.
        assert!(
            !err.contains("not implemented"),
            "{case} failed only because a check is not implemented:\n{err}"
        );
        if let Some((_, why)) = REASONS.iter().find(|(c, _)| *c == case) {
            assert!(err.contains(why), "{case} must fail for {why:?}:\n{err}");
        }
        assert!(out.is_empty(), "{case}: a failure printed on stdout: {out}");
    } else {
        assert_eq!(
            o.status.code(),
            Some(0),
            "{case} must verify, got {}:\n{err}",
            o.status
        );
        assert!(
            out.starts_with("verified: ") && out.lines().count() == 1,
            "{case}: expected one `verified:` line, got {out:?}"
        );
    }
}

fn case(case: &str) {
    let dir = Path::new(VECTORS).join(case);
    check(case, &run(case, &artifact_path(&dir).display().to_string()));
}

macro_rules! cases {
    ($($name:ident => $dir:literal,)*) => {
        $(
            #[test]
            fn $name() {
                case($dir);
            }
        )*
        /// Every case folder, by name.
        const CASES: &[&str] = &[$($dir),*];
    };
}

cases! {
    bundle_empty_certificate_chain_fail => "bundle-empty-certificate-chain_fail",
    bundle_from_wrong_instance_fail => "bundle-from-wrong-instance_fail",
    bundle_invalid_base64_signature_fail => "bundle-invalid-base64-signature_fail",
    bundle_malformed_json_fail => "bundle-malformed-json_fail",
    bundle_negative_log_index_fail => "bundle-negative-log-index_fail",
    bundle_unknown_version_fail => "bundle-unknown-version_fail",
    bundle_with_root_cert_fail => "bundle-with-root-cert_fail",
    bundle_with_sct_with_extensions => "bundle-with-sct-with-extensions",
    checkpoint_bad_keyhint_fail => "checkpoint-bad-keyhint_fail",
    checkpoint_wrong_roothash_fail => "checkpoint-wrong-roothash_fail",
    dsse_invalid_sig_fail => "dsse-invalid-sig_fail",
    dsse_mismatch_envelope_fail => "dsse-mismatch-envelope_fail",
    dsse_mismatch_sig_fail => "dsse-mismatch-sig_fail",
    happy_path_intoto_in_dsse_v3 => "happy-path-intoto-in-dsse-v3",
    happy_path_v0_1 => "happy-path-v0.1",
    happy_path_v0_2 => "happy-path-v0.2",
    happy_path_v0_3 => "happy-path-v0.3",
    happy_path_v0_3_new_mediatype => "happy-path-v0.3-new-mediaType",
    inclusion_proof_corrupted_hash_fail => "inclusion-proof-corrupted-hash_fail",
    incorrect_public_key_fail => "incorrect-public-key_fail",
    integrated_time_in_future_fail => "integrated-time-in-future_fail",
    intoto_expired_certificate_fail => "intoto-expired-certificate_fail",
    intoto_log_entry_mismatch_fail => "intoto-log-entry-mismatch_fail",
    intoto_missing_inclusion_proof_fail => "intoto-missing-inclusion-proof_fail",
    intoto_set_outside_signing_cert_validity_fail => "intoto-set-outside-signing-cert-validity_fail",
    intoto_tsa_timestamp_outside_cert_validity_fail => "intoto-tsa-timestamp-outside-cert-validity_fail",
    intoto_with_custom_trust_root => "intoto-with-custom-trust-root",
    invalid_checkpoint_signature_fail => "invalid-checkpoint-signature_fail",
    invalid_ct_key_fail => "invalid-ct-key_fail",
    invalid_inclusion_proof_fail => "invalid-inclusion-proof_fail",
    managed_key_and_trusted_root => "managed-key-and-trusted-root",
    managed_key_happy_path => "managed-key-happy-path",
    managed_key_no_key_fail => "managed-key-no-key_fail",
    managed_key_wrong_key_fail => "managed-key-wrong-key_fail",
    message_digest_mismatch_fail => "message-digest-mismatch_fail",
    rekor2_checkpoint_cosigned => "rekor2-checkpoint-cosigned",
    rekor2_checkpoint_missing_log_signature_fail => "rekor2-checkpoint-missing-log-signature_fail",
    rekor2_checkpoint_missing_origin_fail => "rekor2-checkpoint-missing-origin_fail",
    rekor2_checkpoint_missing_root_hash_fail => "rekor2-checkpoint-missing-root-hash_fail",
    rekor2_checkpoint_missing_size_fail => "rekor2-checkpoint-missing-size_fail",
    rekor2_checkpoint_multiple_cosigs => "rekor2-checkpoint-multiple-cosigs",
    rekor2_checkpoint_no_matching_signature_fail => "rekor2-checkpoint-no-matching-signature_fail",
    rekor2_checkpoint_origin_not_first => "rekor2-checkpoint-origin-not-first",
    rekor2_checkpoint_two_sigs_cosigned => "rekor2-checkpoint-two-sigs-cosigned",
    rekor2_checkpoint_two_sigs_from_origin => "rekor2-checkpoint-two-sigs-from-origin",
    rekor2_dsse_happy_path => "rekor2-dsse-happy-path",
    rekor2_dsse_invalid_sig_fail => "rekor2-dsse-invalid-sig_fail",
    rekor2_dsse_mismatch_envelope_fail => "rekor2-dsse-mismatch-envelope_fail",
    rekor2_dsse_mismatch_sig_fail => "rekor2-dsse-mismatch-sig_fail",
    rekor2_happy_path => "rekor2-happy-path",
    rekor2_no_inclusion_proof_fail => "rekor2-no-inclusion-proof_fail",
    rekor2_no_timestamp_fail => "rekor2-no-timestamp_fail",
    rekor2_timestamp_outside_trust_root_tsa_validity_fail => "rekor2-timestamp-outside-trust-root-tsa-validity_fail",
    rekor2_timestamp_outside_tsa_cert_validity_fail => "rekor2-timestamp-outside-tsa-cert-validity_fail",
    rekor2_timestamp_payload_mismatch_fail => "rekor2-timestamp-payload-mismatch_fail",
    rekor2_timestamp_untrusted_tsa_with_embedded_cert_fail => "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail",
    rekor2_timestamp_untrusted_tsa_without_embedded_cert_fail => "rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail",
    rekor2_timestamp_with_embedded_cert => "rekor2-timestamp-with-embedded-cert",
    rekor2_timestamp_with_expired_cert_chain => "rekor2-timestamp-with-expired-cert-chain",
    rekor2_timestamp_with_incorrect_time_fail => "rekor2-timestamp-with-incorrect-time_fail",
    rekor2_timestamp_without_embedded_cert => "rekor2-timestamp-without-embedded-cert",
    set_invalid_signature_fail => "set-invalid-signature_fail",
    signature_mismatch_fail => "signature-mismatch_fail",
    trust_root_tlog_missing_validity_start_fail => "trust-root-tlog-missing-validity-start_fail",
    trust_root_tlog_validity_end_inclusive => "trust-root-tlog-validity-end-inclusive",
    trust_root_tsa_validity_end_inclusive => "trust-root-tsa-validity-end-inclusive",
    wrong_hashedrekord_artifact_fail => "wrong-hashedrekord-artifact_fail",
    wrong_hashedrekord_cert_and_sig_fail => "wrong-hashedrekord-cert-and-sig_fail",
    wrong_hashedrekord_entry_fail => "wrong-hashedrekord-entry_fail",
    wrong_material_fail => "wrong-material_fail",
}

#[test]
fn every_case_folder_is_listed() {
    let mut on_disk: Vec<String> = std::fs::read_dir(VECTORS)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = CASES.iter().map(|c| c.to_string()).collect();
    listed.sort();
    assert_eq!(listed, on_disk, "the case list differs from {VECTORS}");
    for c in CASES {
        assert!(
            Path::new(VECTORS)
                .join(c)
                .join("bundle.sigstore.json")
                .exists(),
            "{c} has no bundle"
        );
    }
}

/// `sha256:<hex>` of the artifact in place of the file, for a case.
fn digest_arg(case: &str) -> String {
    let bytes = std::fs::read(artifact_path(&Path::new(VECTORS).join(case))).unwrap();
    format!("sha256:{}", sha256_hex(&bytes))
}

#[test]
fn a_message_signature_verifies_from_the_digest_alone() {
    for c in [
        "happy-path-v0.3",
        "managed-key-happy-path",
        "rekor2-happy-path",
    ] {
        check(c, &run(c, &digest_arg(c)));
    }
}

#[test]
fn a_wrong_digest_fails_like_a_wrong_file() {
    let o = run("happy-path-v0.3", &format!("sha256:{}", "0".repeat(64)));
    check("happy-path-v0.3_fail", &o);
    assert!(stderr(&o).contains("messageDigest"), "{}", stderr(&o));
    check(
        "message-digest-mismatch_fail",
        &run(
            "message-digest-mismatch_fail",
            &digest_arg("message-digest-mismatch_fail"),
        ),
    );
}

#[test]
fn keyless_needs_an_identity_and_an_issuer_and_a_key_excludes_them() {
    let bundle = format!("{VECTORS}/happy-path-v0.3/bundle.sigstore.json");
    let a_txt = format!("{VECTORS}/a.txt");
    let key = format!("{VECTORS}/managed-key-happy-path/key.pub");
    let usage: [&[&str]; 5] = [
        &["verify-bundle", "--bundle", &bundle, &a_txt],
        &[
            "verify-bundle",
            "--bundle",
            &bundle,
            "--certificate-identity",
            "x",
            &a_txt,
        ],
        &[
            "verify-bundle",
            "--bundle",
            &bundle,
            "--certificate-oidc-issuer-regexp",
            ".",
            &a_txt,
        ],
        &[
            "verify-bundle",
            "--bundle",
            &bundle,
            "--key",
            &key,
            "--certificate-identity",
            "x",
            &a_txt,
        ],
        &[
            "verify-bundle",
            "--bundle",
            &bundle,
            "--certificate-identity-regexp",
            "(",
            "--certificate-oidc-issuer",
            "x",
            &a_txt,
        ],
    ];
    for a in usage {
        let o = ferry(a);
        assert_eq!(o.status.code(), Some(2), "{a:?}:\n{}", stderr(&o));
    }
    let o = ferry(&["verify-bundle", "--help"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("sigstore 4.5.1"));
}

#[test]
fn an_unreadable_input_is_an_error_naming_it() {
    let o = ferry(&[
        "verify-bundle",
        "--bundle",
        "/nonexistent/b.json",
        "--key",
        &format!("{VECTORS}/managed-key-happy-path/key.pub"),
        &format!("{VECTORS}/a.txt"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot read the bundle /nonexistent/b.json"),
        "{}",
        stderr(&o)
    );
    let o = ferry(&[
        "verify-bundle",
        "--bundle",
        &format!("{VECTORS}/managed-key-happy-path/bundle.sigstore.json"),
        "--key",
        &format!("{VECTORS}/managed-key-wrong-key_fail/key.pub"),
        &format!("{VECTORS}/a.txt"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--key"), "{}", stderr(&o));
}

#[test]
fn a_staging_bundle_verifies_against_the_built_in_staging_root() {
    // bundle-from-wrong-instance_fail is a valid staging bundle: production refuses it (its own
    // case above), `--staging` must accept it.
    let mut a = args(
        "bundle-from-wrong-instance_fail",
        &format!("{VECTORS}/a.txt"),
    );
    a.insert(1, "--staging".into());
    let o = ferry(&a.iter().map(String::as_str).collect::<Vec<_>>());
    check("bundle-from-wrong-instance", &o);
    let o = ferry(&[
        "verify-bundle",
        "--staging",
        "--trusted-root",
        "r.json",
        "--key",
        "k.pub",
        "--bundle",
        "b.json",
        "a.txt",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
