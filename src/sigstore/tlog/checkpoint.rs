//! Checkpoints: a log's signed statement of its size and root hash, as a signed note
//! (C2SP `signed-note`, `tlog-checkpoint`). The note's text is the origin line, the tree size,
//! the base64 root hash and optional extension lines; after a blank line come signature lines
//! `— <name> <base64(4-byte key hint || signature)>`. Witnesses may cosign, so a note can carry
//! signatures from keys ferry does not know: those are ignored, and the log's own must verify.

use sha2::{Digest as _, Sha256};

use super::super::key::PublicKey;
use super::super::trust_root::Log;
use super::super::SigstoreError;
use super::merkle::Hash;

/// What a verified checkpoint says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root_hash: Hash,
}

fn err(detail: impl std::fmt::Display) -> SigstoreError {
    SigstoreError::Tlog(format!("checkpoint: {detail}"))
}

/// One signature line.
struct NoteSig<'a> {
    name: &'a str,
    hint: [u8; 4],
    sig: Vec<u8>,
}

/// A note name: non-empty, no white space, no `+` (C2SP signed-note).
fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(char::is_whitespace) && !name.contains('+')
}

/// Splits a signed note into its signed text (ending in a newline) and its signature lines.
fn split_note(note: &str) -> Result<(&str, Vec<NoteSig<'_>>), SigstoreError> {
    if note.chars().any(|c| c.is_control() && c != '\n') {
        return Err(err("the note holds control characters"));
    }
    let split = note
        .rfind("\n\n")
        .ok_or_else(|| err("no blank line between the note text and its signatures"))?;
    let (text, sigs) = (&note[..split + 1], &note[split + 2..]);
    if sigs.is_empty() {
        return Err(err("the note has no signature lines"));
    }
    let Some(sigs) = sigs.strip_suffix('\n') else {
        return Err(err("the signature block does not end with a newline"));
    };
    let mut out = Vec::new();
    for line in sigs.split('\n') {
        let rest = line
            .strip_prefix("\u{2014} ")
            .ok_or_else(|| err(format!("{line:?} is not a signature line (\"— name sig\")")))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or_else(|| err(format!("signature line {line:?} has no signature")))?;
        if !valid_name(name) {
            return Err(err(format!(
                "signature line names {name:?}, not a key name"
            )));
        }
        let raw = super::super::b64("checkpoint signature", b64)?;
        let (Some(hint), Some(sig)) = (raw.get(..4), raw.get(4..)) else {
            return Err(err(format!("the signature of {name:?} is too short")));
        };
        if sig.is_empty() {
            return Err(err(format!("the signature of {name:?} is too short")));
        }
        let mut h = [0u8; 4];
        h.copy_from_slice(hint);
        out.push(NoteSig {
            name,
            hint: h,
            sig: sig.to_vec(),
        });
    }
    Ok((text, out))
}

/// Parses the note text of a checkpoint (origin, size, root hash, extension lines).
fn parse_body(text: &str) -> Result<Checkpoint, SigstoreError> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let mut lines = body.split('\n');
    let origin = lines.next().unwrap_or_default();
    let (Some(size), Some(hash)) = (lines.next(), lines.next()) else {
        return Err(err(
            "the note text needs an origin, a tree size and a root hash line",
        ));
    };
    if origin.is_empty() {
        return Err(err("the origin line is empty"));
    }
    if size.is_empty() || !size.bytes().all(|c| c.is_ascii_digit()) {
        return Err(err(format!("tree size {size:?} is not a decimal number")));
    }
    let size: u64 = size
        .parse()
        .map_err(|_| err(format!("tree size {size:?} is out of range")))?;
    let root = super::super::b64("checkpoint root hash", hash)?;
    let root_hash: Hash = root.as_slice().try_into().map_err(|_| {
        err(format!(
            "the root hash has {} bytes, not 32 (SHA-256)",
            root.len()
        ))
    })?;
    if lines.any(str::is_empty) {
        return Err(err("an empty extension line"));
    }
    Ok(Checkpoint {
        origin: origin.to_string(),
        size,
        root_hash,
    })
}

