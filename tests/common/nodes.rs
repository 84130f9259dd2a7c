//! Output paths that are not regular files: a null character device and FIFOs made in a temp
//! dir (never the real `/dev/null`, which a rename would turn into a plain file), a FIFO
//! reader, and a pseudo-terminal to stand in for a user's terminal.

use std::fs::File;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use super::run;

/// `mknod PATH c 1 3`: a null device of our own.
pub fn mknod_null(path: &Path) {
    run(Command::new("mknod").arg(path).args(["c", "1", "3"]));
}

pub fn mkfifo(path: &Path) {
    run(Command::new("mkfifo").arg(path));
}

/// The node itself, not what a symlink points at.
pub fn is_char_device(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_char_device())
}

pub fn is_fifo(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

/// Names in `dir` (to show nothing else was left there).
pub fn dir_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    v.sort();
    v
}

/// `cat FIFO > OUT` in a child. The test holds the FIFO open read-write while it runs, so
/// neither `cat` nor the writer blocks on open, and a writer that never opens the FIFO (or
/// replaces it) ends in an empty output instead of a hung test.
pub struct FifoReader {
    child: Child,
    hold: Option<File>,
    out: PathBuf,
}

impl FifoReader {
    pub fn start(fifo: &Path, out: &Path) -> FifoReader {
        let hold = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(fifo)
            .unwrap();
        let child = Command::new("sh")
            .args(["-c", "exec cat \"$1\" > \"$2\"", "sh"])
            .arg(fifo)
            .arg(out)
            .spawn()
            .unwrap();
        // Until cat has the FIFO open, closing `hold` would discard what was written.
        let target = std::fs::canonicalize(fifo).unwrap();
        let fds = PathBuf::from(format!("/proc/{}/fd", child.id()));
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let open = std::fs::read_dir(&fds).is_ok_and(|d| {
                d.flatten()
                    .any(|e| std::fs::read_link(e.path()).is_ok_and(|l| l == target))
            });
            if open {
                break;
            }
            assert!(Instant::now() < deadline, "cat never opened {fifo:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
        FifoReader {
            child,
            hold: Some(hold),
            out: out.to_path_buf(),
        }
    }

    /// Closes our end (call after the writer exited) and returns what `cat` read.
    pub fn finish(mut self) -> Vec<u8> {
        drop(self.hold.take());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "cat failed: {status}");
        std::fs::read(&self.out).unwrap()
    }
}

impl Drop for FifoReader {
    fn drop(&mut self) {
        drop(self.hold.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A pseudo-terminal: (master, slave). Whatever is written to the slave can be drained from
/// the master, so a child that writes to it never blocks.
pub fn openpty() -> (File, OwnedFd) {
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two new fds into the pointers; the name and settings are unused.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both fds are new and owned by nothing else.
    unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}
