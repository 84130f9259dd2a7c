//! The tar layout of a bundle, planned before a byte of data moves: every member's header and
//! offset is known in advance, so workers can write members at their own offsets and the
//! result is one deterministic tar (DESIGN §2, §3.4).

use std::io;

use crate::sizes::{len64, MAX_FILE_SIZE};

/// Tar block size.
pub const BLOCK: u64 = 512;
/// Largest size ustar's octal field holds; bigger members need a PAX `size` record.
const USTAR_MAX_SIZE: u64 = 0o77777777777;

/// One member of the planned tar.
#[derive(Debug, Clone)]
pub struct PlannedMember {
    pub name: String,
    pub size: u64,
    /// Where this member's header bytes (PAX header included) start.
    pub header_offset: u64,
    /// The header block(s): optional PAX extended header + ustar header.
    pub header: Vec<u8>,
    /// Where the member's data starts.
    pub data_offset: u64,
}

/// A whole planned tar: members in order and the total length (end blocks included).
#[derive(Debug, Clone)]
pub struct TarPlan {
    pub members: Vec<PlannedMember>,
    pub total: u64,
}

/// Rounds up to a whole number of blocks; None past 64 bits.
pub fn padded(n: u64) -> Option<u64> {
    n.div_ceil(BLOCK).checked_mul(BLOCK)
}

/// Why a tar could not be planned.
#[derive(Debug, thiserror::Error)]
pub enum TarPlanError {
    #[error("cannot build the tar header of {name}")]
    Header { name: String, source: io::Error },
    /// Member `index` (of the entries given) takes the tar past [`MAX_FILE_SIZE`].
    #[error("member {name} ({size} bytes) takes the bundle past {limit} bytes, the largest file there can be")]
    TooLarge {
        index: usize,
        name: String,
        size: u64,
        limit: u64,
    },
}

fn ustar_header(name: &str, size: u64, kind: tar::EntryType) -> io::Result<tar::Header> {
    let mut h = tar::Header::new_ustar();
    h.set_path(name)?;
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h.set_entry_type(kind);
    h.set_cksum();
    Ok(h)
}

/// A PAX record `"<len> key=value\n"`, where len counts the whole record.
fn pax_record(key: &str, value: &str) -> String {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while len.to_string().len() + body.len() != len {
        len = len.to_string().len() + body.len();
    }
    format!("{len}{body}")
}

/// Header bytes for one member: ustar when it fits, else PAX records for path and/or size.
pub fn member_header(name: &str, size: u64) -> io::Result<Vec<u8>> {
    let name_fits = ustar_header(name, 0, tar::EntryType::Regular).is_ok();
    let size_fits = size <= USTAR_MAX_SIZE;
    if name_fits && size_fits {
        return Ok(ustar_header(name, size, tar::EntryType::Regular)?
            .as_bytes()
            .to_vec());
    }
    let mut records = String::new();
    if !name_fits {
        records.push_str(&pax_record("path", name));
    }
    if !size_fits {
        records.push_str(&pax_record("size", &size.to_string()));
    }
    // The ustar fields hold a truncated name and size 0 when PAX carries the real ones.
    let short: String = name
        .rsplit('/')
        .next()
        .unwrap_or(name)
        .chars()
        .take(99)
        .collect();
    let pax_name = format!("PaxHeaders/{}", &short[..short.len().min(88)]);
    let mut out = ustar_header(&pax_name, len64(records.len()), tar::EntryType::XHeader)?
        .as_bytes()
        .to_vec();
    out.extend_from_slice(records.as_bytes());
    // PAX records are a path and a size: a few hundred bytes, padded to whole blocks.
    let block = BLOCK as usize;
    out.resize(block + records.len().div_ceil(block) * block, 0);
    let real = ustar_header(
        &short,
        if size_fits { size } else { 0 },
        tar::EntryType::Regular,
    )?;
    out.extend_from_slice(real.as_bytes());
    Ok(out)
}

