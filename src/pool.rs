//! The one bounded worker pool: scoped threads over a slice, `-j` at a time. Registry round
//! trips and blob transfers are latency- or I/O-bound, so a few threads cut wall time without
//! async machinery. Every parallel loop in ferry goes through [`run`], so there is one way to
//! hand out work, one way to stop at the first error, and one place that handles a poisoned
//! lock (it never drops results).
//! It imports nothing of ferry: callers hand it work and get results back.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// `f` over every item with at most `jobs` threads, each with its own `state()` (a buffer).
/// The first error (in time) stops the handing out of items, is kept, and raises `stop`, which
/// `f` may watch to abandon long work (a download) early; errors of items that were abandoned
/// because of it never replace the first. Results come back in the items' order.
pub fn run<T, S, R, E>(
    items: &[T],
    jobs: usize,
    state: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, &T, &AtomicBool) -> Result<R, E> + Sync,
) -> Result<Vec<R>, E>
where
    T: Sync,
    R: Send,
    E: Send,
{
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let first_error: Mutex<Option<E>> = Mutex::new(None);
    let done: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::with_capacity(items.len()));
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1).min(items.len()) {
            s.spawn(|| {
                let mut st = state();
                loop {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    match f(&mut st, item, &stop) {
                        Ok(r) => done
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push((i, r)),
                        Err(e) => {
                            // Kept before `stop` is raised, so an error caused by the stop
                            // always finds the slot taken.
                            let mut slot =
                                first_error.lock().unwrap_or_else(PoisonError::into_inner);
                            slot.get_or_insert(e);
                            stop.store(true, Ordering::Relaxed);
                            break;
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = first_error
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
    {
        return Err(e);
    }
    let mut v = done.into_inner().unwrap_or_else(PoisonError::into_inner);
    v.sort_by_key(|(i, _)| *i);
    Ok(v.into_iter().map(|(_, r)| r).collect())
}

/// `f` over every item; results in the items' order.
pub fn map<T: Sync, R: Send>(items: &[T], jobs: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    match run(
        items,
        jobs,
        || (),
        |_, item, _| Ok::<_, std::convert::Infallible>(f(item)),
    ) {
        Ok(v) => v,
        Err(never) => match never {},
    }
}

/// Like [`map`], stopping at the first error.
pub fn try_map<T: Sync, R: Send, E: Send>(
    items: &[T],
    jobs: usize,
    f: impl Fn(&T) -> Result<R, E> + Sync,
) -> Result<Vec<R>, E> {
    run(items, jobs, || (), |_, item, _| f(item))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_stops_on_errors() {
        let v: Vec<u32> = (0..100).collect();
        assert_eq!(
            map(&v, 7, |x| x * 2),
            (0..100).map(|x| x * 2).collect::<Vec<_>>()
        );
        assert!(map(&[] as &[u32], 4, |x| *x).is_empty());
        let r = try_map(&v, 3, |x| if *x == 42 { Err(*x) } else { Ok(*x) });
        assert_eq!(r, Err(42));
        assert_eq!(try_map(&v, 3, |x| Ok::<_, ()>(*x)).unwrap().len(), 100);
    }

    #[test]
    fn the_first_error_wins_over_the_errors_it_caused() {
        // Item 50 fails; every later item (on any thread) sees the stop and fails with
        // "cancelled", which must never be the error returned.
        let v: Vec<u32> = (0..200).collect();
        let r = run(
            &v,
            4,
            || 0u32,
            |seen, x, stop| {
                *seen += 1;
                if *x == 50 {
                    return Err("real");
                }
                if stop.load(Ordering::Relaxed) {
                    return Err("cancelled");
                }
                Ok(*x)
            },
        );
        assert_eq!(r, Err("real"));
    }

    #[test]
    fn each_worker_has_its_own_state() {
        let v: Vec<usize> = (0..64).collect();
        let r = run(&v, 3, Vec::<usize>::new, |buf, x, _| {
            buf.push(*x);
            Ok::<_, ()>(buf.len())
        })
        .unwrap();
        assert_eq!(r.len(), 64);
        assert!(r.iter().all(|n| *n >= 1 && *n <= 64));
    }
}
