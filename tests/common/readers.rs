//! The bundle readers of README "Who can read a bundle", run for real with private state:
//! images that actually run (a static x86-64 program as `/hello`), a private `containerd`
//! daemon for `ctr`, and `podman` with its own storage, runtime state, locks and cgroup parent.
//! Nothing here reads or writes the host's containerd or podman state; see each type's notes
//! for the few paths the tools hard-code.

use super::fixtures::*;
use super::images::{Image, ImageIndex, Kind};
use super::{digest, run, terminate};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// A static x86-64 Linux program (one ELF header, one `PT_LOAD`, no libc) that writes `msg` to
/// stdout with `write(2)` and exits 0: a runnable image without any base image or network.
pub fn hello_elf(msg: &str) -> Vec<u8> {
    const BASE: u64 = 0x40_0000;
    const HEADERS: u64 = 64 + 56; // ELF header + one program header
    let msg = msg.as_bytes();
    let mut code: Vec<u8> = vec![
        0xb8, 1, 0, 0, 0, // mov eax, 1 (write)
        0xbf, 1, 0, 0, 0, // mov edi, 1 (stdout)
        0x48, 0x8d, 0x35, // lea rsi, [rip + 16] (the message, after the 16 bytes below)
    ];
    code.extend(16i32.to_le_bytes());
    code.push(0xba); // mov edx, len
    code.extend((msg.len() as u32).to_le_bytes());
    code.extend([
        0x0f, 0x05, // syscall
        0xb8, 60, 0, 0, 0, // mov eax, 60 (exit)
        0x31, 0xff, // xor edi, edi
        0x0f, 0x05, // syscall
    ]);
    assert_eq!(
        code.len(),
        33,
        "the lea displacement above assumes 33 code bytes"
    );
    code.extend(msg);
    let size = HEADERS + code.len() as u64;

    let mut elf = Vec::new();
    elf.extend(b"\x7fELF");
    elf.extend([2, 1, 1, 0]); // 64-bit, little-endian, version 1, System V
    elf.extend([0u8; 8]);
    elf.extend(2u16.to_le_bytes()); // ET_EXEC
    elf.extend(0x3eu16.to_le_bytes()); // EM_X86_64
    elf.extend(1u32.to_le_bytes());
    elf.extend((BASE + HEADERS).to_le_bytes()); // entry
    elf.extend(64u64.to_le_bytes()); // program headers at 64
    elf.extend(0u64.to_le_bytes()); // no section headers
    elf.extend(0u32.to_le_bytes()); // flags
    for v in [64u16, 56, 1, 0, 0, 0] {
        // ehsize, phentsize, phnum, shentsize, shnum, shstrndx
        elf.extend(v.to_le_bytes());
    }
    elf.extend(1u32.to_le_bytes()); // PT_LOAD
    elf.extend(5u32.to_le_bytes()); // R + X
    elf.extend(0u64.to_le_bytes()); // from file offset 0
    elf.extend(BASE.to_le_bytes()); // vaddr
    elf.extend(BASE.to_le_bytes()); // paddr
    elf.extend(size.to_le_bytes()); // filesz
    elf.extend(size.to_le_bytes()); // memsz
    elf.extend(0x1000u64.to_le_bytes()); // align
    assert_eq!(elf.len() as u64, HEADERS);
    elf.extend(code);
    elf
}

/// The bytes of `/hello` in an image for `platform` printing `msg`: the program on
/// linux/amd64, a text file on any other platform (it cannot run here, and it shows which
/// platform's layer a reader unpacked).
pub fn hello_file(platform: &str, msg: &str) -> Vec<u8> {
    if platform == "linux/amd64" {
        hello_elf(msg)
    } else {
        format!("{platform} placeholder for {msg:?}\n").into_bytes()
    }
}

/// A one-file layer (`hello`, mode 0755, mtime 0, root-owned), gzip, of `kind`'s media type.
pub fn hello_layer(kind: Kind, contents: &[u8]) -> Layer {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_size(contents.len() as u64);
    h.set_mode(0o755);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, "hello", contents).unwrap();
    let tar = b.into_inner().unwrap();
    Layer {
        diff_id: digest(&tar),
        blob: Blob::new(kind.layer_type(), gzip(&tar)),
    }
}

