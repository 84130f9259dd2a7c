//! Running ferry under a wall-clock limit with its peak memory measured (the child's own
//! `rusage` from `wait4`, so nothing else the test runs is counted), for bundles built to
//! exhaust time or memory: gzip bombs, random mutations.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How a bounded run of ferry ended.
#[derive(Debug)]
pub struct Bounded {
    /// How ferry exited (a status with a signal when it was killed at the limit).
    pub status: ExitStatus,
    /// It ran past the limit and was killed.
    pub killed: bool,
    pub stderr: String,
    pub elapsed: Duration,
    /// Peak resident set size of ferry, in KiB.
    pub max_rss_kib: u64,
}

impl Bounded {
    /// Exit 0 or 1, as ferry's own decision: not a panic (101), not a signal, not killed.
    pub fn assert_clean_exit(&self, what: &str) {
        assert!(
            !self.killed,
            "{what}: ferry still ran after {:?} and was killed:\n{}",
            self.elapsed, self.stderr
        );
        let code = self.status.code();
        assert!(
            matches!(code, Some(0) | Some(1)),
            "{what}: ferry ended with {} (code {code:?}, signal {:?}):\n{}",
            self.status,
            self.status.signal(),
            self.stderr
        );
        assert!(
            !self.stderr.contains("panicked"),
            "{what}: ferry panicked:\n{}",
            self.stderr
        );
    }
}

/// Runs `cmd` (standard input and output to /dev/null, standard error kept), killing it with
/// SIGKILL once `limit` has passed.
pub fn run_bounded(mut cmd: Command, limit: Duration) -> Bounded {
    let err = tempfile::tempfile().unwrap();
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err.try_clone().unwrap());
    let start = Instant::now();
    let child = cmd.spawn().expect("run ferry");
    let pid = child.id() as libc::pid_t;
    let mut killed = false;
    let (raw, rss) = loop {
        let mut status = 0;
        // SAFETY: rusage is plain data; all-zero is a valid value.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: wait4 on our own child's pid, with valid out-pointers; the `Child` handle is
        // never waited on, so the pid is reaped exactly once, here.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut ru) };
        assert!(r >= 0, "wait4: {}", std::io::Error::last_os_error());
        if r == pid {
            break (status, ru.ru_maxrss.max(0) as u64);
        }
        if !killed && start.elapsed() > limit {
            // SAFETY: kill(2) on a child we have not reaped yet.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    drop(child);
    let mut err = err;
    let mut stderr = Vec::new();
    err.seek(SeekFrom::Start(0)).unwrap();
    err.read_to_end(&mut stderr).unwrap();
    Bounded {
        status: ExitStatus::from_raw(raw),
        killed,
        stderr: String::from_utf8_lossy(&stderr).to_string(),
        elapsed,
        max_rss_kib: rss,
    }
}

impl super::Setup {
    /// [`super::Setup::import`] of a bundle written to `<case>/<file>` as `write` does it (a
    /// bomb is written in pieces), under `limit`: imports it under the prefix `HOST/<case>` from
    /// a working directory of its own, and checks that a failed run left no file behind.
    pub fn import_bounded(
        &self,
        case: &str,
        file: &str,
        write: impl FnOnce(&std::path::Path),
        limit: Duration,
    ) -> Bounded {
        let base = self.dir.path().join(case);
        let work = base.join("work");
        std::fs::create_dir_all(&work).unwrap();
        let bundle = base.join(file);
        write(&bundle);
        let before = super::files_under(self.dir.path());
        let prefix = format!("{}/{case}", self.dst.host);
        let mapping = work.join("mapping.json");
        let mut cmd = crate::common::ferry_cmd(&[
            "import",
            bundle.to_str().unwrap(),
            "--to",
            &prefix,
            "--mapping-out",
            mapping.to_str().unwrap(),
        ]);
        cmd.current_dir(&work);
        let run = run_bounded(cmd, limit);
        if !run.status.success() {
            let after = super::files_under(self.dir.path());
            let new: Vec<_> = after.difference(&before).collect();
            assert!(new.is_empty(), "{case}: the failed import left {new:?}");
        }
        run
    }
}
