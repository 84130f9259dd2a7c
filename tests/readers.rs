//! Who can read a ferry bundle (README "Who can read a bundle"): bundles exported by ferry
//! from a real registry (distribution 2.8.2), read by the real tools `scripts/setup.sh`
//! installs from Debian — containerd 1.6 (`ctr`), podman 4.3, umoci 0.4 and skopeo 1.9 —
//! each with private state (see `tests/common/readers.rs`). The images hold a real program,
//! `/hello` (static x86-64, no libc), that their config runs and that prints a line of its
//! own, so "runs" below means the reader started the program from the bundle's bytes.
//! Every reader's limits are asserted as they are, failures included.

use crate::common;

use common::readers::*;
use common::tarball::*;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const AMD64: &str = "linux/amd64";
const ARM64: &str = "linux/arm64/v8";

/// What each of the four entry shapes prints.
const MSG: [&str; 4] = [
    "hello from an OCI index\n",
    "hello from an OCI manifest\n",
    "hello from a Docker manifest list\n",
    "hello from a Docker manifest\n",
];

/// The four shapes an entry of a bundle can have, pushed to a registry.
struct Seeded {
    /// OCI index: linux/amd64 (runs, prints `MSG[0]`) and linux/arm64/v8.
    oci_index: ImageIndex,
    /// OCI manifest, linux/amd64, prints `MSG[1]`.
    oci_image: Image,
    /// Docker manifest list: linux/amd64 (prints `MSG[2]`) and linux/arm64/v8.
    docker_list: ImageIndex,
    /// Docker schema2 manifest, linux/amd64, prints `MSG[3]`.
    docker_image: Image,
    /// The full references, in the order above.
    refs: [String; 4],
}

impl Seeded {
    /// Media type and digest of each entry, in `refs` order.
    fn entries(&self) -> [(&str, &str); 4] {
        [
            (OCI_INDEX, self.oci_index.digest()),
            (OCI_MANIFEST, self.oci_image.digest()),
            (DOCKER_LIST, self.docker_list.digest()),
            (DOCKER_MANIFEST, self.docker_image.digest()),
        ]
    }
}

fn seed(reg: &Registry) -> Seeded {
    let c = reg.client();
    let oci_index = hello_index(Kind::Oci, &[AMD64, ARM64], MSG[0]);
    oci_index.push(&c, "readers/oci-index", "v1");
    let oci_image = hello_image(Kind::Oci, AMD64, MSG[1]);
    oci_image.push(&c, "readers/oci-image", Some("v1"));
    let docker_list = hello_index(Kind::Docker, &[AMD64, ARM64], MSG[2]);
    docker_list.push(&c, "readers/docker-list", "v1");
    let docker_image = hello_image(Kind::Docker, AMD64, MSG[3]);
    docker_image.push(&c, "readers/docker-image", Some("v1"));
    let refs = [
        "readers/oci-index:v1",
        "readers/oci-image:v1",
        "readers/docker-list:v1",
        "readers/docker-image:v1",
    ]
    .map(|r| format!("{}/{r}", reg.host));
    Seeded {
        oci_index,
        oci_image,
        docker_list,
        docker_image,
        refs,
    }
}

/// `ferry export REFS… EXTRA… -o DIR/NAME`; returns the bundle's path.
fn export(dir: &Path, name: &str, refs: &[&str], extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let mut args = vec!["export"];
    args.extend(refs);
    args.extend(extra);
    args.extend(["-o", out.to_str().unwrap()]);
    assert_success(&ferry(&args));
    out
}

fn refs_of(s: &Seeded) -> Vec<&str> {
    s.refs.iter().map(String::as_str).collect()
}