/// An image of `kind` for `platform` whose config runs `/hello` (`Entrypoint`), which prints
/// `msg` on linux/amd64 (see [`hello_file`]).
pub fn hello_image(kind: Kind, platform: &str, msg: &str) -> Image {
    // A program for x86-64 is what the readers run: on another machine this fixture is wrong.
    assert_eq!(
        std::env::consts::ARCH,
        "x86_64",
        "tests/readers.rs runs an x86-64 program inside the images"
    );
    let layer = hello_layer(kind, &hello_file(platform, msg));
    let p = Platform::parse(platform);
    let mut config = json!({
        "architecture": p.architecture,
        "os": p.os,
        "created": "2024-01-01T00:00:00Z",
        "config": {
            "Entrypoint": ["/hello"],
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        },
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "ferry readers fixture"}],
    });
    if let Some(v) = &p.variant {
        config["variant"] = json!(v);
    }
    let config = Blob::json(kind.config_type(), &config);
    let manifest = manifest_blob(
        kind.manifest_type(),
        &config,
        std::slice::from_ref(&layer.blob),
        None,
    );
    Image {
        platform: platform.to_string(),
        manifest,
        config,
        layers: vec![layer],
    }
}

/// An index (OCI) or manifest list (Docker) of [`hello_image`]s, one per platform.
pub fn hello_index(kind: Kind, platforms: &[&str], msg: &str) -> ImageIndex {
    let images = platforms
        .iter()
        .map(|p| hello_image(kind, p, msg))
        .collect();
    ImageIndex::new(kind, images, Vec::new())
}

/// Unpacks a bundle tar into a fresh directory (an OCI layout directory, what umoci reads).
pub fn extract_layout(bundle: &Path, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    tar::Archive::new(std::fs::File::open(bundle).unwrap())
        .unpack(dir)
        .unwrap();
}

/// stdout of a command as text.
pub fn stdout_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// stderr of a command as text.
pub fn stderr_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Runs `cmd` and expects it to fail with `code`, its stderr holding `needle`; returns stderr.
pub fn run_fails(cmd: &mut Command, code: i32, needle: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (did you run scripts/setup.sh?)"));
    let err = stderr_of(&out);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{cmd:?}: expected exit {code}, got {}\nstdout: {}\nstderr: {err}",
        out.status,
        stdout_of(&out)
    );
    assert!(
        err.contains(needle),
        "{cmd:?}: stderr lacks {needle:?}:\n{err}"
    );
    err
}

/// A private containerd 1.6: its own `root`, `state`, gRPC and ttrpc sockets and config in a
/// temp dir, the CRI plugin off, one namespace of its own. Killed on drop, after its tasks.
///
/// [`Containerd::run_cmd`] keeps `ctr run` to itself: the `native` snapshotter (plain
/// copies, no mounts that could outlive a failed test), the FIFOs and runc state under the
/// temp dir, and `--cgroup ""`,
/// with which runc makes the container's cgroup `/<id>` and removes it when the task goes
/// (the default `/<namespace>/<id>` leaves `/<namespace>` behind). containerd 1.6 hard-codes
/// one path outside: the shim's socket in `/run/containerd/s/<hash of our socket path>`,
/// removed when the shim exits.
pub struct Containerd {
    pub dir: TempDir,
    pub socket: PathBuf,
    pub namespace: String,
    child: Child,
}

const CONTAINERD_READY: Duration = Duration::from_secs(20);

