//! `ferry map --emit kustomize|helm-values|registries-conf`: the outputs' shape (snapshots
//! under tests/snapshots/), helm values read back and checked field by field against the
//! mapping, kustomize applying the images list (`kubectl kustomize`), and skopeo pulling an original name from the relocated repository
//! through the emitted registries.conf, against two real registries.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::json;

const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const APP: &str = "sha256:4747096579626d85d3b8799ecf800fa213209b1722c49df0acaeee73f8eb58b9";
const ALPINE: &str = "reg.local/team/library-alpine-aa9f004b7c590008e29376c2aed751f6";
const PROXY: &str = "reg.local/team/istio-proxyv2-f93a2cacc6cafa0474a2d6990a4dd1a0";
const ORG_APP: &str = "reg.local/team/org-app-bfa45dc56f52607ccfc6f0518f9e6858";
const TOOL: &str = "reg.local/team/x-y-41ccc4c3ee234062dd5a79e9407de9b1";

/// A relocation-mapping.json as `ferry import --to reg.local/team` writes it: alpine pinned
/// to a digest, two tags of one repository, a digest-only reference, a registry with a port.
fn write_mapping(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("relocation-mapping.json");
    let m = json!({
        "docker.io/library/alpine:3.19": format!("{ALPINE}:3.19@{D1}"),
        "docker.io/istio/proxyv2:1.1": format!("{PROXY}:1.1"),
        "docker.io/istio/proxyv2:1.2": format!("{PROXY}:1.2"),
        format!("quay.io/org/app@{APP}"): format!("{ORG_APP}@{APP}"),
        "127.0.0.1:5000/x/y:t": format!("{TOOL}:t"),
    });
    std::fs::write(&p, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    p
}

fn emit(kind: &str, extra: &[&str]) -> String {
    let mut args = vec!["map", "--emit", kind];
    args.extend(extra);
    let out = ferry(&args);
    assert_success(&out);
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn snapshots_of_the_three_kinds_from_a_mapping_file() {
    let t = tempfile::tempdir().unwrap();
    let mapping = write_mapping(t.path());
    let m = mapping.to_str().unwrap();
    for (kind, snapshot, file) in [
        (
            "kustomize",
            "mirror-kustomization.yaml",
            "kustomization.yaml",
        ),
        (
            "helm-values",
            "mirror-ferry-values.yaml",
            "ferry-values.yaml",
        ),
        (
            "registries-conf",
            "mirror-registries.conf",
            "registries.conf.d/ferry.conf",
        ),
    ] {
        let text = emit(kind, &["--from-mapping", m]);
        common::snapshot::assert_snapshot(snapshot, &text);
        let dir = t.path().join(kind);
        let out = ferry(&[
            "map",
            "--emit",
            kind,
            "--from-mapping",
            m,
            "-o",
            dir.to_str().unwrap(),
        ]);
        assert_success(&out);
        assert!(out.stdout.is_empty(), "-o prints nothing on stdout");
        assert_eq!(std::fs::read_to_string(dir.join(file)).unwrap(), text);
    }
    let insecure = emit(
        "registries-conf",
        &["--from-mapping", m, "--insecure-target"],
    );
    common::snapshot::assert_snapshot("mirror-registries-insecure.conf", &insecure);

    // --to PREFIX IMAGE... maps the same names: registries.conf (names only) is identical.
    let from_images = emit(
        "registries-conf",
        &[
            "--to",
            "reg.local/team",
            "alpine:3.19",
            "istio/proxyv2:1.1",
            "istio/proxyv2:1.2",
            &format!("quay.io/org/app@{APP}"),
            "127.0.0.1:5000/x/y:t",
        ],
    );
    assert_eq!(from_images, emit("registries-conf", &["--from-mapping", m]));
}

/// A strict reader for the YAML subset `--emit helm-values` writes: block mappings indented
/// by two spaces, keys plain or double-quoted, scalar values double-quoted (JSON-compatible
/// escapes) or plain, `#` comment lines. Anything else (lists, flow style, tabs, a value and
/// children at once, a repeated key) panics, so a change of shape fails the test rather than
/// being read leniently. Written apart from ferry's writer, so it checks it.
fn read_yaml_mappings(text: &str) -> serde_json::Value {
    use serde_json::{Map, Value};
    /// A double-quoted scalar at the start of `s`, and what follows it.
    fn quoted(s: &str) -> (String, &str) {
        let mut it = serde_json::Deserializer::from_str(s).into_iter::<String>();
        let v = it
            .next()
            .expect("a quoted scalar")
            .expect("a valid quoted scalar");
        (v, &s[it.byte_offset()..])
    }
    // (indent, key, value): value None opens a nested mapping.
    let mut rows: Vec<(usize, String, Option<String>)> = Vec::new();
    for line in text.lines() {
        let body = line.trim_start_matches(' ');
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        assert!(!line.contains('\t'), "tab in {line:?}");
        let indent = line.len() - body.len();
        assert!(indent % 2 == 0, "odd indentation: {line:?}");
        assert!(
            !body.starts_with("- ") && !body.starts_with(['{', '[']),
            "not a block mapping: {line:?}"
        );
        let (key, rest) = if body.starts_with('"') {
            quoted(body)
        } else {
            let i = body
                .find(':')
                .unwrap_or_else(|| panic!("no key in {line:?}"));
            (body[..i].to_string(), &body[i..])
        };
        let rest = rest
            .strip_prefix(':')
            .unwrap_or_else(|| panic!("no ':' after the key: {line:?}"));
        let value = if rest.is_empty() {
            None
        } else {
            let v = rest
                .strip_prefix(' ')
                .unwrap_or_else(|| panic!("no space after ':': {line:?}"));
            Some(if v.starts_with('"') {
                let (v, after) = quoted(v);
                assert!(after.is_empty(), "text after the value: {line:?}");
                v
            } else {
                assert!(
                    !v.starts_with(['{', '[', '&', '*', '!', '|', '>']),
                    "not a plain scalar: {line:?}"
                );
                v.to_string()
            })
        };
        rows.push((indent, key, value));
    }
    fn build(rows: &[(usize, String, Option<String>)], at: &mut usize, indent: usize) -> Value {
        let mut m = Map::new();
        while let Some((i, key, value)) = rows.get(*at) {
            if *i < indent {
                break;
            }
            assert_eq!(*i, indent, "unexpected indentation at {key:?}");
            *at += 1;
            let v = match value {
                Some(v) => {
                    let deeper = rows.get(*at).is_some_and(|(j, _, _)| *j > indent);
                    assert!(!deeper, "{key:?} has a value and children");
                    Value::String(v.clone())
                }
                None => build(rows, at, indent + 2),
            };
            assert!(m.insert(key.clone(), v).is_none(), "repeated key {key:?}");
        }
        Value::Object(m)
    }
    let mut at = 0;
    let v = build(&rows, &mut at, 0);
    assert_eq!(at, rows.len(), "lines left over");
    v
}

/// The parts helm values give for a relocated reference `HOST/REPO[:TAG][@DIGEST]`, split here
/// by hand (the tag is after the last ':' that follows the last '/').
fn parts_of(relocated: &str) -> serde_json::Value {
    let (name, digest) = match relocated.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (relocated, None),
    };
    let (registry, path) = name.split_once('/').unwrap();
    let slash = path.rfind('/').unwrap_or(0);
    let (repository, tag) = match path[slash..].rfind(':') {
        Some(i) => (&path[..slash + i], Some(&path[slash + i + 1..])),
        None => (path, None),
    };
    let mut v = json!({"image": relocated, "registry": registry, "repository": repository});
    if let Some(t) = tag {
        v["tag"] = json!(t);
    }
    if let Some(d) = digest {
        v["digest"] = json!(d);
    }
    v
}

#[test]
fn helm_values_hold_every_mapping_entry_split_into_its_parts() {
    let t = tempfile::tempdir().unwrap();
    let mapping = write_mapping(t.path());
    let m: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&mapping).unwrap()).unwrap();
    let text = emit(
        "helm-values",
        &["--from-mapping", mapping.to_str().unwrap()],
    );
    let values = read_yaml_mappings(&text);
    // Only `ferry.images`, keyed by every original reference of the mapping, each holding the
    // relocated reference whole and in parts.
    let want: serde_json::Map<String, serde_json::Value> = m
        .iter()
        .map(|(original, relocated)| (original.clone(), parts_of(relocated.as_str().unwrap())))
        .collect();
    assert_eq!(values, json!({"ferry": {"images": want}}), "{text}");
    // The split by hand is right on the fixture's shapes (a digest-pinned tag, a digest only,
    // a registry with a port on the original side).
    assert_eq!(
        parts_of(&format!("{ALPINE}:3.19@{D1}")),
        json!({"image": format!("{ALPINE}:3.19@{D1}"), "registry": "reg.local",
               "repository": ALPINE.strip_prefix("reg.local/").unwrap(), "tag": "3.19", "digest": D1})
    );
    assert_eq!(
        parts_of(&format!("{ORG_APP}@{APP}")),
        json!({"image": format!("{ORG_APP}@{APP}"), "registry": "reg.local",
               "repository": ORG_APP.strip_prefix("reg.local/").unwrap(), "digest": APP})
    );
}