#[test]
fn ctr_imports_every_entry_by_its_containerd_name_and_runs_it() {
    let reg = Registry::start();
    let s = seed(&reg);
    let dir = tempfile::tempdir().unwrap();
    let bundle = export(dir.path(), "four.tar", &refs_of(&s), &[]);
    // Only the bundle from here on.
    drop(reg);

    let ctd = Containerd::start();
    let out = stdout_of(&run(&mut ctd.import(&bundle, &[])));
    for (r, (_, d)) in s.refs.iter().zip(s.entries()) {
        assert!(
            out.contains(&format!("unpacking {r} ({d})...done")),
            "ctr import did not unpack {r}:\n{out}"
        );
    }
    // The names are io.containerd.image.name, the digests and types those of the entries.
    let mut want: Vec<(String, String, String)> = s
        .refs
        .iter()
        .zip(s.entries())
        .map(|(r, (t, d))| (r.clone(), t.to_string(), d.to_string()))
        .collect();
    want.sort();
    assert_eq!(ctd.images(), want);
    let entries = index_entries(&members(&bundle));
    for (e, r) in entries.iter().zip(&s.refs) {
        assert_eq!(e["annotations"]["io.containerd.image.name"], r.as_str());
    }

    // Each image runs: its config's Entrypoint, from the native snapshot of its layer. For the
    // index and the list, ctr picked the linux/amd64 image.
    for (r, msg) in s.refs.iter().zip(MSG) {
        let out = run(&mut ctd.run_cmd(r));
        assert_eq!(stdout_of(&out), msg, "ctr run {r}");
    }
}

#[test]
fn ctr_imports_the_default_platform_unless_told_otherwise() {
    let reg = Registry::start();
    let s = seed(&reg);
    let dir = tempfile::tempdir().unwrap();
    let multi = export(dir.path(), "multi.tar", &[&s.refs[0]], &[]);
    let sparse = export(
        dir.path(),
        "amd64.tar",
        &[&s.refs[0]],
        &["--platform", AMD64],
    );
    drop(reg);
    let amd = s.oci_index.image(AMD64);
    let arm = s.oci_index.image(ARM64);

    // Default: only the content of the host's platform (linux/amd64) is kept.
    let ctd = Containerd::start();
    run(&mut ctd.import(&multi, &[]));
    assert_eq!(
        ctd.content(s.oci_index.digest()).as_deref(),
        Some(&s.oci_index.index.bytes[..])
    );
    assert_eq!(
        ctd.content(amd.digest()).as_deref(),
        Some(&amd.manifest.bytes[..])
    );
    assert!(ctd.content(&amd.layers[0].blob.digest).is_some());
    assert_eq!(ctd.content(arm.digest()), None, "arm64 kept by default");
    assert_eq!(ctd.content(&arm.layers[0].blob.digest), None);
    drop(ctd);

    // --all-platforms keeps every platform.
    let ctd = Containerd::start();
    run(&mut ctd.import(&multi, &["--all-platforms"]));
    assert_eq!(
        ctd.content(arm.digest()).as_deref(),
        Some(&arm.manifest.bytes[..])
    );
    assert_eq!(
        ctd.content(&arm.config.digest).as_deref(),
        Some(&arm.config.bytes[..])
    );
    assert!(ctd.content(&arm.layers[0].blob.digest).is_some());
    drop(ctd);

    // A platform subset (`ferry export --platform`): the unchanged index is imported under its
    // digest and runs on linux/amd64; asking ctr for a platform the bundle left out fails,
    // naming the absent manifest.
    let ctd = Containerd::start();
    run(&mut ctd.import(&sparse, &[]));
    assert_eq!(
        ctd.images(),
        vec![(
            s.refs[0].clone(),
            OCI_INDEX.to_string(),
            s.oci_index.digest().to_string()
        )]
    );
    assert_eq!(stdout_of(&run(&mut ctd.run_cmd(&s.refs[0]))), MSG[0]);
    let absent = format!("content digest {}: not found", arm.digest());
    run_fails(&mut ctd.import(&sparse, &["--all-platforms"]), 1, &absent);
    run_fails(
        &mut ctd.import(&sparse, &["--platform", "linux/arm64"]),
        1,
        &absent,
    );
}

