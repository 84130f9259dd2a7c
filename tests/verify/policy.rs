//! `ferry map --emit policy-json` (DESIGN §6): the policy's shape (snapshots under
//! tests/snapshots/) and what skopeo does with it against a real registry.

use super::*;

/// `ferry map --emit policy-json` output, with the key path replaced by `KEY`.
fn emit_policy(extra: &[&str], key: &Path) -> String {
    let mut args = vec![
        "map",
        "--emit",
        "policy-json",
        "--key",
        key.to_str().unwrap(),
    ];
    args.extend(extra);
    let out = ferry(&args);
    assert_success(&out);
    let abs = std::fs::canonicalize(key).unwrap();
    stdout(&out).replace(abs.to_str().unwrap(), "KEY")
}

#[test]
fn policy_json_snapshot_from_images_and_from_a_mapping_file() {
    let f = fixture();
    let from_images = emit_policy(
        &["--to", "reg.local/team", "alpine:3.19", "quay.io/org/app@sha256:4747096579626d85d3b8799ecf800fa213209b1722c49df0acaeee73f8eb58b9"],
        &f.key,
    );
    common::snapshot::assert_snapshot("policy.json", &from_images);
    let mapping = f.s.dir.join("relocation-mapping.json");
    std::fs::write(
        &mapping,
        serde_json::to_vec_pretty(&json!({
            "docker.io/library/alpine:3.19": "reg.local/team/library-alpine-aa9f004b7c590008e29376c2aed751f6:3.19",
            "quay.io/org/app:v1": "reg.local/team/org-app-bfa45dc56f52607ccfc6f0518f9e6858:v1",
        }))
        .unwrap(),
    )
    .unwrap();
    let from_file = emit_policy(&["--from-mapping", mapping.to_str().unwrap()], &f.key);
    assert_eq!(from_file, from_images);
    let out_dir = f.s.dir.join("policy");
    emit_policy(
        &[
            "--from-mapping",
            mapping.to_str().unwrap(),
            "-o",
            out_dir.to_str().unwrap(),
        ],
        &f.key,
    );
    let written = std::fs::read_to_string(out_dir.join("policy.json")).unwrap();
    let abs = std::fs::canonicalize(&f.key).unwrap();
    assert_eq!(written.replace(abs.to_str().unwrap(), "KEY"), from_images);
    let yaml = std::fs::read_to_string(out_dir.join("registries.d/ferry.yaml")).unwrap();
    common::snapshot::assert_snapshot("registries.d-ferry.yaml", &yaml);
    // Usage errors are clean.
    assert_failure(
        &ferry(&[
            "map",
            "--emit",
            "policy-json",
            "--to",
            "r.local/t",
            "alpine",
        ]),
        &["--key"],
    );
    assert_failure(
        &ferry(&[
            "map",
            "--emit",
            "policy-json",
            "--key",
            f.s.dir.join("oci-layout").to_str().unwrap(),
            "--to",
            "r.local/t",
            "alpine",
        ]),
        &["not a PEM public key"],
    );
}

/// `skopeo copy` of `docker://{image}` under the policy in `dir`; Err(stderr) when refused.
fn skopeo_copy_with_policy(dir: &Path, image: &str, out: &Path) -> Result<(), String> {
    let o = std::process::Command::new("skopeo")
        .arg("--policy")
        .arg(dir.join("policy.json"))
        .arg("--registries.d")
        .arg(dir.join("registries.d"))
        .args(["copy", "--quiet", "--src-tls-verify=false"])
        .arg(format!("docker://{image}"))
        .arg(format!("dir:{}", out.display()))
        .output()
        .expect("run skopeo (scripts/setup.sh installs it)");
    if o.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&o.stderr).to_string())
    }
}

#[test]
fn skopeo_enforces_the_emitted_policy_on_relocated_repositories() {
    let reg = Registry::start();
    let k = key(5);
    push_oci_manifest(&reg, "team/library-alpine-x", "3.19", 11);
    let signed = push_oci_manifest(&reg, "team/org-signed-y", "1", 12);
    push_cosign_signature(
        &reg.client(),
        "team/org-signed-y",
        "docker.io/org/signed",
        signed.digest(),
        &k,
    );
    push_oci_manifest(&reg, "other/tool", "1", 13);
    let t = tempfile::tempdir().unwrap();
    let pubkey = t.path().join("cosign.pub");
    std::fs::write(&pubkey, public_pem(&k)).unwrap();
    let mapping = t.path().join("relocation-mapping.json");
    let h = &reg.host;
    std::fs::write(
        &mapping,
        serde_json::to_vec(&json!({
            "docker.io/library/alpine:3.19": format!("{h}/team/library-alpine-x:3.19"),
            "docker.io/org/signed:1": format!("{h}/team/org-signed-y:1"),
        }))
        .unwrap(),
    )
    .unwrap();
    let dir = t.path().join("containers");
    emit_policy(
        &[
            "--from-mapping",
            mapping.to_str().unwrap(),
            "-o",
            dir.to_str().unwrap(),
        ],
        &pubkey,
    );

    let err = skopeo_copy_with_policy(
        &dir,
        &format!("{h}/team/library-alpine-x:3.19"),
        &t.path().join("a"),
    )
    .expect_err("an unsigned image in a signed scope must be refused");
    assert!(
        err.contains("A signature was required, but no signature exists"),
        "{err}"
    );

    skopeo_copy_with_policy(&dir, &format!("{h}/other/tool:1"), &t.path().join("b"))
        .expect("an image outside the scopes is copied");

    // The signed image reaches the signature check (Debian's skopeo 1.9 then refuses with
    // "sigstore disabled"; an upstream build accepts it): the signature was found.
    let signed_ref = format!("{h}/team/org-signed-y:1");
    if let Err(e) = skopeo_copy_with_policy(&dir, &signed_ref, &t.path().join("c")) {
        assert!(!e.contains("no signature exists"), "{e}");
    }
    // It was found through the registries.d fragment: without it, no signature exists.
    std::fs::remove_file(dir.join("registries.d/ferry.yaml")).unwrap();
    let err = skopeo_copy_with_policy(&dir, &signed_ref, &t.path().join("d")).unwrap_err();
    assert!(err.contains("no signature exists"), "{err}");
}
