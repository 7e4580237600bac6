//! `RETENTION_DAYS`: sessions last seen longer ago are purged at start and then periodically.

use std::time::Duration;

use store::Store;

/// How often the sweep runs after the first one.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(3600);

/// Starts the sweep: purges now, then every `interval`, for as long as the process runs.
pub fn spawn(store: Store, days: u32, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        loop {
            tick.tick().await;
            let cutoff = crate::recording::now_ms() - i64::from(days) * 86_400_000;
            match store.purge_before(cutoff).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    sessions = n,
                    days,
                    "purged sessions past the retention period"
                ),
                Err(e) => tracing::warn!(error = %e, "retention sweep failed; it runs again later"),
            }
        }
    })
}