#[test]
fn usage_errors_are_clean() {
    let t = tempfile::tempdir().unwrap();
    let m = write_mapping(t.path());
    let m = m.to_str().unwrap();
    let bad = t.path().join("bad.json");
    std::fs::write(&bad, r#"{"a:1": "r.local/t/x:1", "b:1": "r.local/t/x:1"}"#).unwrap();
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec![
                "--emit",
                "kustomize",
                "--from-mapping",
                m,
                "--insecure-target",
            ],
            vec!["--insecure-target applies to --emit registries-conf only"],
        ),
        (
            vec!["--emit", "helm-values", "--from-mapping", m, "--key", m],
            vec!["--key applies to --emit policy-json only"],
        ),
        (
            vec![
                "--emit",
                "registries-conf",
                "--from-mapping",
                bad.to_str().unwrap(),
            ],
            vec!["both relocated to", "r.local/t/x"],
        ),
        (
            vec![
                "--emit",
                "kustomize",
                "--from-mapping",
                "/nonexistent/m.json",
            ],
            vec!["cannot read the mapping file", "/nonexistent/m.json"],
        ),
    ];
    for (extra, needles) in cases {
        let mut args = vec!["map"];
        args.extend(extra);
        assert_failure(&ferry(&args), &needles);
    }
}

