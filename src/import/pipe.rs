//! `ferry import -`: a bundle read once from a pipe (DESIGN §4.4). It works when `index.json`
//! comes before the blobs and manifests and configs before the layers, as ferry writes them:
//! the JSON documents are held in memory and checked before anything is pushed, then the
//! layers are pushed as they stream by, each checked on the way.

use std::collections::BTreeMap;
use std::io::{BufReader, Read};

use super::push::Streamed;
use super::{run, ImportError, ImportOptions, ImportSummary};
use crate::digest::Digest;
use crate::layout::gz::blob_digest;
use crate::layout::reader::{regular_member, Bundle};
use crate::layout::{Damage, LayoutError, Reading, INDEX_FILE, OCI_LAYOUT_FILE};
use crate::manifest::MAX_MANIFEST_SIZE;
use crate::registry::Client;

fn corrupt(damage: Damage) -> ImportError {
    ImportError::Layout(LayoutError::Corrupt {
        path: "-".into(),
        damage,
    })
}

fn unreadable(reading: Reading, source: std::io::Error) -> ImportError {
    ImportError::Layout(LayoutError::Unreadable {
        path: "-".into(),
        reading,
        source,
    })
}

/// The first layer, already read from the pipe when the JSON documents ended.
enum First<'a, R: Read> {
    None,
    Bytes(Digest, Vec<u8>),
    Entry(Digest, Box<tar::Entry<'a, R>>),
}

/// Imports a tar read from standard input.
pub fn import_stdin(client: &Client, opts: &ImportOptions) -> Result<ImportSummary, ImportError> {
    let stdin = std::io::stdin();
    import_stream(
        client,
        opts,
        BufReader::with_capacity(1 << 20, stdin.lock()),
    )
}

fn read_all(name: &str, r: &mut dyn Read, size: u64) -> Result<Vec<u8>, ImportError> {
    let mut buf = Vec::with_capacity(size as usize);
    r.take(size)
        .read_to_end(&mut buf)
        .map_err(|e| unreadable(Reading::StreamMember(name.to_string()), e))?;
    if buf.len() as u64 != size {
        return Err(corrupt(Damage::StreamShort {
            member: name.to_string(),
            got: buf.len() as u64,
            size,
        }));
    }
    Ok(buf)
}

/// Imports a tar read once from `input`.
pub fn import_stream<R: Read>(
    client: &Client,
    opts: &ImportOptions,
    input: R,
) -> Result<ImportSummary, ImportError> {
    let mut ar = tar::Archive::new(input);
    let mut entries = ar.entries().map_err(|e| unreadable(Reading::Stream, e))?;
    let mut small: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut first = First::None;
    for entry in entries.by_ref() {
        let mut entry = entry.map_err(|e| unreadable(Reading::StreamMembers, e))?;
        let Some(name) = regular_member(&entry)? else {
            continue;
        };
        let size = entry.size();
        if name == INDEX_FILE || name == OCI_LAYOUT_FILE {
            if size > MAX_MANIFEST_SIZE {
                return Err(corrupt(Damage::StreamTooLarge { member: name, size }));
            }
            small.insert(name.clone(), read_all(&name, &mut entry, size)?);
            continue;
        }
        let Some(d) = blob_digest(&name) else {
            continue;
        };
        if !small.contains_key(INDEX_FILE) {
            return Err(corrupt(Damage::BeforeIndex { member: name }));
        }
        if size > MAX_MANIFEST_SIZE {
            first = First::Entry(d, Box::new(entry));
            break;
        }
        let bytes = read_all(&name, &mut entry, size)?;
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            first = First::Bytes(d, bytes);
            break;
        }
        let actual = d.of_same_kind(&bytes);
        if actual != d {
            return Err(ImportError::Layout(LayoutError::Digest {
                member: name,
                expected: d,
                actual,
            }));
        }
        small.insert(name, bytes);
    }
    let bundle = Bundle::from_memory("-", small)?;
    run(client, opts, &bundle, &mut |work, progress| {
        let mut streamed = Streamed::new(work);
        let chunk = opts.chunk_size;
        // Blobs already in memory (configs and other JSON) first.
        for w in work {
            if let Some(mut r) = bundle
                .blob_size(&w.digest)?
                .and_then(|_| bundle.open_blob(&w.digest).ok())
            {
                streamed.offer(client, chunk, progress, &w.digest, &mut r)?;
            }
        }
        match std::mem::replace(&mut first, First::None) {
            First::None => {}
            First::Bytes(d, b) => streamed.offer(client, chunk, progress, &d, &mut &b[..])?,
            First::Entry(d, mut e) => streamed.offer(client, chunk, progress, &d, &mut e)?,
        }
        for entry in entries.by_ref() {
            let mut entry = entry.map_err(|e| unreadable(Reading::StreamRest, e))?;
            let Some(name) = regular_member(&entry)? else {
                continue;
            };
            if let Some(d) = blob_digest(&name) {
                streamed.offer(client, chunk, progress, &d, &mut entry)?;
            }
        }
        streamed.finish("the stream")
    })
}
