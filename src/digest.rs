//! Content digests and the hashers that check them while bytes stream past: digests are the
//! contract, so nothing is trusted until its bytes hash to the name it was asked for.
//! It imports nothing else of ferry's.

use std::fmt;
use std::io::{self, Read};

use sha2::{Digest as _, Sha256, Sha512};

/// A digest string that is not `sha256:<64 hex>` or `sha512:<128 hex>`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid digest {0:?}: expected sha256:<64 lowercase hex> or sha512:<128 lowercase hex>")]
pub struct DigestError(pub String);

/// Supported digest algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    /// Name used in digest strings and layout paths.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }
    fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }
}

/// A validated content digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

impl Digest {
    /// Parses `algo:hex`, refusing anything that could escape a path or is not canonical.
    pub fn parse(s: &str) -> Result<Digest, DigestError> {
        let err = || DigestError(s.chars().take(200).collect());
        let (algo, hex) = s.split_once(':').ok_or_else(err)?;
        let algorithm = match algo {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            _ => return Err(err()),
        };
        if hex.len() != algorithm.hex_len()
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(err());
        }
        Ok(Digest {
            algorithm,
            hex: hex.to_string(),
        })
    }

    /// The sha256 digest of a byte slice.
    pub fn sha256_of(bytes: &[u8]) -> Digest {
        let mut h = Hasher::new(Algorithm::Sha256);
        h.update(bytes);
        h.finish()
    }

    /// The digest of `bytes` with this digest's algorithm.
    pub fn of_same_kind(&self, bytes: &[u8]) -> Digest {
        let mut h = Hasher::new(self.algorithm);
        h.update(bytes);
        h.finish()
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The digest as a tag, `sha256-<hex>`: how cosign names signatures (`….sig`) and the
    /// referrers fallback tag names a subject.
    pub fn as_tag(&self) -> String {
        format!("{}-{}", self.algorithm().name(), self.hex())
    }

    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// Path of this blob inside an OCI layout: `blobs/<algo>/<hex>`.
    pub fn layout_path(&self) -> String {
        format!("blobs/{}/{}", self.algorithm.name(), self.hex)
    }

    /// A short form for messages (`sha256:0123456789ab`).
    pub fn short(&self) -> String {
        format!("{}:{}", self.algorithm.name(), &self.hex[..12])
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

impl std::str::FromStr for Digest {
    type Err = DigestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Digest::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An incremental hasher for either algorithm.
#[derive(Clone)]
pub enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    pub fn new(a: Algorithm) -> Hasher {
        match a {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(Sha512::new()),
        }
    }
    pub fn update(&mut self, b: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(b),
            Hasher::Sha512(h) => h.update(b),
        }
    }
    pub fn finish(self) -> Digest {
        let (algorithm, bytes) = match self {
            Hasher::Sha256(h) => (Algorithm::Sha256, h.finalize().to_vec()),
            Hasher::Sha512(h) => (Algorithm::Sha512, h.finalize().to_vec()),
        };
        let mut hex = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            hex.push_str(&format!("{b:02x}"));
        }
        Digest { algorithm, hex }
    }
}

/// What a verifying reader found wrong.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("size mismatch: expected {expected} bytes, got {actual}")]
    Size { expected: u64, actual: u64 },
    #[error("digest mismatch: expected {expected}, content hashes to {actual}")]
    Digest { expected: Digest, actual: Digest },
}

/// Wraps a reader, hashing and counting every byte; `finish` checks the expected digest and
/// size. Reads past the expected size fail, so a lying server cannot make us store more.
pub struct VerifyingReader<R> {
    inner: R,
    hasher: Hasher,
    expected: Digest,
    expected_size: u64,
    read: u64,
}

impl<R: Read> VerifyingReader<R> {
    pub fn new(inner: R, expected: Digest, expected_size: u64) -> Self {
        VerifyingReader {
            inner,
            hasher: Hasher::new(expected.algorithm()),
            expected,
            expected_size,
            read: 0,
        }
    }

    /// Bytes read so far.
    pub fn count(&self) -> u64 {
        self.read
    }

    /// Checks size and digest of everything read.
    pub fn finish(self) -> Result<(), VerifyError> {
        if self.read != self.expected_size {
            return Err(VerifyError::Size {
                expected: self.expected_size,
                actual: self.read,
            });
        }
        let actual = self.hasher.finish();
        if actual != self.expected {
            return Err(VerifyError::Digest {
                expected: self.expected,
                actual,
            });
        }
        Ok(())
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.expected_size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "more than the expected {} bytes for {}",
                    self.expected_size, self.expected
                ),
            ));
        }
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Why a [`HoldbackReader`] refused its content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentError {
    #[error("more than the expected {size} bytes for {digest}")]
    TooLong { digest: Digest, size: u64 },
    #[error("content hashes to {}, not {expected}", .actual.as_ref().map(Digest::to_string).unwrap_or_default())]
    Mismatch {
        expected: Digest,
        actual: Option<Digest>,
    },
    #[error("content of {digest} ended after {got} of {size} bytes")]
    Short { digest: Digest, got: u64, size: u64 },
}

