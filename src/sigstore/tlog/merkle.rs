//! RFC 6962 / RFC 9162 Merkle trees: the leaf and node hashes and the verification of an
//! inclusion (audit) path, the proof that a log entry is in the tree whose root a checkpoint signs.

use sha2::{Digest as _, Sha256};

/// A SHA-256 tree hash.
pub(crate) type Hash = [u8; 32];

/// The hash of a leaf: SHA-256(0x00 || data), so a leaf can never pass for a node.
pub(crate) fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// The hash of an inner node: SHA-256(0x01 || left || right).
fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root an inclusion path leads to from `leaf` at `index` in a tree of `size` leaves
/// (RFC 9162 §2.1.3.2), or why the path cannot be one (index out of range, wrong length).
pub(crate) fn root_from_path(
    index: u64,
    size: u64,
    leaf: Hash,
    path: &[Hash],
) -> Result<Hash, String> {
    if index >= size {
        return Err(format!(
            "leaf index {index} is not inside a tree of size {size}"
        ));
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = leaf;
    for p in path {
        if snode == 0 {
            return Err(format!(
                "the path has {} hashes, more than a tree of size {size} needs",
                path.len()
            ));
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(format!(
            "the path has {} hashes, fewer than a tree of size {size} needs",
            path.len()
        ));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The root of `leaves` computed the long way (RFC 6962 §2.1 MTH).
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            1 => leaves[0],
            n => {
                let k = n.next_power_of_two() / 2;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    /// The audit path of leaf `m` (RFC 6962 §2.1.1 PATH).
    fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        let n = leaves.len();
        if n == 1 {
            return vec![];
        }
        let k = n.next_power_of_two() / 2;
        if m < k {
            let mut p = path(m, &leaves[..k]);
            p.push(mth(&leaves[k..]));
            p
        } else {
            let mut p = path(m - k, &leaves[k..]);
            p.push(mth(&leaves[..k]));
            p
        }
    }

    #[test]
    fn every_path_of_small_trees_verifies_and_a_wrong_one_does_not() {
        for n in 1..=17usize {
            let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&[i as u8])).collect();
            let root = mth(&leaves);
            for m in 0..n {
                let p = path(m, &leaves);
                let got = root_from_path(m as u64, n as u64, leaves[m], &p).unwrap();
                assert_eq!(got, root, "leaf {m} of {n}");
                if !p.is_empty() {
                    let mut bad = p.clone();
                    bad[0][0] ^= 1;
                    assert_ne!(
                        root_from_path(m as u64, n as u64, leaves[m], &bad).unwrap(),
                        root
                    );
                    // One hash too few or too many is refused, not silently accepted.
                    assert!(root_from_path(m as u64, n as u64, leaves[m], &p[1..]).is_err());
                }
                let mut long = p.clone();
                long.push([0; 32]);
                assert!(root_from_path(m as u64, n as u64, leaves[m], &long).is_err());
            }
            assert!(root_from_path(n as u64, n as u64, leaves[0], &[]).is_err());
        }
    }
}
