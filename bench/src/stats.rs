//! Summaries of one target's run in one cell: percentiles, throughput, CPU per request, RSS.

use crate::load::Outcome;

/// Nearest-rank percentile `q` (0..=1) of sorted nanoseconds, in milliseconds.
fn percentile_ms(sorted: &[u64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted.len()) - 1;
    Some(sorted[index] as f64 / 1e6)
}

/// The figures of one target in one cell.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Successful measured requests.
    pub ok: usize,
    /// Failed measured requests.
    pub errors: usize,
    /// Failed warm-up requests.
    pub warmup_errors: usize,
    /// The first error, if any.
    pub first_error: Option<String>,
    /// Whether the run deadline cut the run short.
    pub cut_short: bool,
    /// Median total latency, ms.
    pub p50: Option<f64>,
    /// 99th percentile total latency, ms.
    pub p99: Option<f64>,
    /// Median time to the first body byte, ms.
    pub ttfb_p50: Option<f64>,
    /// Successful requests per second of wall time.
    pub rps: f64,
    /// CPU of the proxy process(es) per successful request, µs (None for direct).
    pub cpu_us: Option<f64>,
    /// Peak RSS of the proxy process(es) during the measured part, KiB.
    pub peak_rss_kib: Option<u64>,
}

impl Summary {
    /// Summarises a load outcome, with the proxy's CPU seconds and peak RSS over the run.
    pub fn new(outcome: &Outcome, cpu_seconds: Option<f64>, peak_rss_kib: Option<u64>) -> Self {
        let mut totals: Vec<u64> = outcome.samples.iter().map(|s| s.total_ns).collect();
        let mut ttfbs: Vec<u64> = outcome.samples.iter().map(|s| s.ttfb_ns).collect();
        totals.sort_unstable();
        ttfbs.sort_unstable();
        let ok = outcome.samples.len();
        let wall = outcome.wall.as_secs_f64();
        Self {
            ok,
            errors: outcome.errors,
            warmup_errors: outcome.warmup_errors,
            first_error: outcome.first_error.clone(),
            cut_short: outcome.cut_short,
            p50: percentile_ms(&totals, 0.50),
            p99: percentile_ms(&totals, 0.99),
            ttfb_p50: percentile_ms(&ttfbs, 0.50),
            rps: if wall > 0.0 { ok as f64 / wall } else { 0.0 },
            cpu_us: cpu_seconds.filter(|_| ok > 0).map(|s| s * 1e6 / ok as f64),
            peak_rss_kib,
        }
    }
}

/// `a - b` when both exist.
pub fn diff(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? - b?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).map(|i| i * 1_000_000).collect();
        assert_eq!(percentile_ms(&v, 0.5), Some(50.0));
        assert_eq!(percentile_ms(&v, 0.99), Some(99.0));
        assert_eq!(percentile_ms(&[7_000_000], 0.99), Some(7.0));
        assert_eq!(percentile_ms(&[], 0.5), None);
    }
}