impl Containerd {
    pub fn start() -> Containerd {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let socket = d.join("c.sock");
        let config = d.join("config.toml");
        std::fs::write(
            &config,
            format!(
                "version = 2\nroot = {root:?}\nstate = {state:?}\n\
                 disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
                 [grpc]\n  address = {sock:?}\n[ttrpc]\n  address = {ttrpc:?}\n\
                 [debug]\n  address = \"\"\n[metrics]\n  address = \"\"\n",
                root = d.join("root"),
                state = d.join("state"),
                sock = socket,
                ttrpc = d.join("c.sock.ttrpc"),
            ),
        )
        .unwrap();
        let log = std::fs::File::create(d.join("containerd.log")).unwrap();
        let child = Command::new("containerd")
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start containerd: {e} (run scripts/setup.sh)"));
        let mut c = Containerd {
            socket,
            namespace: format!("ferry-readers-{}", std::process::id()),
            child,
            dir,
        };
        let deadline = Instant::now() + CONTAINERD_READY;
        loop {
            if let Ok(Some(status)) = c.child.try_wait() {
                panic!("containerd exited with {status}:\n{}", c.log());
            }
            let ok = c
                .ctr(&["version"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ok {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "containerd did not answer within {CONTAINERD_READY:?}; log:\n{}",
                c.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        c
    }

    /// `ctr -a SOCKET -n NAMESPACE ARGS…`
    pub fn ctr(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ctr");
        c.arg("-a")
            .arg(&self.socket)
            .args(["-n", &self.namespace])
            .args(args);
        c
    }

    /// `ctr images import --snapshotter native EXTRA… BUNDLE`
    pub fn import(&self, bundle: &Path, extra: &[&str]) -> Command {
        let mut c = self.ctr(&["images", "import", "--snapshotter", "native"]);
        c.args(extra).arg(bundle);
        c
    }

    /// `ctr images ls`: (name, media type, digest) per image, sorted by name.
    pub fn images(&self) -> Vec<(String, String, String)> {
        let out = stdout_of(&run(&mut self.ctr(&["images", "ls"])));
        let mut rows: Vec<(String, String, String)> = out
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f[0].to_string(), f[1].to_string(), f[2].to_string())
            })
            .collect();
        rows.sort();
        rows
    }

    /// `ctr content get DIGEST`: the blob, or None when this namespace lacks it.
    pub fn content(&self, digest: &str) -> Option<Vec<u8>> {
        let out = self
            .ctr(&["content", "get", digest])
            .output()
            .expect("run ctr");
        if out.status.success() {
            Some(out.stdout)
        } else {
            let err = stderr_of(&out);
            assert!(err.contains("not found"), "ctr content get {digest}: {err}");
            None
        }
    }

    /// `ctr run --rm` of `image` with no command (so the image config's `Entrypoint`).
    pub fn run_cmd(&self, image: &str) -> Command {
        // Unique in this process, not just in this daemon: the id names runc's cgroup `/<id>`,
        // and differs from podman's cgroup parents (`ferry-podman-…`): the same name for both
        // made runc's devices.deny write fail (EINVAL: the cgroup had children).
        static RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let id = format!("{}-ctr-{n}", self.namespace);
        let d = self.dir.path();
        let mut c = self.ctr(&["run", "--rm", "--snapshotter", "native", "--cgroup", ""]);
        c.arg("--fifo-dir")
            .arg(d.join("fifo"))
            .arg("--runc-root")
            .arg(d.join("runc"))
            .arg(image)
            .arg(&id);
        c
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("containerd.log")).unwrap_or_default()
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        // A test that failed mid-run may leave a task (and its shim) behind: end them first.
        if let Ok(out) = self.ctr(&["tasks", "ls", "-q"]).output() {
            for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = self.ctr(&["tasks", "kill", "-s", "SIGKILL", id]).output();
                std::thread::sleep(Duration::from_millis(100));
                let _ = self.ctr(&["tasks", "delete", "-f", id]).output();
                let _ = self.ctr(&["containers", "delete", id]).output();
            }
        }
        terminate(&mut self.child, Duration::from_secs(5));
    }
}

/// podman 4.3 as root, sharing no state with any other podman: `--root`, `--runroot`,
/// `--tmpdir` (libpod state), network config and `TMPDIR` in a temp dir; a `containers.conf`
/// of its own with file locks (the default SHM segment `/dev/shm/libpod_lock` is shared by
/// every podman on the machine); vfs storage (plain copies, no mounts); cgroupfs with a cgroup
/// parent of its own, removed on drop; events to a file; runc (what containerd installs;
/// podman would take crun where that is installed too).
///
/// Paths outside the temp dir that podman and c/image hard-code for root: runc's state
/// `/run/runc/<container id>` (removed with the container; podman's cleanup process does not
/// pass a `--runtime-flag root=` on, so moving it only strands the state), netavark's run dir
/// `/run/containers/networks` (created empty: the containers have `--network none`), and
/// c/image's blob-info cache `/var/lib/containers/cache/blob-info-cache-v1.boltdb` (which
/// skopeo uses too).
pub struct Podman {
    pub dir: TempDir,
    cgroup_parent: String,
}

