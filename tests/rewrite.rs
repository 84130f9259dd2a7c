//! `ferry map --rewrite`: Kubernetes files and a CNAB bundle.json written here, their images
//! pushed to one real registry, exported, imported into another under `TARGET/team`, then the
//! files rewritten from the import's relocation-mapping.json. The expected names come from
//! the hashed rule computed in the test (`hashed()`), not from ferry's output; every line that
//! holds no image stays byte-identical; kubectl reads the copies (against a discovery-only
//! fake API server, as it needs one even for `--dry-run=client`), and Kubernetes' own schemas
//! accept them (kubernetes-validate, strict); the target serves each relocated reference with
//! the original digest.

use crate::common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::{json, Value};

/// Two registries, the images pushed to the first, exported and imported into the second.
struct Flow {
    src: Registry,
    dst: Registry,
    prefix: String,
    mapping: std::path::PathBuf,
    /// Repository (without host) → manifest digest in the source.
    digests: BTreeMap<&'static str, String>,
    dir: tempfile::TempDir,
}

impl Flow {
    /// `refs`: (repository, tag, index?); `pinned`: exported by `repo:tag@digest`.
    fn start(refs: &[(&'static str, &str, bool)], pinned: &[&'static str]) -> Flow {
        let src = Registry::start();
        let dst = Registry::start();
        let mut digests = BTreeMap::new();
        let mut args = vec!["export".to_string()];
        for (i, (repo, tag, index)) in refs.iter().enumerate() {
            let digest = if *index {
                let platforms = ["linux/amd64", "linux/arm64/v8"];
                push_oci_index(&src, repo, tag, &platforms, false, false)
                    .digest()
                    .to_string()
            } else {
                push_oci_manifest(&src, repo, tag, 40 + i as u64)
                    .digest()
                    .to_string()
            };
            let r = format!("{}/{repo}:{tag}", src.host);
            args.push(if pinned.contains(repo) {
                format!("{r}@{digest}")
            } else {
                r
            });
            digests.insert(*repo, digest);
        }
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("bundle.tar");
        args.extend(["-o".into(), bundle.to_str().unwrap().into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_success(&ferry(&args));
        let prefix = format!("{}/team", dst.host);
        let mapping = dir.path().join("relocation-mapping.json");
        import_mapped(&bundle, &prefix, &mapping);
        Flow {
            src,
            dst,
            prefix,
            mapping,
            digests,
            dir,
        }
    }

    fn path(&self, rel: &str) -> std::path::PathBuf {
        self.dir.path().join(rel)
    }

    /// `SRC/repo:tag` as written in the files.
    fn original(&self, repo: &str, tag: &str) -> String {
        format!("{}/{repo}:{tag}", self.src.host)
    }

    /// The relocated name by DESIGN §5, tag kept; pinned when the mapping knows the digest.
    fn relocated(&self, repo: &str, tag: &str, pinned: bool) -> String {
        let name = hashed(&self.prefix, &format!("{}/{repo}", self.src.host));
        match pinned {
            true => format!("{name}:{tag}@{}", self.digests[repo]),
            false => format!("{name}:{tag}"),
        }
    }

    /// `ferry map --rewrite PATH... --from-mapping M -o OUT EXTRA...`.
    fn rewrite(&self, paths: &[&Path], out: &Path, extra: &[&str]) -> std::process::Output {
        let mut args = vec!["map".to_string()];
        for p in paths {
            args.extend(["--rewrite".into(), p.to_str().unwrap().into()]);
        }
        args.extend([
            "--from-mapping".into(),
            self.mapping.to_str().unwrap().into(),
            "-o".into(),
            out.to_str().unwrap().into(),
        ]);
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ferry(&args)
    }

    /// The target serves `reference` (a relocated name) with the source's digest.
    fn assert_served(&self, reference: &str, repo: &str) {
        let rest = reference
            .strip_prefix(&format!("{}/", self.dst.host))
            .unwrap();
        let (name, at) = match rest.split_once('@') {
            Some((n, d)) => (n.rsplit_once(':').map_or(n, |(n, _)| n), d.to_string()),
            None => {
                let (n, t) = rest.rsplit_once(':').unwrap();
                (n, t.to_string())
            }
        };
        let (bytes, _) = get_manifest_raw(&self.dst, name, &at);
        assert_eq!(common::digest(&bytes), self.digests[repo], "{reference}");
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Lines with their endings, so "byte-identical" covers them too.
fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// Each output line equals its input line, except the lines holding one of `changes`' old
/// references (and no `# not a container` comment), which equal the input line with it
/// replaced by the new one (once).
fn assert_only_image_lines_changed(input: &str, output: &str, changes: &[(&str, &str)]) {
    let (a, b) = (lines(input), lines(output));
    assert_eq!(a.len(), b.len(), "line count:\n{output}");
    let mut used = vec![0; changes.len()];
    for (n, (was, is)) in a.iter().zip(&b).enumerate() {
        let change = changes
            .iter()
            .position(|(old, _)| was.contains(old) && !was.contains("# not a container"));
        match change {
            Some(i) => {
                used[i] += 1;
                let (old, new) = changes[i];
                assert_eq!(*is, was.replacen(old, new, 1), "line {}", n + 1);
            }
            None => assert_eq!(is, was, "line {} changed", n + 1),
        }
    }
    assert!(used.iter().all(|u| *u > 0), "every change seen: {used:?}");
}

/// A discovery-only Kubernetes API: `/api`, `/apis` and the resource lists of v1, apps/v1 and
/// batch/v1; every object GET is 404 (nothing exists yet). kubectl needs this much even for
/// `apply --dry-run=client` (it maps kinds to resources and looks for the live object);
/// `--validate=false` spares the OpenAPI schemas.
fn fake_kube_api() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let res = |name: &str, kind: &str| {
        json!({"name": name, "singularName": "", "namespaced": true, "kind": kind,
               "verbs": ["create", "get", "patch", "list"]})
    };
    let group = |g: &str| {
        json!({"name": g, "versions": [{"groupVersion": format!("{g}/v1"), "version": "v1"}],
               "preferredVersion": {"groupVersion": format!("{g}/v1"), "version": "v1"}})
    };
    let list = |gv: &str, resources: Vec<Value>| json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources});
    let routes: BTreeMap<&str, Value> = BTreeMap::from([
        (
            "/api",
            json!({"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": addr}]}),
        ),
        (
            "/apis",
            json!({"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [group("apps"), group("batch")]}),
        ),
        (
            "/api/v1",
            list(
                "v1",
                vec![res("pods", "Pod"), res("configmaps", "ConfigMap")],
            ),
        ),
        (
            "/apis/apps/v1",
            list("apps/v1", vec![res("deployments", "Deployment")]),
        ),
        (
            "/apis/batch/v1",
            list(
                "batch/v1",
                vec![res("jobs", "Job"), res("cronjobs", "CronJob")],
            ),
        ),
    ]);
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let req = String::from_utf8_lossy(&req);
            let path = req
                .split(' ')
                .nth(1)
                .unwrap_or("/")
                .split('?')
                .next()
                .unwrap_or("/");
            let (code, body) = match routes.get(path) {
                Some(v) => ("200 OK", v.to_string()),
                None => (
                    "404 Not Found",
                    json!({"kind": "Status", "apiVersion": "v1",
                    "status": "Failure", "reason": "NotFound", "code": 404})
                    .to_string(),
                ),
            };
            let _ = write!(s, "HTTP/1.1 {code}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    format!("http://{addr}")
}

/// Every container image of the objects kubectl would apply (`-o json`, `-R` for jobs/).
fn kubectl_images(dir: &Path, home: &Path) -> Vec<String> {
    let server = fake_kube_api();
    let out = Command::new("kubectl")
        .args(["--server", &server, "--cache-dir"])
        .arg(home.join("kube-cache"))
        .args([
            "apply",
            "--dry-run=client",
            "--validate=false",
            "-o",
            "json",
            "-R",
            "-f",
        ])
        .arg(dir)
        .env("HOME", home)
        .env("KUBECONFIG", home.join("no-kubeconfig"))
        .output()
        .expect("run kubectl");
    assert!(
        out.status.success(),
        "kubectl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = match v["kind"].as_str() {
        Some("List") => v["items"].as_array().unwrap().clone(),
        _ => vec![v],
    };
    let mut images = Vec::new();
    for item in items {
        let spec = match item["kind"].as_str().unwrap() {
            "Pod" => &item["spec"],
            "CronJob" => &item["spec"]["jobTemplate"]["spec"]["template"]["spec"],
            _ => &item["spec"]["template"]["spec"],
        };
        for list in ["initContainers", "containers"] {
            for c in spec[list].as_array().into_iter().flatten() {
                images.push(c["image"].as_str().unwrap().to_string());
            }
        }
    }
    images.sort();
    images
}

/// Kubernetes 1.32's schemas (the kubectl here), strictly (unknown fields refused), through
/// kubernetes-validate (PyPI, installed by scripts/setup.sh): what kubectl's client dry run
/// cannot check without a real API server to serve the schemas.
fn kube_schemas(files: &[std::path::PathBuf]) -> std::process::Output {
    Command::new(venv_tool(
        "kubernetes-validate",
        "FERRY_KUBERNETES_VALIDATE",
    ))
    .args(["--strict", "--no-warn", "-k", "1.32.0"])
    .args(files)
    .output()
    .expect("run kubernetes-validate")
}

#[test]
fn kubernetes_files_get_the_relocated_images_and_nothing_else_changes() {
    let f = Flow::start(
        &[
            ("app/web", "1", true),
            ("app/worker", "2", false),
            ("tools/busybox", "1.36", false),
            ("app/pinned", "3", false),
        ],
        &["app/pinned"],
    );
    let (web, worker, busybox, pinned) = (
        f.original("app/web", "1"),
        f.original("app/worker", "2"),
        f.original("tools/busybox", "1.36"),
        f.original("app/pinned", "3"),
    );
    let k8s = f.path("k8s");
    let deploy = format!(
        "# The web tier.\n\
         apiVersion: apps/v1\n\
         kind: Deployment\n\
         metadata:\n  name: web   # keep this comment\n\
         spec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata:\n      labels: {{app: web}}\n\
         \x20   spec:\n      containers:\n\
         \x20       - name: web\n          image: {web} # pinned by the release\n\
         \x20       - name: worker\n          image: \"{worker}\"\n\
         ---\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: notes}}\ndata:\n  image: {web}  # not a container\n"
    );
    let pod = format!(
        "apiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: tools\r\nspec:\r\n  initContainers:\r\n\
         \x20 - name: init\r\n    image: &tool {busybox}\r\n  containers:\r\n\
         \x20 - name: again\r\n    image: *tool\r\n\
         \x20 - name: pinned\r\n    image: '{pinned}'\r\n"
    );
    let cron = format!(
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {{name: nightly}}\nspec:\n  schedule: \"0 3 * * *\"\n\
         \x20 jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n\
         \x20         containers:\n            - name: job\n              image: \"{worker}\"   # same image\n"
    );
    write(&k8s.join("deploy.yaml"), &deploy);
    write(&k8s.join("pod.yml"), &pod);
    write(&k8s.join("jobs/cron.yaml"), &cron);
    write(&k8s.join("README.md"), "not a manifest\n");

    let out = f.path("out");
    let o = f.rewrite(&[&k8s], &out, &["--json"]);
    assert_success(&o);
    let written: Value = serde_json::from_slice(&o.stdout).unwrap();
    let counts: Vec<(String, u64)> = written
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            let p = Path::new(w["output"].as_str().unwrap());
            let rel = p.strip_prefix(&out).unwrap().to_str().unwrap().to_string();
            (rel, w["replaced"].as_u64().unwrap())
        })
        .collect();
    let want: Vec<(String, u64)> = [("deploy.yaml", 2), ("jobs/cron.yaml", 1), ("pod.yml", 2)]
        .iter()
        .map(|(p, n)| (p.to_string(), *n))
        .collect();
    assert_eq!(
        counts, want,
        "README.md is not copied; the anchor counts once"
    );
    assert!(
        stderr(&o).contains("deploy.yaml: 2 images replaced"),
        "{}",
        stderr(&o)
    );

    let (r_web, r_worker, r_busybox, r_pinned) = (
        f.relocated("app/web", "1", false),
        f.relocated("app/worker", "2", false),
        f.relocated("tools/busybox", "1.36", false),
        // The mapping holds app/pinned:3@digest: the tag-only reference gets the digest.
        f.relocated("app/pinned", "3", true),
    );
    let read = |p: &Path| std::fs::read_to_string(p).unwrap();
    assert_only_image_lines_changed(
        &deploy,
        &read(&out.join("deploy.yaml")),
        &[(&web, &r_web), (&worker, &r_worker)],
    );
    assert_only_image_lines_changed(
        &pod,
        &read(&out.join("pod.yml")),
        &[(&busybox, &r_busybox), (&pinned, &r_pinned)],
    );
    assert_only_image_lines_changed(
        &cron,
        &read(&out.join("jobs/cron.yaml")),
        &[(&worker, &r_worker)],
    );
    assert_eq!(read(&k8s.join("pod.yml")), pod, "the input is untouched");

    // kubectl reads every copy, with the relocated images (the alias resolved).
    let mut want = vec![
        r_web.clone(),
        r_worker.clone(),
        r_busybox.clone(),
        r_busybox.clone(),
        r_pinned.clone(),
        r_worker.clone(),
    ];
    want.sort();
    assert_eq!(kubectl_images(&out, f.dir.path()), want);
    let copies = ["deploy.yaml", "pod.yml", "jobs/cron.yaml"].map(|p| out.join(p));
    let v = kube_schemas(&copies);
    assert!(
        v.status.success(),
        "the schemas refused a copy: {}{}",
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );
    // The same check refuses a copy that lost a required field, so it is not vacuous.
    let broken = f.path("broken.yaml");
    write(
        &broken,
        &read(&copies[2]).replace("containers:", "containerz:"),
    );
    assert!(!kube_schemas(&[broken]).status.success());
    for (r, repo) in [
        (&r_web, "app/web"),
        (&r_worker, "app/worker"),
        (&r_busybox, "tools/busybox"),
        (&r_pinned, "app/pinned"),
    ] {
        f.assert_served(r, repo);
    }

    // An image the mapping does not have: an error naming file, line and reference, nothing
    // written; --allow-unmapped leaves it as written, with a warning.
    let missing = format!("{}/app/missing:9", f.src.host);
    let extra = f.path("extra/job.json");
    let job = format!(
        "{{\n  \"apiVersion\": \"batch/v1\",\n  \"kind\": \"Job\",\n  \"metadata\": {{\"name\": \"once\"}},\n  \"spec\": {{\"template\": {{\"spec\": {{\"restartPolicy\": \"Never\",\n    \"containers\": [\n      {{\"name\": \"a\", \"image\": \"{web}\"}},\n      {{\"name\": \"b\", \"image\": \"{missing}\"}}\n    ]}}}}}}\n}}\n"
    );
    write(&extra, &job);
    let out2 = f.path("out2");
    let o = f.rewrite(&[&k8s, &extra], &out2, &[]);
    assert_failure(
        &o,
        &[
            "not in the mapping",
            &format!("{}:8: {missing}", extra.display()),
            "spec.template.spec.containers[1].image",
        ],
    );
    assert!(!out2.exists(), "nothing written");
    let o = f.rewrite(&[&k8s, &extra], &out2, &["--allow-unmapped"]);
    assert_success(&o);
    assert!(
        stderr(&o).contains(&format!("warning: {}:8: {missing}", extra.display())),
        "{}",
        stderr(&o)
    );
    let job_out = read(&out2.join("job.json"));
    assert_only_image_lines_changed(&job, &job_out, &[(&web, &r_web)]);
    assert!(job_out.contains(&format!("\"image\": \"{missing}\"")));
    assert_eq!(read(&out2.join("pod.yml")), read(&out.join("pod.yml")));

    // The copies never go onto or inside the inputs.
    let o = f.rewrite(&[&k8s], &k8s.join("relocated"), &[]);
    assert_failure(&o, &["is inside the input directory"]);
    let o = f.rewrite(&[&k8s], &f.path("o3"), &["--emit", "kustomize"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "--rewrite and --emit: usage error"
    );
}

#[test]
fn cnab_bundle_points_at_the_relocated_images_with_original_image() {
    let f = Flow::start(
        &[
            ("cnab/invoker", "0.1.0", false),
            ("cnab/web", "1", true),
            ("cnab/db", "5", false),
        ],
        &[],
    );
    let (inv, web, db) = (
        f.original("cnab/invoker", "0.1.0"),
        f.original("cnab/web", "1"),
        f.original("cnab/db", "5"),
    );
    let bundle = json!({
        "schemaVersion": "v1.0.0",
        "name": "helloworld",
        "version": "0.1.2",
        "description": "An example 'thin' helloworld Cloud-Native Application Bundle",
        "maintainers": [{"name": "Jane Doe", "email": "jane.doe@example.com"}],
        "invocationImages": [{
            "imageType": "docker",
            "image": inv,
            "contentDigest": f.digests["cnab/invoker"],
        }],
        "images": {
            "web": {
                "description": "the web tier",
                "imageType": "oci",
                "image": web,
                "contentDigest": f.digests["cnab/web"],
            },
            "db": {"imageType": "docker", "image": db, "contentDigest": f.digests["cnab/db"]},
            "vm": {"imageType": "qcow2", "image": "https://example.com/disk.img"},
        },
        "parameters": {"port": {"definition": "port", "destination": {"env": "PORT"}}},
        "definitions": {"port": {"type": "integer", "default": 8080}},
    });
    let text = serde_json::to_string_pretty(&bundle).unwrap() + "\n";
    let input = f.path("cnab/bundle.json");
    write(&input, &text);
    let out = f.path("out");
    let o = f.rewrite(&[&input], &out, &[]);
    assert_success(&o);
    assert!(
        stderr(&o).contains("bundle.json: 3 images replaced"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("imageType \"qcow2\""), "{}", stderr(&o));
    let rewritten = std::fs::read_to_string(out.join("bundle.json")).unwrap();
    let got: Value = serde_json::from_str(&rewritten).unwrap();

    let images = [
        (
            "/invocationImages/0",
            &inv,
            f.relocated("cnab/invoker", "0.1.0", false),
            "cnab/invoker",
        ),
        (
            "/images/web",
            &web,
            f.relocated("cnab/web", "1", false),
            "cnab/web",
        ),
        (
            "/images/db",
            &db,
            f.relocated("cnab/db", "5", false),
            "cnab/db",
        ),
    ];
    let mut want = bundle.clone();
    for (at, original, new, repo) in &images {
        let g = got.pointer(at).unwrap();
        assert_eq!(g["image"], json!(new), "{at}");
        assert_eq!(g["originalImage"], json!(original), "{at}");
        assert_eq!(g["contentDigest"], json!(f.digests[repo]), "{at}");
        // duffle's field order (cnab-go's BaseImage): originalImage right after image.
        let keys: Vec<&String> = g.as_object().unwrap().keys().collect();
        let i = keys.iter().position(|k| *k == "image").unwrap();
        assert_eq!(keys[i + 1], "originalImage", "{at}: {keys:?}");
        let w = want.pointer_mut(at).unwrap();
        w["image"] = json!(new);
        w["originalImage"] = json!(original);
        f.assert_served(new, repo);
    }
    assert_eq!(
        got, want,
        "nothing else changed (the qcow2 image kept as is)"
    );
    // Text in place: the image lines changed, one originalImage line after each, the rest
    // byte-identical.
    let mut expected = String::new();
    for line in lines(&text) {
        match images
            .iter()
            .find(|(_, o, _, _)| line.contains(&format!("\"image\": \"{o}\"")))
        {
            Some((_, original, new, _)) => {
                let indent = &line[..line.find('"').unwrap()];
                expected.push_str(
                    &line
                        .replacen(original.as_str(), new, 1)
                        .replacen(",\n", "", 1),
                );
                expected.push_str(&format!(",\n{indent}\"originalImage\": \"{original}\",\n"));
            }
            None => expected.push_str(line),
        }
    }
    assert_eq!(rewritten, expected);
}
