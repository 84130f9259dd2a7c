//! Running ferry under a wall-clock deadline and measuring what it cost: elapsed time and the
//! child's own peak RSS (`wait4`'s rusage, so other processes of the test do not count).
//! An address-space limit keeps a runaway allocation from taking the machine with it.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one bounded run of ferry did.
#[derive(Debug)]
pub struct Measured {
    /// Exit code; None when killed by a signal (the deadline, or a crash).
    pub code: Option<i32>,
    pub stderr: String,
    pub elapsed: Duration,
    /// Peak resident set size of the child, KiB.
    pub max_rss_kib: u64,
    /// The deadline passed and the child was killed.
    pub timed_out: bool,
}

impl Measured {
    pub fn max_rss_mib(&self) -> f64 {
        self.max_rss_kib as f64 / 1024.0
    }
}

/// Address space allowed to the child: far above what a bounded ferry needs, far below what
/// would hurt a shared machine.
const ADDRESS_SPACE: u64 = 3 << 30;

/// Runs `cmd` (stdout discarded) and kills it with SIGKILL when it is still running after
/// `deadline`.
// The child is reaped with wait4 (for its rusage), not Child::wait.
#[allow(clippy::zombie_processes)]
pub fn run_measured(mut cmd: Command, deadline: Duration) -> Measured {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe; the closure touches nothing else.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: ADDRESS_SPACE,
                rlim_max: ADDRESS_SPACE,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let start = Instant::now();
    let mut child = cmd.spawn().expect("run ferry");
    let pid = child.id() as libc::pid_t;
    let mut err = child.stderr.take().expect("stderr pipe");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let mut status = 0;
    // SAFETY: all-zero is a valid rusage.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut timed_out = false;
    loop {
        // SAFETY: wait4 on our own child's pid with valid out pointers.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        assert!(r == 0, "wait4: {}", std::io::Error::last_os_error());
        if start.elapsed() > deadline {
            timed_out = true;
            // SAFETY: kill(2) and a blocking wait4 on our own unreaped child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::wait4(pid, &mut status, 0, &mut usage);
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let elapsed = start.elapsed();
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Measured {
        code,
        stderr: reader.join().unwrap_or_default(),
        elapsed,
        max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        timed_out,
    }
}

/// Asserts a clean, bounded refusal: exit 1 within `time`, peak RSS at most `rss_mib`, no
/// panic, and stderr naming each of `needles`.
pub fn assert_bounded_failure(m: &Measured, time: Duration, rss_mib: u64, needles: &[&str]) {
    let err = &m.stderr;
    assert!(
        !m.timed_out,
        "ferry still ran after {:?} (peak RSS {:.0} MiB so far)",
        m.elapsed,
        m.max_rss_mib()
    );
    assert!(!err.contains("panicked"), "ferry panicked:\n{err}");
    assert_eq!(m.code, Some(1), "expected exit 1:\n{err}");
    assert!(
        m.elapsed < time,
        "took {:?}, over the {time:?} bound",
        m.elapsed
    );
    assert!(
        m.max_rss_kib <= rss_mib * 1024,
        "peak RSS {:.1} MiB, over the {rss_mib} MiB bound",
        m.max_rss_mib()
    );
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}:\n{err}");
    }
    eprintln!(
        "bounded run: {:?}, peak RSS {:.1} MiB: {}",
        m.elapsed,
        m.max_rss_mib(),
        err.trim()
    );
}
