//! `--timeout` (DESIGN §1): an attempt fails when no response headers arrive within the
//! window, or when a full window brings under 1 KiB of body, a stalled or dripping transfer
//! (curl's `--speed-limit`/`--speed-time`). A blocking read cannot be interrupted from
//! outside, so the socket itself times out each read (ureq's per-read timeout) and
//! [`StallReader`] catches the drip that keeps every single read under the window.

use std::fmt;
use std::io::{self, Read};
use std::time::{Duration, Instant};

use ureq::config::ConfigBuilder;
use ureq::typestate::AgentScope;
use ureq::Body;

/// A window that brings less than this much body is a stall.
pub const MIN_BYTES_PER_WINDOW: u64 = 1024;

/// The `--timeout` window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StallTimeout(pub Duration);

impl Default for StallTimeout {
    fn default() -> Self {
        StallTimeout(Duration::from_secs(60))
    }
}

impl StallTimeout {
    /// Parses `2s`, `500ms`, `1m`, `1h` or plain seconds (`30`).
    pub fn parse(s: &str) -> Result<StallTimeout, String> {
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let bad = || format!("invalid duration {s:?}: use e.g. 60s, 500ms, 2m or plain seconds");
        let n: u64 = num.parse().map_err(|_| bad())?;
        let d = match unit.trim() {
            "" | "s" => Duration::from_secs(n),
            "ms" => Duration::from_millis(n),
            "m" => Duration::from_secs(n.checked_mul(60).ok_or_else(bad)?),
            "h" => Duration::from_secs(n.checked_mul(3600).ok_or_else(bad)?),
            _ => return Err(bad()),
        };
        if d < Duration::from_millis(10) {
            return Err(format!("--timeout {s}: must be at least 10ms"));
        }
        Ok(StallTimeout(d))
    }

    /// The window in seconds, for messages (`2 s`, `0.5 s`).
    pub fn seconds(&self) -> String {
        let ms = self.0.as_millis();
        if ms % 1000 == 0 {
            format!("{} s", ms / 1000)
        } else {
            format!("{} s", self.0.as_secs_f64())
        }
    }
}

/// As the option is written: `2s`, `500ms`.
impl fmt::Display for StallTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms % 1000 == 0 {
            write!(f, "{}s", ms / 1000)
        } else {
            write!(f, "{ms}ms")
        }
    }
}

/// Applies the window to an agent's config: connecting, waiting for the response headers,
/// and every single socket read or write. The body as a whole has no deadline (a layer of
/// 100 GiB may take hours); [`guard`] watches its pace instead.
pub fn apply(b: ConfigBuilder<AgentScope>, t: StallTimeout) -> ConfigBuilder<AgentScope> {
    b.timeout_connect(Some(t.0))
        .timeout_recv_response(Some(t.0))
        .timeout_per_read(Some(t.0))
        .timeout_per_write(Some(t.0))
        .timeout_recv_body(None)
}

/// How an attempt stalled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stall {
    /// No connection (TCP or TLS) within the window.
    Connect,
    /// The request went out and no response headers came back.
    Response,
    /// The server stopped taking the request's bytes.
    Send,
    /// Not a single body byte within the window.
    Body,
    /// Some bytes, but under [`MIN_BYTES_PER_WINDOW`] in a whole window.
    Slow,
}

impl fmt::Display for Stall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stall::Connect => "no connection",
            Stall::Response => "no response",
            Stall::Send => "no request bytes accepted",
            Stall::Body => "no body data",
            Stall::Slow => "under 1 KiB",
        })
    }
}

/// What a stalled attempt reports through `io::Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StallError {
    pub stall: Stall,
    pub timeout: StallTimeout,
}

impl fmt::Display for StallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.timeout;
        write!(f, "{} in {} (--timeout {t})", self.stall, t.seconds())
    }
}

impl std::error::Error for StallError {}

impl StallError {
    fn io(stall: Stall, timeout: StallTimeout) -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, StallError { stall, timeout })
    }

    /// The stall an I/O error from a guarded body stands for.
    pub fn of_io(e: &io::Error) -> Option<StallError> {
        e.get_ref()
            .and_then(|x| x.downcast_ref::<StallError>())
            .copied()
    }
}

/// The stall a ureq error from sending a request (before any body) stands for.
pub fn of_request(e: &ureq::Error) -> Option<Stall> {
    use ureq::Timeout as T;
    match e {
        ureq::Error::Timeout(T::Connect | T::Resolve) => Some(Stall::Connect),
        ureq::Error::Timeout(T::PerWrite | T::SendRequest | T::SendBody) => Some(Stall::Send),
        ureq::Error::Timeout(_) => Some(Stall::Response),
        ureq::Error::Io(io) if io.kind() == io::ErrorKind::TimedOut => Some(Stall::Response),
        _ => None,
    }
}