#[test]
fn podman_pulls_oci_entries_by_name_and_runs_them() {
    let reg = Registry::start();
    let s = seed(&reg);
    let dir = tempfile::tempdir().unwrap();
    let bundle = export(dir.path(), "four.tar", &refs_of(&s), &[]);
    let sparse = export(
        dir.path(),
        "amd64.tar",
        &[&s.refs[0]],
        &["--platform", AMD64],
    );
    drop(reg);

    let pm = Podman::new();
    // OCI index and OCI manifest, chosen by their org.opencontainers.image.ref.name: podman
    // stores them under that name with the entry's digest (for the index, its linux/amd64
    // manifest, known by both digests) and runs them.
    let amd = s.oci_index.image(AMD64);
    let repo = |r: &str| r.rsplit_once(':').unwrap().0.to_string();
    let want = [
        vec![
            format!("{}@{}", repo(&s.refs[0]), amd.digest()),
            format!("{}@{}", repo(&s.refs[0]), s.oci_index.digest()),
        ],
        vec![format!("{}@{}", repo(&s.refs[1]), s.oci_image.digest())],
    ];
    for i in 0..2 {
        let r = &s.refs[i];
        run(&mut pm.pull(&bundle, Some(r)));
        assert_eq!(pm.inspect(r, "{{.Digest}}"), s.entries()[i].1, "{r}");
        let mut repo_digests: Vec<String> = pm
            .inspect(r, "{{range .RepoDigests}}{{.}} {{end}}")
            .split_whitespace()
            .map(String::from)
            .collect();
        repo_digests.sort();
        let mut w = want[i].clone();
        w.sort();
        assert_eq!(repo_digests, w, "{r}");
        assert_eq!(
            pm.inspect(r, "{{.ManifestType}}"),
            OCI_MANIFEST,
            "podman stores the platform manifest of {r}"
        );
        assert_eq!(
            stdout_of(&run(&mut pm.run_cmd(r))),
            MSG[i],
            "podman run {r}"
        );
    }
    // Docker-typed entries cannot be chosen by name: c/image matches names only on OCI
    // media types.
    for r in &s.refs[2..] {
        run_fails(
            &mut pm.pull(&bundle, Some(r)),
            125,
            &format!("no descriptor found for reference \"{r}\""),
        );
    }

    // A platform subset (`ferry export --platform linux/amd64`) pulls and runs the same.
    let pm = Podman::new();
    run(&mut pm.pull(&sparse, Some(&s.refs[0])));
    assert_eq!(pm.inspect(&s.refs[0], "{{.Digest}}"), s.oci_index.digest());
    assert_eq!(stdout_of(&run(&mut pm.run_cmd(&s.refs[0]))), MSG[0]);
}

#[test]
fn podman_load_reads_a_bundle_of_one_image_only() {
    let reg = Registry::start();
    let s = seed(&reg);
    let dir = tempfile::tempdir().unwrap();
    let oci_one = export(dir.path(), "oci-index.tar", &[&s.refs[0]], &[]);
    let docker_one = export(dir.path(), "docker-list.tar", &[&s.refs[2]], &[]);
    let docker_image = export(dir.path(), "docker-image.tar", &[&s.refs[3]], &[]);
    let four = export(dir.path(), "four.tar", &refs_of(&s), &[]);
    drop(reg);

    let pm = Podman::new();
    // One image per bundle: loaded under its name (Docker-typed too), and it runs.
    for (bundle, i) in [(&oci_one, 0), (&docker_one, 2)] {
        let out = stdout_of(&run(&mut pm.load(bundle)));
        assert_eq!(out.trim(), format!("Loaded image: {}", s.refs[i]));
        assert_eq!(stdout_of(&run(&mut pm.run_cmd(&s.refs[i]))), MSG[i]);
    }
    // `pull oci-archive:BUNDLE` without a name takes a bundle's only entry, Docker-typed or
    // not (the way round the by-name limit of the test above), and names it as load does.
    let id = stdout_of(&run(&mut pm.pull(&docker_image, None)));
    let id = id.trim();
    assert_eq!(
        pm.inspect(id, "{{.Digest}}"),
        s.docker_image.digest(),
        "podman pull of a one-image Docker bundle"
    );
    assert_eq!(
        pm.inspect(id, "{{.RepoTags}}"),
        format!("[{}]", s.refs[3]),
        "named by its org.opencontainers.image.ref.name"
    );
    assert_eq!(stdout_of(&run(&mut pm.run_cmd(&s.refs[3]))), MSG[3]);

    // More than one image: podman load refuses the bundle, naming the reason.
    run_fails(
        &mut pm.load(&four),
        125,
        "more than one image in oci, choose an image",
    );
}