/// A reader for uploads that holds back its final buffer until the whole content hashed to the
/// expected digest (DESIGN §4.1): on a mismatch the last bytes are never sent, the request
/// fails mid-body and the registry never commits the blob.
pub struct HoldbackReader<R> {
    inner: R,
    hasher: Option<Hasher>,
    expected: Digest,
    size: u64,
    pulled: u64,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    failure: Option<ContentError>,
}

impl<R: Read> HoldbackReader<R> {
    pub fn new(inner: R, expected: Digest, size: u64) -> Self {
        let cap = (size.min(256 * 1024) as usize).max(1);
        HoldbackReader {
            inner,
            hasher: Some(Hasher::new(expected.algorithm())),
            expected,
            size,
            pulled: 0,
            buf: vec![0; cap],
            start: 0,
            end: 0,
            failure: None,
        }
    }

    /// Why the content was refused (wrong digest, too short or too long), once it was.
    pub fn failure(&self) -> Option<&ContentError> {
        self.failure.as_ref()
    }

    fn fail(&mut self, kind: io::ErrorKind, why: ContentError) -> io::Error {
        self.failure = Some(why.clone());
        io::Error::new(kind, why)
    }

    /// Bytes handed out so far.
    pub fn position(&self) -> u64 {
        self.pulled - (self.end - self.start) as u64
    }

    fn verify(&mut self) -> io::Result<()> {
        let mut extra = [0u8; 1];
        if self.inner.read(&mut extra)? != 0 {
            let why = ContentError::TooLong {
                digest: self.expected.clone(),
                size: self.size,
            };
            return Err(self.fail(io::ErrorKind::InvalidData, why));
        }
        let actual = self.hasher.take().map(Hasher::finish);
        if actual.as_ref() != Some(&self.expected) {
            let why = ContentError::Mismatch {
                expected: self.expected.clone(),
                actual,
            };
            return Err(self.fail(io::ErrorKind::InvalidData, why));
        }
        Ok(())
    }
}

impl<R: Read> Read for HoldbackReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.start == self.end {
            if self.pulled == self.size {
                return Ok(0);
            }
            let want = (self.size - self.pulled).min(self.buf.len() as u64) as usize;
            let n = self.inner.read(&mut self.buf[..want])?;
            if n == 0 {
                let why = ContentError::Short {
                    digest: self.expected.clone(),
                    got: self.pulled,
                    size: self.size,
                };
                return Err(self.fail(io::ErrorKind::UnexpectedEof, why));
            }
            if let Some(h) = self.hasher.as_mut() {
                h.update(&self.buf[..n]);
            }
            self.pulled += n as u64;
            self.start = 0;
            self.end = n;
            if self.pulled == self.size {
                // The final buffer: released only once the digest checked.
                self.verify()?;
            }
        }
        let n = out.len().min(self.end - self.start);
        out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_and_hashes() {
        assert_eq!(Digest::sha256_of(b"").to_string(), EMPTY);
        assert_eq!(Digest::parse(EMPTY).unwrap().layout_path().len(), 77);
        for bad in [
            "sha256:abc",
            "md5:00",
            "sha256:../../etc/passwd",
            "",
            &EMPTY.to_uppercase(),
        ] {
            assert!(Digest::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn verifying_reader_checks_digest_and_size() {
        let d = Digest::sha256_of(b"hello");
        let mut r = VerifyingReader::new(&b"hello"[..], d.clone(), 5);
        io::copy(&mut r, &mut io::sink()).unwrap();
        r.finish().unwrap();

        let mut r = VerifyingReader::new(&b"hellp"[..], d.clone(), 5);
        io::copy(&mut r, &mut io::sink()).unwrap();
        assert!(matches!(r.finish(), Err(VerifyError::Digest { .. })));

        let mut r = VerifyingReader::new(&b"hello!"[..], d.clone(), 5);
        assert!(io::copy(&mut r, &mut io::sink()).is_err());

        let mut r = VerifyingReader::new(&b"hell"[..], d, 5);
        io::copy(&mut r, &mut io::sink()).unwrap();
        assert!(matches!(r.finish(), Err(VerifyError::Size { .. })));
    }

    #[test]
    fn holdback_reader_never_releases_bad_final_bytes() {
        let data: Vec<u8> = (0..600_000u32).map(|i| i as u8).collect();
        let d = Digest::sha256_of(&data);
        let mut out = Vec::new();
        HoldbackReader::new(&data[..], d.clone(), data.len() as u64)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
        let mut bad = data.clone();
        *bad.last_mut().unwrap() ^= 1;
        let mut r = HoldbackReader::new(&bad[..], d.clone(), bad.len() as u64);
        let mut out = Vec::new();
        assert!(r.read_to_end(&mut out).is_err());
        assert!(out.len() < bad.len() - 1, "the final buffer was released");
        let mut r = HoldbackReader::new(&data[..10], d, data.len() as u64);
        assert!(io::copy(&mut r, &mut io::sink()).is_err());
    }
}
