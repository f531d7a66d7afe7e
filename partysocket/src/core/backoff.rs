//! The reconnection delay: a pure function of the attempt number.

use std::time::Duration;

/// How long to wait before connection attempt `retry` (upstream's `_retryCount` after
/// its increment: `0` for the first connect and right after `reconnect()`).
///
/// `0 → 0`; `k ≥ 1 → min(min_delay × grow^(k−1), max_delay)`, then, when `jitter > 0`,
/// scaled down by a random fraction of at most `jitter` (`unit` is uniform in `[0, 1)`).
/// The result never exceeds `max_delay`. With `jitter == 0` the schedule equals
/// upstream's exactly: for the defaults 0, 3000, 3900, 5070, 6591, 8568.3, then 10000 ms.
pub(crate) fn reconnection_delay(
    retry: u32,
    min_delay: Duration,
    max_delay: Duration,
    grow_factor: f64,
    jitter: f64,
    unit: f64,
) -> Duration {
    if retry == 0 {
        return Duration::ZERO;
    }
    let exponent = i32::try_from(retry - 1).unwrap_or(i32::MAX);
    let grown_ms = min_delay.as_secs_f64() * 1000.0 * grow_factor.powi(exponent);
    let capped_ms = grown_ms.min(max_delay.as_secs_f64() * 1000.0);
    let jittered_ms = capped_ms * (1.0 - jitter.clamp(0.0, 1.0) * unit.clamp(0.0, 1.0));
    // Millisecond floats like 8568.3 are kept to the microsecond.
    Duration::from_micros((jittered_ms * 1000.0).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    fn upstream(retry: u32) -> Duration {
        reconnection_delay(retry, ms(3000), ms(10_000), 1.3, 0.0, 0.5)
    }

    #[test]
    fn default_schedule_matches_upstream() {
        let got: Vec<Duration> = (0..8).map(upstream).collect();
        let want = [
            Duration::ZERO,
            ms(3000),
            ms(3900),
            ms(5070),
            ms(6591),
            Duration::from_micros(8_568_300),
            ms(10_000),
            ms(10_000),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn reconnection_delay_grow_factor() {
        // Upstream case: min 50, max 500, grow 2 → 0 then [50, 100, 200, 400, 500, 500].
        let got: Vec<u128> = (0..7)
            .map(|k| reconnection_delay(k, ms(50), ms(500), 2.0, 0.0, 0.0).as_millis())
            .collect();
        assert_eq!(got, [0, 50, 100, 200, 400, 500, 500]);
    }

    #[test]
    fn exponential_backoff_increases_delay_correctly() {
        assert!(upstream(1) < upstream(2));
        assert!(upstream(2) < upstream(3));
    }

    #[test]
    fn huge_retry_counts_stay_capped() {
        assert_eq!(upstream(u32::MAX), ms(10_000));
        assert_eq!(upstream(5000), ms(10_000));
    }

    #[test]
    fn jitter_scales_down_within_its_bound() {
        let full = upstream(3);
        let low = reconnection_delay(3, ms(3000), ms(10_000), 1.3, 0.5, 0.999_999);
        let none = reconnection_delay(3, ms(3000), ms(10_000), 1.3, 0.5, 0.0);
        assert_eq!(none, full);
        assert!(low < full);
        assert!(low >= full / 2);
    }
}