/// The images of the containers in kustomize's output, in order.
fn images_in(yaml: &str) -> Vec<String> {
    yaml.lines()
        .filter_map(|l| l.trim().trim_start_matches("- ").strip_prefix("image: "))
        .map(|s| s.trim_matches('"').to_string())
        .collect()
}

#[test]
fn kubectl_kustomize_renames_every_spelling_and_nothing_else() {
    require_kubectl();
    let t = tempfile::tempdir().unwrap();
    let mapping = write_mapping(t.path());
    let app = t.path().join("app");
    let out = ferry(&[
        "map",
        "--emit",
        "kustomize",
        "--from-mapping",
        mapping.to_str().unwrap(),
        "-o",
        app.join("ferry").to_str().unwrap(),
    ]);
    assert_success(&out);
    let originals = [
        "alpine:3.19".to_string(),
        "docker.io/library/alpine:3.19".into(),
        "library/alpine:3.19".into(),
        "docker.io/alpine:3.19".into(),
        "istio/proxyv2:1.1".into(),
        "docker.io/istio/proxyv2:1.2".into(),
        format!("quay.io/org/app@{APP}"),
        "127.0.0.1:5000/x/y:t".into(),
        "nginx:1.25".into(),
        "quay.io/org/app-other:1".into(),
    ];
    let mut pod =
        String::from("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n");
    for (i, image) in originals.iter().enumerate() {
        pod.push_str(&format!("  - name: c{i}\n    image: {image}\n"));
    }
    std::fs::write(app.join("pod.yaml"), pod).unwrap();
    std::fs::write(
        app.join("kustomization.yaml"),
        "resources:\n- pod.yaml\ncomponents:\n- ferry\n",
    )
    .unwrap();
    let out = run(Command::new("kubectl").arg("kustomize").arg(&app));
    let rendered = String::from_utf8(out.stdout).unwrap();
    let want = [
        format!("{ALPINE}@{D1}"),
        format!("{ALPINE}@{D1}"),
        format!("{ALPINE}@{D1}"),
        format!("{ALPINE}@{D1}"),
        format!("{PROXY}:1.1"),
        format!("{PROXY}:1.2"),
        format!("{ORG_APP}@{APP}"),
        format!("{TOOL}:t"),
        "nginx:1.25".into(),
        "quay.io/org/app-other:1".into(),
    ];
    assert_eq!(images_in(&rendered), want, "{rendered}");
}