#[test]
fn umoci_unpacks_oci_manifests_and_one_platform_indexes() {
    let reg = Registry::start();
    let s = seed(&reg);
    let one_msg = "hello from a one-platform OCI index\n";
    let one = hello_index(Kind::Oci, &[AMD64], one_msg);
    one.push(&reg.client(), "readers/oci-one", "v1");
    let one_ref = format!("{}/readers/oci-one:v1", reg.host);
    let dir = tempfile::tempdir().unwrap();
    let mut refs = refs_of(&s);
    refs.push(&one_ref);
    let bundle = export(dir.path(), "five.tar", &refs, &[]);
    let sparse = export(
        dir.path(),
        "amd64.tar",
        &[&s.refs[0]],
        &["--platform", AMD64],
    );
    drop(reg);
    // umoci reads a layout directory, not a tar.
    extract_layout(&bundle, &dir.path().join("layout"));
    extract_layout(&sparse, &dir.path().join("amd64"));
    let umoci = |args: &[&str]| {
        let mut c = Command::new("umoci");
        c.current_dir(dir.path()).args(args);
        c
    };
    let image = |r: &str| format!("layout:{r}");

    // It lists every entry by its org.opencontainers.image.ref.name.
    let out = stdout_of(&run(&mut umoci(&["ls", "--layout", "layout"])));
    let mut listed: Vec<&str> = out.lines().collect();
    listed.sort();
    let mut want = refs.clone();
    want.sort();
    assert_eq!(listed, want);

    // An OCI manifest and an OCI index of one platform unpack into a runtime bundle whose
    // rootfs holds the program and whose config.json runs it.
    for (r, msg, name) in [(&s.refs[1], MSG[1], "b1"), (&one_ref, one_msg, "b2")] {
        run(&mut umoci(&["unpack", "--image", &image(r), name]));
        let hello = dir.path().join(name).join("rootfs/hello");
        assert_eq!(std::fs::read(&hello).unwrap(), hello_elf(msg), "{r}");
        assert!(is_executable(&hello));
        let out = run(&mut Command::new(&hello));
        assert_eq!(stdout_of(&out), msg);
        let config: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.path().join(name).join("config.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(config["process"]["args"], serde_json::json!(["/hello"]));
    }
    // A multi-platform index: umoci 0.4 does not choose a platform, not even when the
    // bundle holds one platform of it (the index still lists them all).
    for layout in ["layout", "amd64"] {
        run_fails(
            &mut umoci(&[
                "unpack",
                "--image",
                &format!("{layout}:{}", s.refs[0]),
                "b3",
            ]),
            1,
            &format!("tag is ambiguous: {}", s.refs[0]),
        );
    }
    // Docker-typed entries are not implemented.
    for (r, t) in [(&s.refs[2], DOCKER_LIST), (&s.refs[3], DOCKER_MANIFEST)] {
        run_fails(
            &mut umoci(&["unpack", "--image", &image(r), "b4"]),
            1,
            &format!("not implemented: {t}"),
        );
    }
    assert!(!dir.path().join("b3").exists() && !dir.path().join("b4").exists());
}

#[test]
fn skopeo_copies_oci_entries_by_name_and_a_docker_entry_only_alone() {
    let reg = Registry::start();
    let s = seed(&reg);
    let dir = tempfile::tempdir().unwrap();
    let bundle = export(dir.path(), "four.tar", &refs_of(&s), &[]);
    let docker_one = export(dir.path(), "docker-list.tar", &[&s.refs[2]], &[]);
    let sparse = export(
        dir.path(),
        "amd64.tar",
        &[&s.refs[0]],
        &["--platform", AMD64],
    );
    let archive = |b: &Path, r: Option<&str>| match r {
        Some(r) => format!("oci-archive:{}:{r}", b.display()),
        None => format!("oci-archive:{}", b.display()),
    };
    let dest = ["--dest-tls-verify=false"];
    let policy = dir.path().join("policy.json");
    std::fs::write(
        &policy,
        r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
    )
    .unwrap();

    // OCI entries by name, every platform, into new repositories: same digests.
    for (i, repo) in [(0, "copy/oci-index"), (1, "copy/oci-image")] {
        skopeo_copy(
            &archive(&bundle, Some(&s.refs[i])),
            &format!("docker://{}/{repo}:v1", reg.host),
            &dest,
        );
        let raw = skopeo_inspect_raw(&reg.host, &format!("{repo}:v1"), &[]);
        assert_eq!(digest(&raw), s.entries()[i].1, "{repo}");
    }
    // Docker-typed entries by name: not found (c/image matches names on OCI media types only),
    // by `inspect` and by `copy`, which then pushes nothing.
    for (r, repo) in s.refs[2..]
        .iter()
        .zip(["copy/by-name-list", "copy/by-name-image"])
    {
        // (logrus quotes the message: the reference is between \")
        let not_found = format!("no descriptor found for reference \\\"{r}\\\"");
        run_fails(
            Command::new("skopeo").args(["inspect", "--raw", &archive(&bundle, Some(r))]),
            1,
            &not_found,
        );
        run_fails(
            Command::new("skopeo")
                .arg("--policy")
                .arg(&policy)
                .args(["copy", "--all", "--dest-tls-verify=false"])
                .arg(archive(&bundle, Some(r)))
                .arg(format!("docker://{}/{repo}:v1", reg.host)),
            1,
            &not_found,
        );
        let tags = reg
            .client()
            .request("GET", &format!("/v2/{repo}/tags/list"), &[], b"");
        assert_eq!(tags.status, 404, "{repo} exists after a failed copy");
    }
    // A bundle of that one Docker list, without a name: copied with its digest.
    skopeo_copy(
        &archive(&docker_one, None),
        &format!("docker://{}/copy/docker-list:v1", reg.host),
        &dest,
    );
    let raw = skopeo_inspect_raw(&reg.host, "copy/docker-list:v1", &[]);
    assert_eq!(digest(&raw), s.docker_list.digest());
    // Without a name, a bundle of several images is refused.
    run_fails(
        Command::new("skopeo").args(["inspect", "--raw", &archive(&bundle, None)]),
        1,
        "more than one image in oci, choose an image",
    );

    // A platform subset: `--all` fails on the platform left out; without it skopeo copies the
    // host's platform manifest alone (the index is not copied: the target gets another digest).
    let arm = s.oci_index.image(ARM64).digest();
    run_fails(
        Command::new("skopeo")
            .arg("--policy")
            .arg(&policy)
            .args(["copy", "--all", "--dest-tls-verify=false"])
            .arg(archive(&sparse, Some(&s.refs[0])))
            .arg(format!("docker://{}/copy/sparse-all:v1", reg.host)),
        1,
        &format!(
            "blobs/sha256/{}: no such file",
            arm.trim_start_matches("sha256:")
        ),
    );
    run(Command::new("skopeo")
        .arg("--policy")
        .arg(&policy)
        .args(["copy", "--quiet", "--dest-tls-verify=false"])
        .arg(archive(&sparse, Some(&s.refs[0])))
        .arg(format!("docker://{}/copy/sparse:v1", reg.host)));
    let raw = skopeo_inspect_raw(&reg.host, "copy/sparse:v1", &[]);
    assert_eq!(digest(&raw), s.oci_index.image(AMD64).digest());
}
