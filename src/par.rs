//! A bounded pool of scoped threads over a slice: registry round trips (HEAD, mount, GET of a
//! manifest) are latency-bound, so a few at a time cut wall time without async machinery.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// `f` over every item with at most `jobs` threads; results in the items' order.
pub fn map<T: Sync, R: Send>(items: &[T], jobs: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::with_capacity(items.len()));
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1).min(items.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                out.lock().unwrap_or_else(|e| e.into_inner()).push((i, r));
            });
        }
    });
    let mut v = out.into_inner().unwrap_or_else(|e| e.into_inner());
    v.sort_by_key(|(i, _)| *i);
    v.into_iter().map(|(_, r)| r).collect()
}

/// Like [`map`], stopping at the first error (the rest may or may not have run).
pub fn try_map<T: Sync, R: Send, E: Send>(
    items: &[T],
    jobs: usize,
    f: impl Fn(&T) -> Result<R, E> + Sync,
) -> Result<Vec<R>, E> {
    let failed = std::sync::atomic::AtomicBool::new(false);
    let results = map(items, jobs, |item| {
        if failed.load(Ordering::Relaxed) {
            return None;
        }
        let r = f(item);
        if r.is_err() {
            failed.store(true, Ordering::Relaxed);
        }
        Some(r)
    });
    let mut out = Vec::with_capacity(results.len());
    let mut skipped = false;
    for r in results {
        match r {
            Some(Ok(v)) => out.push(v),
            Some(Err(e)) => return Err(e),
            None => skipped = true,
        }
    }
    debug_assert!(!skipped, "an item was skipped without an error");
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_order_and_stops_on_errors() {
        let v: Vec<u32> = (0..100).collect();
        assert_eq!(
            super::map(&v, 7, |x| x * 2),
            (0..100).map(|x| x * 2).collect::<Vec<_>>()
        );
        assert!(super::map(&[] as &[u32], 4, |x| *x).is_empty());
        let r = super::try_map(&v, 3, |x| if *x == 42 { Err(*x) } else { Ok(*x) });
        assert_eq!(r, Err(42));
        assert_eq!(
            super::try_map(&v, 3, |x| Ok::<_, ()>(*x)).unwrap().len(),
            100
        );
    }
}
