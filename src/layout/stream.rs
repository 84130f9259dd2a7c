//! The sequential sink for `-o -`, devices and FIFOs (pipes and tapes): the same bytes as a
//! file, in order.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::writer::io_err;
use super::LayoutError;

/// A sequential sink: counts bytes so the caller can check them against the plan.
pub struct StreamOutput<W: Write> {
    inner: W,
    /// For messages: `<stdout>` or the device's path.
    name: PathBuf,
    pub written: u64,
}

impl<W: Write> StreamOutput<W> {
    pub fn new(inner: W, name: &Path) -> Self {
        StreamOutput {
            inner,
            name: name.to_path_buf(),
            written: 0,
        }
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<(), LayoutError> {
        self.inner
            .write_all(bytes)
            .map_err(|e| io_err(&self.name, "write", e))?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Writes zeros up to `offset` (tar padding).
    pub fn pad_to(&mut self, offset: u64) -> Result<(), LayoutError> {
        const ZEROS: [u8; 1024] = [0; 1024];
        while self.written < offset {
            let n = (offset - self.written).min(ZEROS.len() as u64) as usize;
            self.write(&ZEROS[..n])?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), LayoutError> {
        self.inner
            .flush()
            .map_err(|e| io_err(&self.name, "flush", e))
    }
}