fn is_timeout(e: &io::Error) -> bool {
    let ureq_timeout = e
        .get_ref()
        .and_then(|x| x.downcast_ref::<ureq::Error>())
        .is_some_and(|u| matches!(u, ureq::Error::Timeout(_)));
    ureq_timeout
        || matches!(
            e.kind(),
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
        )
}

/// Puts a response body behind a [`StallReader`], so every reader of it is guarded.
pub fn guard(body: Body, timeout: StallTimeout) -> Body {
    Body::builder().reader(StallReader::new(body.into_reader(), timeout))
}

/// Fails a body that brings under [`MIN_BYTES_PER_WINDOW`] in a window of waiting. Only time
/// spent blocked in the inner reader counts: a slow disk on our side is not a stall.
pub struct StallReader<R> {
    inner: R,
    timeout: StallTimeout,
    waited: Duration,
    bytes: u64,
}

impl<R> StallReader<R> {
    pub fn new(inner: R, timeout: StallTimeout) -> Self {
        StallReader {
            inner,
            timeout,
            waited: Duration::ZERO,
            bytes: 0,
        }
    }
}

impl<R: Read> Read for StallReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let start = Instant::now();
        let result = self.inner.read(buf);
        self.waited += start.elapsed();
        match result {
            Ok(n) => {
                self.bytes += n as u64;
                if n > 0 && self.waited >= self.timeout.0 {
                    if self.bytes < MIN_BYTES_PER_WINDOW {
                        return Err(StallError::io(Stall::Slow, self.timeout));
                    }
                    self.waited = Duration::ZERO;
                    self.bytes = 0;
                }
                Ok(n)
            }
            Err(e) if is_timeout(&e) => Err(StallError::io(Stall::Body, self.timeout)),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations() {
        let p = |s| StallTimeout::parse(s).map(|t| t.0);
        assert_eq!(p("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(p("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(p("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(p("45"), Ok(Duration::from_secs(45)));
        assert_eq!(p("1h"), Ok(Duration::from_secs(3600)));
        for bad in [
            "",
            "s",
            "2x",
            "-1s",
            "1.5s",
            "0",
            "5ms",
            "99999999999999999999h",
        ] {
            assert!(p(bad).is_err(), "{bad}");
        }
        assert_eq!(StallTimeout(Duration::from_secs(2)).to_string(), "2s");
        assert_eq!(
            StallTimeout(Duration::from_millis(500)).to_string(),
            "500ms"
        );
        assert_eq!(StallTimeout(Duration::from_millis(500)).seconds(), "0.5 s");
        assert_eq!(StallTimeout::default().seconds(), "60 s");
    }

    /// A reader that takes `delay` per read and gives `n` bytes each time.
    struct Slow {
        delay: Duration,
        n: usize,
        left: usize,
    }

    impl Read for Slow {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            std::thread::sleep(self.delay);
            let n = self.n.min(self.left).min(buf.len());
            self.left -= n;
            Ok(n)
        }
    }

    fn drain(r: &mut impl Read) -> io::Result<u64> {
        io::copy(r, &mut io::sink())
    }

    #[test]
    fn a_drip_fails_and_a_steady_flow_passes() {
        // Margins wide enough for a loaded machine: the drip gives 10 bytes a window, the steady
        // flow 2000 bytes a read even if each 5 ms sleep took 40 times longer.
        let t = StallTimeout(Duration::from_millis(200));
        let drip = Slow {
            delay: Duration::from_millis(20),
            n: 1,
            left: 1000,
        };
        let e = drain(&mut StallReader::new(drip, t)).unwrap_err();
        let s = StallError::of_io(&e).expect("a stall error");
        assert_eq!(s.stall, Stall::Slow);
        assert_eq!(e.to_string(), "under 1 KiB in 0.2 s (--timeout 200ms)");
        let steady = Slow {
            delay: Duration::from_millis(5),
            n: 2000,
            left: 40_000,
        };
        assert_eq!(drain(&mut StallReader::new(steady, t)).unwrap(), 40_000);
        // Time spent outside the reader (our own disk, say) does not count.
        let mut r = StallReader::new(&b"x"[..], t);
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(drain(&mut r).unwrap(), 1);
    }

    #[test]
    fn a_read_timeout_is_a_stall_without_data() {
        struct TimesOut;
        impl Read for TimesOut {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other(ureq::Error::Timeout(
                    ureq::Timeout::PerRead,
                )))
            }
        }
        let t = StallTimeout(Duration::from_secs(2));
        let e = drain(&mut StallReader::new(TimesOut, t)).unwrap_err();
        assert_eq!(e.to_string(), "no body data in 2 s (--timeout 2s)");
        assert_eq!(
            of_request(&ureq::Error::Timeout(ureq::Timeout::Connect)),
            Some(Stall::Connect)
        );
        assert_eq!(of_request(&ureq::Error::HostNotFound), None);
    }
}
