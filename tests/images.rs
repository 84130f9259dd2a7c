//! `ferry images` over Kubernetes manifests written here (every workload kind, init and
//! ephemeral containers, a List, JSON and YAML, comments, anchors, several documents, a
//! ConfigMap and a custom resource), the same through `kubectl kustomize | ferry images -`,
//! its errors, and `export --from` giving the bundle `export -f` gives on the printed list.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::*;

/// A digest for the pinned reference (any 64 hex digits parse).
const PIN: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// Writes the manifests, naming images under `host`, and a kustomization.yaml listing them;
/// `short` adds a Pod whose images are short and pinned names (normalised by ferry).
fn write_manifests(dir: &Path, host: &str, short: bool) {
    let files: Vec<(&str, String)> = vec![
        (
            "pod.yaml",
            format!(
                r#"# A Pod with every kind of container.
apiVersion: v1
kind: Pod
metadata:
  name: web-pod
spec:
  initContainers:
    - name: init
      image: {host}/app/init:1.0
  containers:
    - name: web
      image: "{host}/app/web:1.0"   # quoted, with a comment
  ephemeralContainers:
    - name: debug
      image: '{host}/app/debug:1.0'
"#
            ),
        ),
        (
            "deploy.yaml",
            format!(
                r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
        - name: api
          image: &api {host}/app/api:2.1
      initContainers:
        - name: migrate
          image: *api
---
# the second document
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  selector: {{matchLabels: {{app: db}}}}
  template:
    metadata: {{labels: {{app: db}}}}
    spec:
      containers: [{{name: db, image: "{host}/app/db:15"}}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector: {{matchLabels: {{app: agent}}}}
  template:
    metadata: {{labels: {{app: agent}}}}
    spec:
      containers:
        - name: agent
          image: {host}/app/agent:0.9 # pinned by tag
"#
            ),
        ),
        (
            "batch.json",
            format!(
                r#"{{"apiVersion": "v1", "kind": "List", "items": [
  {{"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {{"name": "rs"}},
   "spec": {{"selector": {{"matchLabels": {{"app": "rs"}}}},
     "template": {{"metadata": {{"labels": {{"app": "rs"}}}},
       "spec": {{"containers": [{{"name": "rs", "image": "{host}/app/rs:1"}}]}}}}}}}},
  {{"apiVersion": "v1", "kind": "ReplicationController", "metadata": {{"name": "rc"}},
   "spec": {{"selector": {{"app": "rc"}},
     "template": {{"metadata": {{"labels": {{"app": "rc"}}}},
       "spec": {{"containers": [{{"name": "rc", "image": "{host}/app/rc:1"}}]}}}}}}}}
]}}
"#
            ),
        ),
        (
            "jobs.yml",
            format!(
                r#"apiVersion: batch/v1
kind: Job
metadata:
  name: once
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: once
          image: {host}/app/job:1
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          initContainers:
            - name: prepare
              image: {host}/app/cron-init:1
          containers:
            - name: run
              image: {host}/app/cron:1
"#
            ),
        ),
        (
            "podtemplate.json",
            format!(
                r#"{{"apiVersion": "v1", "kind": "PodTemplate", "metadata": {{"name": "tpl"}},
 "template": {{"spec": {{"containers": [{{"name": "t", "image": "{host}/app/tpl:1"}}]}}}}}}
"#
            ),
        ),
        (
            "config.yaml",
            format!(
                r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  values.yaml: |
    image: {host}/app/not-an-image:1
"#
            ),
        ),
        (
            "crd.yaml",
            format!(
                r#"apiVersion: example.com/v1
kind: Database
metadata:
  name: orders
spec:
  engine:
    image: {host}/app/crd:3
"#
            ),
        ),
    ];
    let mut names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
    for (name, text) in &files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    if short {
        let pod = format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: short\nspec:\n  containers:\n    - {{name: a, image: nginx}}\n    - {{name: b, image: \"alpine:3.19\"}}\n    - {{name: c, image: {host}/app/web@{PIN}}}\n"
        );
        std::fs::write(dir.join("short.yaml"), pod).unwrap();
        names.push("short.yaml");
    }
    let list: String = names.iter().map(|n| format!("  - {n}\n")).collect();
    std::fs::write(
        dir.join("kustomization.yaml"),
        format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n{list}"
        ),
    )
    .unwrap();
}

