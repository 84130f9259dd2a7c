//! What is retried and how long to wait (DESIGN §1): connection errors, timeouts and the
//! statuses that say "try again" (408, 429, 500, 502, 503, 504; not 501 or 505, which will
//! not change), after an exponential delay with full jitter, so that workers (or machines)
//! that failed together do not all come back at the same moment.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// Statuses worth another attempt.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// The upper bound of the wait before retry `attempt` (0-based): `base` doubled per attempt,
/// at most [`MAX_BACKOFF`].
pub fn ceiling(base: Duration, attempt: u32) -> Duration {
    base.saturating_mul(1u32 << attempt.min(16))
        .min(MAX_BACKOFF)
}

/// Full jitter: a uniform wait between zero and [`ceiling`].
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let c = u64::try_from(ceiling(base, attempt).as_nanos()).unwrap_or(u64::MAX);
    let scaled = (u128::from(c) * u128::from(next_random())) >> 64;
    Duration::from_nanos(u64::try_from(scaled).unwrap_or(c))
}

static STATE: AtomicU64 = AtomicU64::new(0);

/// A seed that differs per process and per moment: jitter needs no more than that.
fn seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    // splitmix64 of time and pid, never zero (xorshift's one fixed point).
    let mut z = nanos ^ (u64::from(std::process::id()) << 32) ^ 0x9E37_79B9_7F4A_7C15;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) | 1
}

/// xorshift64*, shared by all threads; not for anything but jitter.
fn next_random() -> u64 {
    let mut x = STATE.load(Ordering::Relaxed);
    loop {
        let cur = if x == 0 { seed() } else { x };
        let mut y = cur;
        y ^= y << 13;
        y ^= y >> 7;
        y ^= y << 17;
        match STATE.compare_exchange_weak(x, y, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return y.wrapping_mul(0x2545_F491_4F6C_DD1D),
            Err(now) => x = now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_only_statuses_that_may_change() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 413, 501, 505, 507, 511] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let base = Duration::from_millis(250);
        assert_eq!(ceiling(base, 0), base);
        assert_eq!(ceiling(base, 2), Duration::from_secs(1));
        assert_eq!(ceiling(base, 5), MAX_BACKOFF);
        assert_eq!(ceiling(base, u32::MAX), MAX_BACKOFF);
        for attempt in [0, 1, 3, 9] {
            let c = ceiling(base, attempt);
            let waits: Vec<Duration> = (0..2000).map(|_| backoff(base, attempt)).collect();
            assert!(waits.iter().all(|w| *w <= c), "over {c:?}");
            let mean = waits.iter().sum::<Duration>() / 2000;
            assert!(
                mean > c * 2 / 5 && mean < c * 3 / 5,
                "mean {mean:?} of a uniform wait up to {c:?}"
            );
            assert!(waits.iter().any(|w| *w < c / 10), "never short");
            assert!(waits.iter().any(|w| *w > c * 9 / 10), "never long");
        }
    }
}
