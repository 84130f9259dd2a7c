//! `ferry import` into a registry that demands credentials: distribution 2.8.2 with
//! `auth: token` and the harness's token issuer (a real JWT flow). Cross-repository mounts,
//! moved tags, `--no-overwrite` and refused credentials.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Output;

use common::*;

const USER: &str = "bob";
const PASS: &str = "Imp-9c41d7-not-in-output";

fn read_mapping(p: &Path) -> BTreeMap<String, String> {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn export(refs: &[String], out: &Path) {
    let mut args = vec!["export"];
    args.extend(refs.iter().map(String::as_str));
    args.extend(["-o", out.to_str().unwrap()]);
    assert_success(&ferry(&args));
}

/// `ferry import BUNDLE --to PREFIX --username USER --password-stdin` with `password` on stdin.
fn import(bundle: &Path, to: &str, mapping: &Path, password: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "import",
        bundle.to_str().unwrap(),
        "--to",
        to,
        "--mapping-out",
        mapping.to_str().unwrap(),
        "--username",
        USER,
        "--password-stdin",
    ];
    args.extend(extra);
    ferry_run(ferry_cmd(&args), Some(&format!("{password}\n")))
}

fn assert_no_secret(o: &Output, secret: &str) {
    for s in [&o.stdout, &o.stderr] {
        let text = String::from_utf8_lossy(s);
        assert!(
            !text.contains(secret),
            "the password appears in ferry's output:\n{text}"
        );
    }
}

/// `repository:NAME:a,b` → (NAME, {a, b}).
fn scope_actions(scope: &str) -> Option<(String, BTreeSet<String>)> {
    let rest = scope.strip_prefix("repository:")?;
    let (name, actions) = rest.rsplit_once(':')?;
    Some((
        name.to_string(),
        actions.split(',').map(str::to_string).collect(),
    ))
}

fn set(actions: &[&str]) -> BTreeSet<String> {
    actions.iter().map(|a| a.to_string()).collect()
}

/// Requests that change the registry (uploads, mounts, manifest PUTs, deletes).
fn writes(reqs: &[Access]) -> Vec<&Access> {
    reqs.iter()
        .filter(|a| matches!(a.method.as_str(), "PUT" | "POST" | "PATCH" | "DELETE"))
        .collect()
}