impl TarPlan {
    /// Plans members in the given order; refuses a tar larger than [`MAX_FILE_SIZE`], naming
    /// the member that takes it past, before anything is allocated for the data.
    pub fn new(entries: &[(String, u64)]) -> Result<TarPlan, TarPlanError> {
        let mut offset: u64 = 0;
        let mut members = Vec::with_capacity(entries.len());
        for (index, (name, size)) in entries.iter().enumerate() {
            let too_large = || TarPlanError::TooLarge {
                index,
                name: name.clone(),
                size: *size,
                limit: MAX_FILE_SIZE,
            };
            let header = member_header(name, *size).map_err(|source| TarPlanError::Header {
                name: name.clone(),
                source,
            })?;
            let header_offset = offset;
            let data_offset = offset
                .checked_add(len64(header.len()))
                .ok_or_else(too_large)?;
            offset = padded(*size)
                .and_then(|p| data_offset.checked_add(p))
                // The two end blocks must fit too.
                .filter(|end| {
                    end.checked_add(2 * BLOCK)
                        .is_some_and(|t| t <= MAX_FILE_SIZE)
                })
                .ok_or_else(too_large)?;
            members.push(PlannedMember {
                name: name.clone(),
                size: *size,
                header_offset,
                header,
                data_offset,
            });
        }
        Ok(TarPlan {
            members,
            total: offset + 2 * BLOCK,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn build(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
        let plan = TarPlan::new(
            &entries
                .iter()
                .map(|(n, d)| (n.clone(), d.len() as u64))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let mut out = vec![0u8; plan.total as usize];
        for (m, (_, d)) in plan.members.iter().zip(entries) {
            out[m.header_offset as usize..][..m.header.len()].copy_from_slice(&m.header);
            out[m.data_offset as usize..][..d.len()].copy_from_slice(d);
        }
        out
    }

    #[test]
    fn planned_tar_reads_back_with_the_tar_crate() {
        let long = format!("blobs/sha512/{}", "a".repeat(128));
        let entries = vec![
            ("oci-layout".to_string(), b"{}".to_vec()),
            (long.clone(), vec![7u8; 1000]),
            ("blobs/sha256/empty".to_string(), vec![]),
        ];
        let bytes = build(&entries);
        let mut ar = tar::Archive::new(&bytes[..]);
        let mut seen = Vec::new();
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            assert_eq!(e.header().mtime().unwrap(), 0);
            assert_eq!(e.header().mode().unwrap(), 0o644);
            seen.push((e.path().unwrap().to_string_lossy().to_string(), data));
        }
        assert_eq!(seen, entries);
    }

    #[test]
    fn sizes_past_the_largest_file_name_the_member() {
        let max = MAX_FILE_SIZE;
        let e = |sizes: &[u64]| -> Vec<(String, u64)> {
            sizes
                .iter()
                .enumerate()
                .map(|(i, s)| (format!("blobs/sha256/{i}"), *s))
                .collect()
        };
        // Each fits alone, the sum does not: the second is named.
        let two = e(&[6 << 60, 6 << 60]);
        assert!(TarPlan::new(&two[..1]).is_ok());
        match TarPlan::new(&two) {
            Err(TarPlanError::TooLarge { index: 1, size, .. }) => assert_eq!(size, 6 << 60),
            other => panic!("{other:?}"),
        }
        // Padding alone passes 2^63 - 1, and two padded members pass 2^64.
        assert!(matches!(
            TarPlan::new(&e(&[max])),
            Err(TarPlanError::TooLarge { index: 0, .. })
        ));
        assert!(matches!(
            TarPlan::new(&e(&[1, max, max])),
            Err(TarPlanError::TooLarge { index: 1, .. })
        ));
        assert!(matches!(
            TarPlan::new(&e(&[u64::MAX])),
            Err(TarPlanError::TooLarge { index: 0, .. })
        ));
        // The largest member that fits: a PAX header (3 blocks), data, two end blocks.
        let fits = max + 1 - 6 * BLOCK;
        let p = TarPlan::new(&e(&[fits])).unwrap();
        assert_eq!(p.total, max + 1 - BLOCK);
        assert!(TarPlan::new(&e(&[fits + 1])).is_err());
        assert_eq!(padded(u64::MAX), None);
        assert_eq!(padded(513), Some(1024));
    }

    #[test]
    fn huge_sizes_use_pax() {
        let h = member_header("blobs/sha256/x", 9 << 30).unwrap();
        assert_eq!(h.len(), 3 * BLOCK as usize);
        let text = String::from_utf8_lossy(&h[512..1024]);
        assert!(text.contains(&format!("size={}", 9u64 << 30)), "{text}");
        assert_eq!(pax_record("size", "1"), "9 size=1\n");
        assert_eq!(
            pax_record("path", &"x".repeat(95)),
            format!("105 path={}\n", "x".repeat(95))
        );
    }
}