/// `skopeo inspect --raw docker://{image}` with `conf` as registries.conf; Err(stderr).
fn skopeo_raw(conf: &Path, image: &str, extra: &[&str]) -> Result<Vec<u8>, String> {
    let o = Command::new("skopeo")
        .arg("--registries-conf")
        .arg(conf)
        .args(["inspect", "--raw", "--retry-times", "0"])
        .args(extra)
        .arg(format!("docker://{image}"))
        .output()
        .expect("run skopeo (scripts/setup.sh installs it)");
    if o.status.success() {
        Ok(o.stdout)
    } else {
        Err(String::from_utf8_lossy(&o.stderr).to_string())
    }
}

#[test]
fn skopeo_pulls_the_original_name_from_the_relocated_repository() {
    let origin = Registry::start();
    let target = Registry::start();
    let original = format!("{}/app/web:1", origin.host);
    // The original name still exists on its own registry, with other bytes.
    let decoy = push_oci_manifest(&origin, "app/web", "1", 21);
    let prefix = format!("{}/team", target.host);
    let out = ferry(&["map", "--to", &prefix, &original]);
    assert_success(&out);
    let relocated_ref = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let repo = relocated_ref
        .strip_prefix(&format!("{}/", target.host))
        .and_then(|r| r.strip_suffix(":1"))
        .unwrap_or_else(|| panic!("unexpected relocated name {relocated_ref}"));
    assert!(repo.starts_with("team/app-web-"), "{repo}");
    let relocated = push_oci_manifest(&target, repo, "1", 22);
    assert_ne!(decoy.digest(), relocated.digest());

    let t = tempfile::tempdir().unwrap();
    let empty = t.path().join("empty.conf");
    std::fs::write(&empty, "").unwrap();
    let control = skopeo_raw(&empty, &original, &["--tls-verify=false"]).unwrap();
    assert_eq!(digest(&control), decoy.digest());

    // With --insecure-target, the file alone makes skopeo speak http to the target.
    let dir = t.path().join("insecure");
    let emit = |dir: &Path, extra: &[&str]| {
        let mut args = vec![
            "map",
            "--emit",
            "registries-conf",
            "--to",
            &prefix,
            &original,
            "-o",
            dir.to_str().unwrap(),
        ];
        args.extend(extra);
        assert_success(&ferry(&args));
        dir.join("registries.conf.d/ferry.conf")
    };
    let conf = emit(&dir, &["--insecure-target"]);
    let raw = skopeo_raw(&conf, &original, &[]).unwrap();
    assert_eq!(raw, relocated.manifest.bytes);
    assert_eq!(digest(&raw), relocated.digest());
    // So do pulls of the relocated name itself (the per-host entry).
    let raw = skopeo_raw(&conf, &relocated_ref, &[]).unwrap();
    assert_eq!(digest(&raw), relocated.digest());

    // The whole image (manifest, config, layer) comes from there.
    let copied = t.path().join("copied");
    let o = Command::new("skopeo")
        .arg("--registries-conf")
        .arg(&conf)
        .args(["--insecure-policy", "copy", "--quiet", "--retry-times", "0"])
        .arg(format!("docker://{original}"))
        .arg(format!("dir:{}", copied.display()))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read(copied.join("manifest.json")).unwrap(),
        relocated.manifest.bytes
    );
    for blob in relocated.blob_digests() {
        let hex = blob.strip_prefix("sha256:").unwrap();
        let bytes = std::fs::read(copied.join(hex)).unwrap();
        assert_eq!(digest(&bytes), blob);
    }

    // Without it, https is required (the test registries speak http) unless the command
    // line turns verification off; the rename still applies.
    let conf = emit(&t.path().join("secure"), &[]);
    let err = skopeo_raw(&conf, &original, &[]).unwrap_err();
    assert!(err.contains(&target.host), "{err}");
    assert!(err.contains("https") || err.contains("HTTP"), "{err}");
    let raw = skopeo_raw(&conf, &original, &["--tls-verify=false"]).unwrap();
    assert_eq!(digest(&raw), relocated.digest());
}