#[test]
fn shared_layer_is_mounted_into_the_second_repository() {
    let src = Registry::start();
    let one = push_oci_index(&src, "src/one", "v1", &["linux/amd64"], true, false);
    let two = push_oci_index(
        &src,
        "src/two",
        "v2",
        &["linux/amd64", "linux/arm64/v8"],
        true,
        false,
    );
    let shared = one.images[0].layers[0].digest().to_string();
    assert!(
        two.blob_digests().contains(&shared),
        "fixture: no shared layer"
    );
    let refs = vec![
        format!("{}/src/one:v1", src.host),
        format!("{}/src/two:v2", src.host),
    ];
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle.tar");
    export(&refs, &bundle);

    let dst = Registry::start_token(USER, PASS, Anonymous::Deny);
    let issuer = dst.token.as_ref().unwrap();
    issuer.clear();
    let prefix = format!("{}/team", dst.host);
    let mapping = dir.path().join("mapping.json");
    let o = import(&bundle, &prefix, &mapping, PASS, &[]);
    assert_success(&o);
    assert_no_secret(&o, PASS);

    // Every relocated reference serves the original digest, by tag and by digest.
    let creds = format!("{USER}:{PASS}");
    let mut want = BTreeMap::new();
    let mut repos = Vec::new();
    for (r, d) in refs.iter().zip([one.digest(), two.digest()]) {
        let (name, tag) = r.rsplit_once(':').unwrap();
        let target = hashed(&prefix, name);
        want.insert(r.clone(), format!("{target}:{tag}"));
        let repo = target
            .strip_prefix(&format!("{}/", dst.host))
            .unwrap()
            .to_string();
        for reference in [format!("{repo}:{tag}"), format!("{repo}@{d}")] {
            let raw = skopeo_inspect_raw(&dst.host, &reference, &["--creds", &creds]);
            assert_eq!(digest(&raw), d, "{reference}");
        }
        repos.push(repo);
    }
    assert_eq!(read_mapping(&mapping), want, "mapping file");

    // The shared layer went in once by upload, and into the other repository by a mount.
    let hex = shared.trim_start_matches("sha256:");
    let reqs = dst.requests();
    let puts: Vec<&Access> = reqs
        .iter()
        .filter(|a| a.method == "PUT" && a.path.contains("digest=") && a.path.contains(hex))
        .collect();
    assert_eq!(puts.len(), 1, "the shared layer was uploaded {puts:?}");
    assert_eq!(puts[0].status, 201, "{puts:?}");
    let mounts: Vec<&Access> = reqs
        .iter()
        .filter(|a| a.method == "POST" && a.path.contains("mount=") && a.path.contains(hex))
        .collect();
    let mount = mounts
        .iter()
        .find(|a| a.status == 201)
        .unwrap_or_else(|| panic!("no mount of {shared} answered 201: {mounts:?}"));
    let (to, from) = if mount.path.starts_with(&format!("/v2/{}/", repos[1])) {
        (&repos[1], &repos[0])
    } else {
        (&repos[0], &repos[1])
    };
    assert!(
        mount.path.starts_with(&format!("/v2/{to}/blobs/uploads/?")),
        "{mount:?}"
    );
    assert!(
        puts[0]
            .path
            .starts_with(&format!("/v2/{from}/blobs/uploads/")),
        "the upload went to {:?}, the mount came from {from}",
        puts[0]
    );
    // One blob of each repository's own goes in by upload: only the shared one is mounted.
    assert_eq!(
        reqs.iter()
            .filter(|a| a.method == "POST" && a.path.contains("mount=") && a.status == 201)
            .count(),
        1,
        "{reqs:?}"
    );

    // The token for the mount named both repositories: pull on the source of the mount and
    // pull,push on its destination (actions in any order).
    let tokens = issuer.requests();
    assert!(
        tokens
            .iter()
            .all(|t| t.status == 200 && t.credentials == Credentials::Valid),
        "{tokens:?}"
    );
    let mount_token = tokens.iter().find(|t| {
        let scopes: BTreeMap<String, BTreeSet<String>> =
            t.scopes.iter().filter_map(|s| scope_actions(s)).collect();
        scopes.get(from) == Some(&set(&["pull"])) && scopes.get(to) == Some(&set(&["pull", "push"]))
    });
    assert!(
        mount_token.is_some(),
        "no token request carried repository:{from}:pull and repository:{to}:pull,push: {tokens:?}"
    );
    // No token was asked for a repository outside the two targets.
    for t in &tokens {
        for s in &t.scopes {
            let (name, _) = scope_actions(s).unwrap_or_else(|| panic!("scope {s}"));
            assert!(repos.contains(&name), "token for {s}");
        }
    }
}

