//! Progress: a bar (bytes, rate, ETA) on a terminal, plain log lines otherwise, nothing when
//! quiet. Workers only bump an atomic counter, so reporting never slows the data path.
//! It imports only `text`.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::text::printable;

/// How to report progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A bar when stderr is a terminal, else lines.
    Auto,
    Lines,
    Quiet,
}

/// A byte counter for one phase.
pub struct Progress {
    bar: Option<ProgressBar>,
    mode: Mode,
    label: String,
    total: u64,
    done: AtomicU64,
    last_decile: AtomicU64,
    start: Instant,
}

/// `1.50 MiB` style sizes: indicatif's, so summaries and the progress bar agree.
pub fn human(bytes: u64) -> String {
    indicatif::HumanBytes(bytes).to_string()
}

impl Progress {
    pub fn new(label: &str, total: u64, mode: Mode) -> Progress {
        let tty = std::io::stderr().is_terminal();
        let mode = match mode {
            Mode::Auto if tty => Mode::Auto,
            Mode::Auto => Mode::Lines,
            m => m,
        };
        let bar = (mode == Mode::Auto).then(|| {
            let b = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{prefix} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            ) {
                b.set_style(style.progress_chars("=> "));
            }
            b.set_prefix(label.to_string());
            b
        });
        Progress {
            bar,
            mode,
            label: label.into(),
            total,
            done: AtomicU64::new(0),
            last_decile: AtomicU64::new(0),
            start: Instant::now(),
        }
    }

    /// Counts `n` more bytes done.
    pub fn add(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        if let Some(b) = &self.bar {
            b.set_position(done);
        } else if self.mode == Mode::Lines && self.total > 0 {
            let decile = done * 10 / self.total;
            if decile > self.last_decile.fetch_max(decile, Ordering::Relaxed) && decile < 10 {
                self.line(&format!(
                    "{}0% ({} of {})",
                    decile,
                    human(done),
                    human(self.total)
                ));
            }
        }
    }

    /// Bytes done so far.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Every line goes out escaped: a note may carry names from a bundle (DESIGN §1).
    fn line(&self, msg: &str) {
        eprintln!("{}: {}", self.label, printable(msg));
    }

    /// A message that does not disturb the bar.
    pub fn note(&self, msg: &str) {
        match (&self.bar, self.mode) {
            (Some(b), _) => b.println(format!("{}: {}", self.label, printable(msg))),
            (None, Mode::Quiet) => {}
            (None, _) => self.line(msg),
        }
    }

    /// Clears the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }

    pub fn elapsed_secs(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human(512), "512 B");
        assert_eq!(human(1536), "1.50 KiB");
        assert_eq!(human(250 << 20), "250.00 MiB");
    }
}