/// The images of [`write_manifests`] (without the custom resource's), in the order of the
/// sorted file names and, within a file, of the documents and container lists.
fn expected(host: &str, short: bool) -> Vec<String> {
    let mut v: Vec<String> = [
        "app/rs:1",        // batch.json (List)
        "app/rc:1",        // batch.json (List)
        "app/api:2.1",     // deploy.yaml, the init container and the container (one anchor)
        "app/db:15",       // deploy.yaml
        "app/agent:0.9",   // deploy.yaml
        "app/job:1",       // jobs.yml
        "app/cron-init:1", // jobs.yml
        "app/cron:1",      // jobs.yml
        "app/init:1.0",    // pod.yaml
        "app/web:1.0",     // pod.yaml
        "app/debug:1.0",   // pod.yaml
        "app/tpl:1",       // podtemplate.json
    ]
    .iter()
    .map(|r| format!("{host}/{r}"))
    .collect();
    if short {
        v.push("docker.io/library/nginx:latest".into());
        v.push("docker.io/library/alpine:3.19".into());
        v.push(format!("{host}/app/web@{PIN}"));
    }
    v
}

fn lines(o: &std::process::Output) -> Vec<String> {
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn set(v: &[String]) -> BTreeSet<String> {
    v.iter().cloned().collect()
}

const HOST: &str = "registry.example:5000";

#[test]
fn finds_every_workload_kind_and_names_where() {
    let dir = tempfile::tempdir().unwrap();
    write_manifests(dir.path(), HOST, true);
    let d = dir.path().to_str().unwrap();

    let out = ferry(&["images", d]);
    assert_success(&out);
    let want = expected(HOST, true);
    assert_eq!(lines(&out), want);

    // --any-image-field adds the custom resource's image (crd.yaml sorts before deploy.yaml),
    // never the ConfigMap's string.
    let out = ferry(&["images", "--any-image-field", d]);
    assert_success(&out);
    let mut any = want.clone();
    any.insert(2, format!("{HOST}/app/crd:3"));
    assert_eq!(lines(&out), any);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("not-an-image"));

    // --json: every place, with the resource and the field path.
    let out = ferry(&["images", "--json", d]);
    assert_success(&out);
    let found: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let got: Vec<(String, String, String, String, String)> = found
        .iter()
        .map(|f| {
            let file = f["file"].as_str().unwrap();
            let name = Path::new(file).file_name().unwrap().to_str().unwrap();
            (
                name.to_string(),
                f["resource"].as_str().unwrap().to_string(),
                f["field"].as_str().unwrap().to_string(),
                f["reference"].as_str().unwrap().to_string(),
                f["how"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let pod = "spec.template.spec";
    let want_json: Vec<(&str, &str, String, String)> = vec![
        (
            "batch.json",
            "ReplicaSet/rs",
            format!("items[0].{pod}.containers[0].image"),
            "app/rs:1".into(),
        ),
        (
            "batch.json",
            "ReplicationController/rc",
            format!("items[1].{pod}.containers[0].image"),
            "app/rc:1".into(),
        ),
        (
            "deploy.yaml",
            "Deployment/web",
            format!("{pod}.initContainers[0].image"),
            "app/api:2.1".into(),
        ),
        (
            "deploy.yaml",
            "Deployment/web",
            format!("{pod}.containers[0].image"),
            "app/api:2.1".into(),
        ),
        (
            "deploy.yaml",
            "StatefulSet/db",
            format!("{pod}.containers[0].image"),
            "app/db:15".into(),
        ),
        (
            "deploy.yaml",
            "DaemonSet/agent",
            format!("{pod}.containers[0].image"),
            "app/agent:0.9".into(),
        ),
        (
            "jobs.yml",
            "Job/once",
            format!("{pod}.containers[0].image"),
            "app/job:1".into(),
        ),
        (
            "jobs.yml",
            "CronJob/nightly",
            "spec.jobTemplate.spec.template.spec.initContainers[0].image".into(),
            "app/cron-init:1".into(),
        ),
        (
            "jobs.yml",
            "CronJob/nightly",
            "spec.jobTemplate.spec.template.spec.containers[0].image".into(),
            "app/cron:1".into(),
        ),
        (
            "pod.yaml",
            "Pod/web-pod",
            "spec.initContainers[0].image".into(),
            "app/init:1.0".into(),
        ),
        (
            "pod.yaml",
            "Pod/web-pod",
            "spec.containers[0].image".into(),
            "app/web:1.0".into(),
        ),
        (
            "pod.yaml",
            "Pod/web-pod",
            "spec.ephemeralContainers[0].image".into(),
            "app/debug:1.0".into(),
        ),
        (
            "podtemplate.json",
            "PodTemplate/tpl",
            "template.spec.containers[0].image".into(),
            "app/tpl:1".into(),
        ),
        (
            "short.yaml",
            "Pod/short",
            "spec.containers[0].image".into(),
            "docker.io/library/nginx:latest".into(),
        ),
        (
            "short.yaml",
            "Pod/short",
            "spec.containers[1].image".into(),
            "docker.io/library/alpine:3.19".into(),
        ),
        (
            "short.yaml",
            "Pod/short",
            "spec.containers[2].image".into(),
            format!("app/web@{PIN}"),
        ),
    ];
    let want_json: Vec<_> = want_json
        .into_iter()
        .map(|(file, res, field, r)| {
            let r = if r.starts_with("docker.io/") {
                r
            } else {
                format!("{HOST}/{r}")
            };
            (
                file.to_string(),
                res.to_string(),
                field,
                r,
                "manifest".to_string(),
            )
        })
        .collect();
    assert_eq!(got, want_json);
    // Written as in the file, at the line and column it is written on (the alias's image is
    // the anchor's, so both deploy.yaml entries point at the one place it is written).
    let web = found
        .iter()
        .find(|f| f["field"] == "spec.containers[0].image")
        .unwrap();
    assert_eq!(web["written"], format!("{HOST}/app/web:1.0"));
    let text = std::fs::read_to_string(dir.path().join("pod.yaml")).unwrap();
    let (n, l) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("app/web:1.0"))
        .unwrap();
    assert_eq!(web["line"], n + 1);
    assert_eq!(web["column"], l.find('"').unwrap() + 1);
    assert_eq!(web["document"], 0);
    assert_eq!(found[2]["line"], found[3]["line"]);
    assert_eq!(found[4]["document"], 1);

    // Files named one by one read the same as their directory.
    let files: Vec<String> = [
        "batch.json",
        "deploy.yaml",
        "jobs.yml",
        "pod.yaml",
        "podtemplate.json",
        "short.yaml",
    ]
    .iter()
    .map(|f| dir.path().join(f).to_string_lossy().to_string())
    .collect();
    let mut args = vec!["images"];
    args.extend(files.iter().map(String::as_str));
    let out = ferry(&args);
    assert_success(&out);
    assert_eq!(lines(&out), want);
}

#[test]
fn kubectl_kustomize_piped_in_gives_the_same_set() {
    require_kubectl();
    let dir = tempfile::tempdir().unwrap();
    write_manifests(dir.path(), HOST, true);
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rendered = String::from_utf8(out.stdout).unwrap();
    // kustomize re-serialises: the anchor is gone and the List is flattened.
    assert!(
        !rendered.contains("&api") && !rendered.contains("kind: List"),
        "{rendered}"
    );

    let piped = ferry_run(ferry_cmd(&["images", "-"]), Some(&rendered));
    assert_success(&piped);
    let got = lines(&piped);
    assert_eq!(set(&got), set(&expected(HOST, true)));
    assert_eq!(got.len(), set(&got).len(), "a reference printed twice");

    let piped = ferry_run(
        ferry_cmd(&["images", "--any-image-field", "-"]),
        Some(&rendered),
    );
    assert_success(&piped);
    let mut any = expected(HOST, true);
    any.push(format!("{HOST}/app/crd:3"));
    assert_eq!(set(&lines(&piped)), set(&any));
}

#[test]
fn a_bad_reference_or_a_file_that_is_not_yaml_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: a\n      image: Registry.Example/App:1\n",
    )
    .unwrap();
    let out = ferry(&["images", bad.to_str().unwrap()]);
    assert_failure(
        &out,
        &[
            "bad.yaml:7",
            "spec.containers[0].image",
            "Registry.Example/App:1",
        ],
    );
    assert!(out.stdout.is_empty());

    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, "kind: Pod\nspec: {containers: [\n").unwrap();
    let out = ferry(&["images", broken.to_str().unwrap()]);
    assert_failure(&out, &["broken.yaml", "not YAML or JSON"]);

    // In a directory too; and a text that is YAML but no object is not a manifest either.
    let sub = dir.path().join("k8s");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("a.json"), "{\"kind\": \"Pod\",\n").unwrap();
    let out = ferry(&["images", sub.to_str().unwrap()]);
    assert_failure(&out, &["a.json", "not YAML or JSON"]);
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "just some words\n").unwrap();
    let out = ferry(&["images", notes.to_str().unwrap()]);
    assert_failure(&out, &["notes.txt", "not a Kubernetes object"]);
    let out = ferry(&["images", dir.path().join("absent").to_str().unwrap()]);
    assert_failure(&out, &["absent"]);
}