/// The host of a log's base URL (`https://host:port/path` → `host`): the name Rekor v2 signs
/// its checkpoints under.
pub(crate) fn host(base_url: &str) -> &str {
    let rest = base_url.split_once("://").map_or(base_url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = hostport.strip_prefix('[') {
        return v6.split(']').next().unwrap_or_default();
    }
    hostport.split(':').next().unwrap_or_default()
}

/// The key hint a signature line by `log` under `name` carries (C2SP signed-note key ID, as
/// Rekor signs): Ed25519 SHA-256(name || 0x0A || 0x01 || key), RSA SHA-256(name || 0x0A ||
/// 0xFF || "PKIX-RSA-PKCS#1v1.5" || SPKI), ECDSA SHA-256(SPKI) (the Rekor v1 log id); first 4 bytes.
fn key_hint(log: &Log, name: &str) -> [u8; 4] {
    let mut h = Sha256::new();
    match &log.key {
        PublicKey::Ed25519(k) => {
            h.update(name.as_bytes());
            h.update(b"\n\x01");
            h.update(k.as_bytes());
        }
        PublicKey::Rsa(_) => {
            h.update(name.as_bytes());
            h.update(b"\n\xffPKIX-RSA-PKCS#1v1.5");
            h.update(&log.key_der);
        }
        PublicKey::P256(_) | PublicKey::P384(_) => h.update(&log.key_der),
    }
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// Verifies the checkpoint `note` is signed by `log` and returns what it says. For Rekor v2
/// (`rekor_v2`), the origin and the signature's name must be the host of the log's base URL;
/// Rekor v1 origins carry a tree id (`rekor.sigstore.dev - 2605736670972794746`) and its ECDSA
/// key hint does not depend on the name, so only the key hint selects the log's signature.
pub(crate) fn verify(note: &str, log: &Log, rekor_v2: bool) -> Result<Checkpoint, SigstoreError> {
    let (text, sigs) = split_note(note)?;
    let cp = parse_body(text)?;
    let name = host(&log.base_url);
    if rekor_v2 && cp.origin != name {
        return Err(err(format!(
            "origin {:?} is not the log's name {name:?} (from {})",
            cp.origin, log.base_url
        )));
    }
    let ecdsa = matches!(log.key, PublicKey::P256(_) | PublicKey::P384(_));
    let mut verified = false;
    for s in &sigs {
        let from_log = if ecdsa && !rekor_v2 {
            s.hint == key_hint(log, s.name)
        } else {
            s.name == name && s.hint == key_hint(log, name)
        };
        if !from_log {
            // A witness's cosignature, or a key this trust root does not name: not ours to check.
            continue;
        }
        log.key
            .verify(text.as_bytes(), &s.sig, "checkpoint")
            .map_err(|_| {
                err(format!(
                    "the signature of {:?} (key hint {}) does not verify with the log's key",
                    s.name,
                    super::hex(&s.hint)
                ))
            })?;
        verified = true;
    }
    if !verified {
        let want = key_hint(log, name);
        return Err(err(format!(
            "no signature from the log (name {name:?}, key hint {}); the note is signed by {}",
            super::hex(&want),
            sigs.iter()
                .map(|s| format!("{:?} (key hint {})", s.name, super::hex(&s.hint)))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(cp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_base_urls() {
        assert_eq!(host("https://rekor.sigstore.dev"), "rekor.sigstore.dev");
        assert_eq!(host("http://localhost:8000/api"), "localhost");
        assert_eq!(host("https://u@[::1]:3000"), "::1");
        assert_eq!(host("rekor-local"), "rekor-local");
    }

    #[test]
    fn malformed_notes_are_refused_with_the_reason() {
        let hash = "rs1YPY0ydAV0lxgfrq5pE4oRpUJwo3syeps5+eGUTDI=";
        let sig = "\u{2014} log AAAAAAAA\n";
        let cases = [
            (format!("o\n1\n{hash}\n"), "no blank line"),
            (format!("o\n1\n{hash}\n\n"), "no signature lines"),
            (
                format!("o\n1\n{hash}\n\n- log AAAAAAAA\n"),
                "not a signature line",
            ),
            (format!("o\n1\n{hash}\n\n\u{2014} log AAAA\n"), "too short"),
            (
                format!("o\n1\n{hash}\n\n\u{2014} log AAAAAAAA"),
                "end with a newline",
            ),
        ];
        for (note, why) in cases {
            let e = split_note(&note).map(|_| ()).unwrap_err().to_string();
            assert!(e.contains(why), "{note:?}: {e}");
        }
        let bodies = [
            (format!("1\n{hash}\n"), "needs an origin"),
            (format!("o\n{hash}\n"), "needs an origin"),
            (format!("o\n{hash}\n1\n"), "not a decimal"),
            ("o\n1\n\n".to_string(), "not 32"),
            (format!("o\n-1\n{hash}\n"), "not a decimal"),
        ];
        for (text, why) in bodies {
            let e = parse_body(&text).unwrap_err().to_string();
            assert!(e.contains(why), "{text:?}: {e}");
        }
        let note = format!("o\n7\n{hash}\nx: y\n\n{sig}");
        let (text, sigs) = split_note(&note).unwrap();
        assert_eq!(sigs.len(), 1);
        let cp = parse_body(text).unwrap();
        assert_eq!((cp.origin.as_str(), cp.size), ("o", 7));
    }
}
