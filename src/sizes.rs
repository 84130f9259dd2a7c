//! Arithmetic on sizes that come from outside (descriptors in manifests, part sizes): checked
//! or saturating, never wrapping, never panicking, never truncating. A descriptor may say
//! anything up to 2^63 - 1 bytes; nothing is allocated or created in proportion to it.
//! It imports nothing else of ferry's.

/// Largest file, and so largest bundle or sum of parts: file offsets are signed 64-bit
/// (`off_t`), so 2^63 - 1 bytes.
pub const MAX_FILE_SIZE: u64 = u64::MAX >> 1;

/// Most files a split bundle is written as (`--split-size`): checked before the first one is
/// created.
pub const MAX_PARTS: u64 = 10_000;

/// The sum of `sizes`, stopping at `u64::MAX` (for summaries and progress bars).
pub fn saturating_total(sizes: impl IntoIterator<Item = u64>) -> u64 {
    sizes.into_iter().fold(0u64, u64::saturating_add)
}

/// How many parts of at most `split` bytes hold `len` bytes (at least one; `split` 0 means
/// one part).
pub fn part_count(len: u64, split: u64) -> u64 {
    if split == 0 {
        return 1;
    }
    len.div_ceil(split).max(1)
}

/// The smallest part size that holds `len` bytes in at most [`MAX_PARTS`] parts.
pub fn smallest_split(len: u64) -> u64 {
    len.div_ceil(MAX_PARTS).max(1)
}

/// `n` as a `--split-size` argument, rounded up to whole MiB (KiB below 1 MiB).
pub fn size_arg(n: &u64) -> String {
    if *n >= 1 << 20 {
        format!("{}M", n.div_ceil(1 << 20))
    } else {
        format!("{}K", n.div_ceil(1 << 10).max(1))
    }
}

/// `usize` as `u64` (lossless on every target ferry builds for; saturates otherwise).
pub fn len64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_saturate() {
        assert_eq!(saturating_total([u64::MAX, 1, 5]), u64::MAX);
        assert_eq!(saturating_total([4, 5]), 9);
    }

    #[test]
    fn part_counts() {
        assert_eq!(part_count(0, 1024), 1);
        assert_eq!(part_count(1024, 1024), 1);
        assert_eq!(part_count(1025, 1024), 2);
        assert_eq!(part_count(5, 0), 1);
        // 4 EiB in FAT32 parts: a billion parts, counted without allocating any.
        let fat32 = (4 << 30) - 1;
        assert_eq!(part_count(1 << 62, fat32), 1_073_741_825);
        assert_eq!(part_count(u64::MAX, 1), u64::MAX);
        assert_eq!(part_count((1 << 40) + 3072, 64 << 20), 16_385);
        assert_eq!(smallest_split(1 << 40), 109_951_163);
        assert!(part_count(1 << 40, smallest_split(1 << 40)) <= MAX_PARTS);
        assert_eq!(smallest_split(0), 1);
        assert_eq!(size_arg(&smallest_split(1 << 40)), "105M");
        assert_eq!(size_arg(&(1 << 20)), "1M");
        assert_eq!(size_arg(&1), "1K");
        assert_eq!(size_arg(&1025), "2K");
    }
}