#[test]
fn export_from_gives_the_bundle_export_f_gives_on_the_printed_list() {
    let reg = Registry::start();
    let dir = tempfile::tempdir().unwrap();
    let k8s = dir.path().join("k8s");
    std::fs::create_dir(&k8s).unwrap();
    write_manifests(&k8s, &reg.host, false);
    let want = expected(&reg.host, false);
    for (i, r) in want.iter().enumerate() {
        let (repo, tag) = r
            .strip_prefix(&format!("{}/", reg.host))
            .unwrap()
            .rsplit_once(':')
            .unwrap();
        push_docker_manifest(&reg, repo, tag, 100 + i as u64);
    }

    let out = ferry(&["images", k8s.to_str().unwrap()]);
    assert_success(&out);
    assert_eq!(lines(&out), want);
    let list = dir.path().join("list.txt");
    std::fs::write(&list, &out.stdout).unwrap();

    let export = |name: &str, args: &[&str]| {
        let bundle = dir.path().join(name);
        let mut a = vec!["export", "-q", "-o", bundle.to_str().unwrap()];
        a.extend_from_slice(args);
        assert_success(&ferry(&a));
        sha256_hex(&std::fs::read(&bundle).unwrap())
    };
    let k = k8s.to_str().unwrap();
    let from_list = export("list.tar", &["-f", list.to_str().unwrap()]);
    let from_dir = export("from.tar", &["--from", k]);
    assert_eq!(from_dir, from_list, "export --from and export -f differ");
    // -f reads the directory as a source too, and a manifest file given to -f is no list.
    assert_eq!(export("f-dir.tar", &["-f", k]), from_list);

    // IMAGE, -f and --from are merged in the order given: the first image first.
    let first = format!("{}/app/tpl:1", reg.host);
    let pods = k8s.join("pod.yaml");
    let merged = dir.path().join("merged.tar");
    let out = ferry(&[
        "export",
        "-q",
        &first,
        "-f",
        pods.to_str().unwrap(),
        "--from",
        k,
        "-o",
        merged.to_str().unwrap(),
    ]);
    assert_success(&out);
    let names: Vec<String> = tarball::index_entries(&tarball::members(&merged))
        .iter()
        .map(|e| {
            e["annotations"]["io.containerd.image.name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let mut order = vec![first.clone()];
    order.extend(["init:1.0", "web:1.0", "debug:1.0"].map(|r| format!("{}/app/{r}", reg.host)));
    let rest: Vec<String> = want
        .iter()
        .filter(|r| !order.contains(r))
        .cloned()
        .collect();
    order.extend(rest);
    assert_eq!(names, order);
}