#[test]
fn moved_tags_are_reported_and_no_overwrite_refuses_before_pushing() {
    let src = Registry::start();
    let app = push_oci_manifest(&src, "src/app", "v1", 11);
    let lib = push_oci_manifest(&src, "src/lib", "v1", 13);
    let sources = vec![
        format!("{}/src/app:v1", src.host),
        format!("{}/src/lib:v1", src.host),
    ];
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle.tar");
    export(&sources, &bundle);

    let dst = Registry::start_token(USER, PASS, Anonymous::Deny);
    let prefix = format!("{}/team", dst.host);
    let targets: Vec<String> = ["src/app", "src/lib"]
        .iter()
        .map(|n| hashed(&prefix, &format!("{}/{n}", src.host)))
        .collect();
    let repos: Vec<&str> = targets
        .iter()
        .map(|t| t.strip_prefix(&format!("{}/", dst.host)).unwrap())
        .collect();
    // The second image's target tag already points at other content; the first is new.
    let seeder = dst.client_with(Auth::basic(USER, PASS));
    let old = push_oci_manifest(&seeder, repos[1], "v1", 12);
    assert_ne!(old.digest(), lib.digest());

    // --no-overwrite: refused after HEADs only, naming the tag; nothing of either image moves.
    let before = dst.requests().len();
    let mapping = dir.path().join("refused.json");
    let o = import(&bundle, &prefix, &mapping, PASS, &["--no-overwrite"]);
    let tag = format!("{}:v1", targets[1]);
    assert_failure(&o, &["--no-overwrite", &tag, old.digest()]);
    assert!(!stderr(&o).contains(&targets[0]), "{}", stderr(&o));
    assert_no_secret(&o, PASS);
    let during = dst.requests()[before..].to_vec();
    let heads = during.iter().filter(|a| a.method == "HEAD").count();
    assert!(heads > 0, "no HEAD: {during:?}");
    assert!(
        writes(&during).is_empty(),
        "--no-overwrite wrote: {:?}",
        writes(&during)
    );
    assert!(!mapping.exists(), "a mapping file was written");
    assert_eq!(seeder.head_manifest(repos[0], "v1"), 404);
    assert_eq!(seeder.head_manifest(repos[1], lib.digest()), 404);
    let (raw, _) = seeder.get_manifest_raw(repos[1], "v1");
    assert_eq!(digest(&raw), old.digest());

    // Without it: the tag moves, stderr says from what to what, and --json lists it.
    let mapping = dir.path().join("moved.json");
    let o = import(&bundle, &prefix, &mapping, PASS, &["--json"]);
    assert_success(&o);
    assert_no_secret(&o, PASS);
    let err = stderr(&o);
    let line = format!("moved tag {tag}: {} -> {}", old.digest(), lib.digest());
    assert!(err.contains(&line), "stderr lacks {line:?}:\n{err}");
    assert_eq!(err.matches("moved tag").count(), 1, "{err}");
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let moved = summary["moved_tags"].as_array().unwrap();
    assert_eq!(moved.len(), 1, "{summary}");
    assert_eq!(moved[0]["reference"], tag.as_str());
    assert_eq!(moved[0]["old"], old.digest());
    assert_eq!(moved[0]["new"], lib.digest());
    let creds = format!("{USER}:{PASS}");
    for (repo, img) in repos.iter().zip([&app, &lib]) {
        let raw = skopeo_inspect_raw(&dst.host, &format!("{repo}:v1"), &["--creds", &creds]);
        assert_eq!(digest(&raw), img.digest(), "{repo}:v1");
    }
    let want: BTreeMap<String, String> = sources
        .iter()
        .zip(&targets)
        .map(|(s, t)| (s.clone(), format!("{t}:v1")))
        .collect();
    assert_eq!(read_mapping(&mapping), want);

    // Once more: every tag is where it should be, so nothing is moved or refused.
    let o = import(&bundle, &prefix, &mapping, PASS, &["--no-overwrite"]);
    assert_success(&o);
    assert!(!stderr(&o).contains("moved tag"), "{}", stderr(&o));
}

#[test]
fn refused_credentials_fail_cleanly_without_the_password() {
    let src = Registry::start();
    push_oci_manifest(&src, "src/app", "v1", 21);
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle.tar");
    export(&[format!("{}/src/app:v1", src.host)], &bundle);

    let dst = Registry::start_token(USER, PASS, Anonymous::Deny);
    let prefix = format!("{}/team", dst.host);
    let mapping = dir.path().join("mapping.json");
    let wrong = "Wrong-Imp-5e0b-secret";
    let o = import(&bundle, &prefix, &mapping, wrong, &[]);
    assert_failure(&o, &["refused the credentials", &dst.host]);
    assert_no_secret(&o, wrong);
    assert_no_secret(&o, PASS);
    assert!(!mapping.exists(), "a mapping file was written");
    let tokens = dst.token.as_ref().unwrap().requests();
    assert!(
        tokens.iter().any(|t| t.credentials == Credentials::Invalid),
        "the wrong password never reached the token issuer: {tokens:?}"
    );
    assert!(
        tokens.iter().all(|t| t.status == 401),
        "a token was issued: {tokens:?}"
    );
    let reqs = dst.requests();
    assert!(
        writes(&reqs).iter().all(|a| a.status == 401),
        "a write went through: {reqs:?}"
    );

    // No credentials at all: says how to give them.
    let o = ferry(&[
        "import",
        bundle.to_str().unwrap(),
        "--to",
        &prefix,
        "--mapping-out",
        mapping.to_str().unwrap(),
    ]);
    assert_failure(&o, &["requires credentials"]);
    assert!(!mapping.exists(), "a mapping file was written");
}