impl Podman {
    pub fn new() -> Podman {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("containers.conf"),
            "[engine]\nlock_type = \"file\"\n",
        )
        .unwrap();
        std::fs::write(
            d.join("storage.conf"),
            format!(
                "[storage]\ndriver = \"vfs\"\ngraphroot = {:?}\nrunroot = {:?}\n",
                d.join("root"),
                d.join("run")
            ),
        )
        .unwrap();
        std::fs::write(
            d.join("policy.json"),
            r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
        )
        .unwrap();
        std::fs::create_dir_all(d.join("tmp")).unwrap();
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Podman {
            cgroup_parent: format!("ferry-podman-{}-{n}", std::process::id()),
            dir,
        }
    }

    /// `podman GLOBAL-OPTIONS ARGS…`
    pub fn cmd(&self, args: &[&str]) -> Command {
        let d = self.dir.path();
        let mut c = Command::new("podman");
        c.env("CONTAINERS_CONF", d.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", d.join("storage.conf"))
            .env("TMPDIR", d.join("tmp"))
            .arg("--root")
            .arg(d.join("root"))
            .arg("--runroot")
            .arg(d.join("run"))
            .arg("--tmpdir")
            .arg(d.join("libpod"))
            .arg("--network-config-dir")
            .arg(d.join("networks"))
            .args(["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs"])
            .args(["--events-backend", "file", "--runtime", "runc"])
            .args(args);
        c
    }

    /// `podman pull -q oci-archive:BUNDLE[:REF]`
    pub fn pull(&self, bundle: &Path, reference: Option<&str>) -> Command {
        let mut src = format!("oci-archive:{}", bundle.display());
        if let Some(r) = reference {
            src = format!("{src}:{r}");
        }
        let policy = self.dir.path().join("policy.json");
        let mut c = self.cmd(&["pull", "-q"]);
        c.arg(format!("--signature-policy={}", policy.display()))
            .arg(src);
        c
    }

    /// `podman load -i BUNDLE`
    pub fn load(&self, bundle: &Path) -> Command {
        let policy = self.dir.path().join("policy.json");
        let mut c = self.cmd(&["load", "-i"]);
        c.arg(bundle)
            .arg(format!("--signature-policy={}", policy.display()));
        c
    }

    /// `podman image inspect --format FORMAT IMAGE`, trimmed.
    pub fn inspect(&self, image: &str, format: &str) -> String {
        let out = run(&mut self.cmd(&["image", "inspect", "--format", format, image]));
        stdout_of(&out).trim().to_string()
    }

    /// `podman run --rm` of a local `image` (never pulled), with no command, no network, the
    /// cgroup parent of this instance, and `nofile`/`nproc` limits of 1024. podman's defaults
    /// for root's containers (1048576 and 4194304) are above this sandbox's hard limits, and
    /// without CAP_SYS_RESOURCE runc cannot raise them ("error setting rlimit type 7:
    /// operation not permitted"); nor can it go above the limits podman set on itself (it
    /// lowers its own `nproc` to 32768), while lowering always works.
    pub fn run_cmd(&self, image: &str) -> Command {
        let mut c = self.cmd(&["run", "--rm", "--pull", "never", "--network", "none"]);
        c.arg(format!("--cgroup-parent=/{}", self.cgroup_parent))
            .args([
                "--ulimit",
                "nofile=1024:1024",
                "--ulimit",
                "nproc=1024:1024",
            ])
            .arg(image);
        c
    }
}

impl Default for Podman {
    fn default() -> Self {
        Podman::new()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        // conmon leaves its cgroup a moment after `podman run --rm` returns: retry briefly.
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let left = remove_cgroup(&self.cgroup_parent);
            if left.is_empty() || Instant::now() > deadline {
                if !left.is_empty() {
                    eprintln!("readers: cgroups left behind: {left:?}");
                }
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Removes the cgroup `name` (a child of each hierarchy's root, v1 or v2) and everything below
/// it, deepest first; returns the directories that could not be removed (still in use).
pub fn remove_cgroup(name: &str) -> Vec<PathBuf> {
    fn rm(dir: &Path, left: &mut Vec<PathBuf>) {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    rm(&e.path(), left);
                }
            }
        }
        if std::fs::remove_dir(dir).is_err() && dir.exists() {
            left.push(dir.to_path_buf());
        }
    }
    let root = Path::new("/sys/fs/cgroup");
    let mut candidates = vec![root.join(name)];
    if let Ok(rd) = std::fs::read_dir(root) {
        candidates.extend(rd.flatten().map(|e| e.path().join(name)));
    }
    let mut left = Vec::new();
    for c in candidates {
        if c.is_dir() {
            rm(&c, &mut left);
        }
    }
    left
}
