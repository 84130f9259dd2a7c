//! Integration-test harness: real registries (CNCF distribution 2.8.2), a real token issuer,
//! moto_server for S3 storage, and an uploader independent of ferry's own client.
//! See DESIGN.md §10. Run `scripts/setup.sh` once to install the peers.
#![allow(dead_code)]

pub mod cli;
pub mod cosign;
pub mod fixtures;
pub mod http;
pub mod http_proxy;
pub mod images;
pub mod layout;
pub mod measure;
pub mod misbehave;
pub mod nodes;
pub mod pki;
pub mod proxy;
pub mod readers;
pub mod referrers_api;
pub mod registry;
pub mod registry_ops;
pub mod s3;
pub mod sigstore;
pub mod snapshot;
pub mod tarball;
pub mod token;
pub mod upload;

#[allow(unused_imports)]
pub use cli::*;
#[allow(unused_imports)]
pub use fixtures::*;
#[allow(unused_imports)]
pub use images::*;
#[allow(unused_imports)]
pub use registry::{Registry, RegistryBuilder};
#[allow(unused_imports)]
pub use registry_ops::Access;
#[allow(unused_imports)]
pub use token::{Anonymous, Credentials, TokenConfig, TokenIssuer, TokenRequest};
#[allow(unused_imports)]
pub use upload::{get_blob, get_manifest_raw, head_blob, push_blob, push_manifest};
#[allow(unused_imports)]
pub use upload::{Auth, Client, Reply, Target};

use sha2::{Digest, Sha256};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

/// `sha256:<hex>` of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// A loopback port that was free a moment ago (bind to port 0, read it, release it).
/// Callers that hand it to another process must retry on "address already in use".
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().unwrap().port()
}

/// Runs a command to completion; panics with its stderr when it fails.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (did you run scripts/setup.sh?)"));
    if !out.status.success() {
        panic!(
            "{cmd:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// `skopeo inspect --raw` of `docker://HOST/REPO:TAG` (or `@digest`), returning the raw
/// manifest bytes. `extra` goes before the image reference (e.g. `--creds`, `--cert-dir`);
/// without `--cert-dir`/`--tls-verify` in `extra`, `--tls-verify=false` is added.
pub fn skopeo_inspect_raw(host: &str, repo_ref: &str, extra: &[&str]) -> Vec<u8> {
    let mut cmd = Command::new("skopeo");
    cmd.args(["inspect", "--raw"]);
    if !extra
        .iter()
        .any(|a| a.starts_with("--tls-verify") || a.starts_with("--cert-dir"))
    {
        cmd.arg("--tls-verify=false");
    }
    cmd.args(extra);
    cmd.arg(format!("docker://{host}/{repo_ref}"));
    run(&mut cmd).stdout
}

/// `skopeo copy --all --preserve-digests SRC DST` with a permissive policy; `extra` is passed
/// before SRC (e.g. `--src-tls-verify=false`, `--dest-tls-verify=false`, `--src-creds`).
pub fn skopeo_copy(src: &str, dst: &str, extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.json");
    std::fs::write(
        &policy,
        r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
    )
    .unwrap();
    let mut cmd = Command::new("skopeo");
    cmd.arg("--policy").arg(&policy);
    cmd.args(["copy", "--all", "--preserve-digests", "--quiet"]);
    cmd.args(extra).args([src, dst]);
    run(&mut cmd);
}

/// Sends SIGTERM to `child` and waits up to `grace`; then SIGKILL. Never panics.
pub fn terminate(child: &mut Child, grace: Duration) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    // SAFETY: kill(2) on the pid of a child we own and have not reaped yet.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Where a tool scripts/setup.sh installs into its venv is: `$override_var`, then
/// `${FERRY_VENV:-$HOME/.cache/ferry/venv}/bin/NAME`, then `$PATH`; a missing tool fails the
/// test with the way out (tests never skip).
pub fn venv_tool(name: &str, override_var: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(override_var) {
        return PathBuf::from(p);
    }
    let venv = std::env::var_os("FERRY_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/ferry/venv")
        });
    let in_venv = venv.join("bin").join(name);
    if is_executable(&in_venv) {
        return in_venv;
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        let p = dir.join(name);
        if is_executable(&p) {
            return p;
        }
    }
    panic!(
        "{name} not found (looked at ${override_var}, {} and $PATH): run scripts/setup.sh",
        in_venv.display()
    );
}

/// Whether `path` is an executable file.
pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}
