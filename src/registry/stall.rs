//! `--timeout` (DESIGN §1): an attempt fails when no response headers arrive within the
//! window, or when a full window brings under 1 KiB of body, a stalled or dripping transfer
//! (curl's `--speed-limit`/`--speed-time`). A blocking read cannot be interrupted from
//! outside, so the socket itself times out each read (ureq's per-read timeout) and
//! [`StallReader`] catches the drip that keeps every single read under the window.

use std::fmt;
use std::time::Duration;

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
}
