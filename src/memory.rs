//! Sizes checked before large allocations: a request the machine cannot hold is refused with the
//! memory it would need, instead of ending in an allocation abort.

/// Bytes of memory available now (`MemAvailable` in /proc/meminfo); `None` where unknown.
pub fn available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb.saturating_mul(1024))
}

/// Bytes of `count` elements of `size` bytes each, times `copies`; `None` past `u64`.
pub fn bytes(count: &[usize], size: usize, copies: usize) -> Option<u64> {
    count
        .iter()
        .chain([&size, &copies])
        .try_fold(1u64, |acc, &n| acc.checked_mul(n as u64))
}

/// A byte count for a message: `12.3 GB`, `512 MB`, …
pub fn human(bytes: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < units.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// `Err(message)` when `need` bytes (`None`: more than `u64` holds) exceed the memory available;
/// `what` describes the request (e.g. `"forecast.horizon = 1000000000"`).
pub fn check(need: Option<u64>, what: impl FnOnce() -> String) -> Result<(), String> {
    let have = available();
    let fits = match (need, have) {
        (None, _) => false,
        (Some(n), Some(h)) => n <= h,
        (Some(_), None) => true,
    };
    if fits {
        return Ok(());
    }
    Err(format!(
        "{} would need {} of memory, {}",
        what(),
        need.map_or("more than 18 EB".into(), human),
        have.map_or("more than this machine has".into(), |h| format!(
            "more than the {} available",
            human(h)
        ))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_sizes_are_refused_with_the_memory_they_need() {
        assert_eq!(bytes(&[3, 4], 4, 2), Some(96));
        assert_eq!(bytes(&[usize::MAX, 2], 4, 1), None);
        assert!(check(bytes(&[10], 4, 1), || "ten floats".into()).is_ok());
        let e = check(bytes(&[1 << 40, 1 << 20], 4, 1), || "x = 1".into()).unwrap_err();
        assert!(
            e.starts_with("x = 1 would need 4.6 EB of memory, more than"),
            "{e}"
        );
        let e = check(None, || "y".into()).unwrap_err();
        assert!(e.contains("more than 18 EB"), "{e}");
        assert_eq!(human(1_500_000_000), "1.5 GB");
    }
}
