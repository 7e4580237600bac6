//! The recorder: the only way the proxy path writes to the store. `record` never blocks and never
//! fails the caller; a background task batches records into `insert_batch`, holds them while the
//! database is down (retrying with exponential backoff), and flushes on shutdown.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::{Store, TransactionRecord};

/// Minimum time between two "queue full" error logs: an overflow lasts many records.
const DROP_LOG_INTERVAL: Duration = Duration::from_secs(10);
/// First retry delay after a failed write.
const RETRY_BACKOFF_MIN: Duration = Duration::from_millis(50);

/// Recorder tuning.
#[derive(Debug, Clone)]
pub struct RecorderConfig {
    /// Records held in memory before new ones are dropped.
    pub capacity: usize,
    /// Records written per database transaction.
    pub batch_size: usize,
    /// Longest a record waits for its batch to fill.
    pub flush_interval: Duration,
    /// Cap of the exponential backoff between retries while the database is down.
    pub retry_backoff_max: Duration,
    /// Longest `shutdown` waits for the queue to be written.
    pub shutdown_timeout: Duration,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        RecorderConfig {
            capacity: 10_000,
            batch_size: 100,
            flush_interval: Duration::from_millis(200),
            retry_backoff_max: Duration::from_secs(5),
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

/// A snapshot of the recorder's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecorderStats {
    /// Records accepted and not yet written (in the queue or the batch being written).
    pub queued: u64,
    /// Records written.
    pub written: u64,
    /// Records lost: queue full, recorder stopped, or rejected by the database as invalid.
    pub dropped: u64,
    /// Batch writes that failed (each retry counts).
    pub failed_batches: u64,
    /// The last write error.
    pub last_error: Option<String>,
    /// False while the database is failing writes.
    pub db_healthy: bool,
}

/// State shared by handles and the writer task.
#[derive(Debug)]
struct Shared {
    queued: AtomicU64,
    written: AtomicU64,
    dropped: AtomicU64,
    failed_batches: AtomicU64,
    db_healthy: AtomicBool,
    last_error: Mutex<Option<String>>,
    /// When the last drop was logged, and drops since.
    drop_log: Mutex<(Option<Instant>, u64)>,
    shutdown: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
    shutdown_timeout: Duration,
}

impl Shared {
    fn set_error(&self, e: String) {
        if let Ok(mut g) = self.last_error.lock() {
            *g = Some(e);
        }
    }

    fn count_drop(&self, why: &str) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        // try_lock: a contended logger must never make `record` wait.
        if let Ok(mut g) = self.drop_log.try_lock() {
            g.1 += 1;
            let due = g.0.is_none_or(|t| t.elapsed() >= DROP_LOG_INTERVAL);
            if due {
                tracing::error!(
                    dropped_since_last_log = g.1,
                    dropped_total = self.dropped.load(Ordering::Relaxed),
                    reason = why,
                    "transaction records dropped: recording queue cannot take them"
                );
                *g = (Some(Instant::now()), 0);
            }
        }
    }
}

/// Starts recorders.
#[derive(Debug)]
pub struct Recorder;

impl Recorder {
    /// Spawns the writer task on the current Tokio runtime and returns the handle to feed it.
    pub fn spawn(store: Store, cfg: RecorderConfig) -> RecorderHandle {
        let (tx, rx) = mpsc::channel(cfg.capacity.max(1));
        let (shutdown, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            queued: AtomicU64::new(0),
            written: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            failed_batches: AtomicU64::new(0),
            db_healthy: AtomicBool::new(true),
            last_error: Mutex::new(None),
            drop_log: Mutex::new((None, 0)),
            shutdown,
            task: Mutex::new(None),
            shutdown_timeout: cfg.shutdown_timeout,
        });
        let writer = Writer {
            store,
            cfg,
            shared: shared.clone(),
        };
        let task = tokio::spawn(writer.run(rx, shutdown_rx));
        if let Ok(mut g) = shared.task.lock() {
            *g = Some(task);
        }
        RecorderHandle { tx, shared }
    }
}

/// Feeds records to the recorder; clone it freely.
#[derive(Debug, Clone)]
pub struct RecorderHandle {
    tx: mpsc::Sender<TransactionRecord>,
    shared: Arc<Shared>,
}

impl RecorderHandle {
    /// Queues a record; if the queue is full the record is dropped and counted (never blocks).
    pub fn record(&self, rec: TransactionRecord) {
        // Count before sending so the writer can never decrement below zero.
        self.shared.queued.fetch_add(1, Ordering::Relaxed);
        match self.tx.try_send(rec) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.shared.queued.fetch_sub(1, Ordering::Relaxed);
                self.shared.count_drop("queue full");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.shared.queued.fetch_sub(1, Ordering::Relaxed);
                self.shared.count_drop("recorder stopped");
            }
        }
    }

    /// The recorder's counters now.
    pub fn stats(&self) -> RecorderStats {
        let s = &self.shared;
        RecorderStats {
            queued: s.queued.load(Ordering::Relaxed),
            written: s.written.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            failed_batches: s.failed_batches.load(Ordering::Relaxed),
            last_error: s.last_error.lock().ok().and_then(|g| g.clone()),
            db_healthy: s.db_healthy.load(Ordering::Relaxed),
        }
    }

    /// Writes everything queued, then stops the writer (waiting at most the configured
    /// shutdown timeout; what is still unwritten then is reported and lost).
    pub async fn shutdown(self) {
        let _ = self.shared.shutdown.send(true);
        let task = self.shared.task.lock().ok().and_then(|mut g| g.take());
        let Some(mut task) = task else {
            return; // another clone is already shutting down
        };
        if tokio::time::timeout(self.shared.shutdown_timeout, &mut task)
            .await
            .is_err()
        {
            task.abort();
            let lost = self.shared.queued.swap(0, Ordering::Relaxed);
            self.shared.dropped.fetch_add(lost, Ordering::Relaxed);
            tracing::error!(
                lost,
                "recorder shutdown timed out; unwritten transaction records were lost"
            );
        }
    }
}

/// The background writer.
struct Writer {
    store: Store,
    cfg: RecorderConfig,
    shared: Arc<Shared>,
}

impl Writer {
    async fn run(
        self,
        mut rx: mpsc::Receiver<TransactionRecord>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let batch_size = self.cfg.batch_size.max(1);
        let mut batch = Vec::with_capacity(batch_size);
        let mut stopping = false;
        while !stopping {
            tokio::select! {
                r = rx.recv() => match r {
                    Some(rec) => batch.push(rec),
                    None => break, // every handle is gone and the queue is drained
                },
                _ = shutdown.changed() => stopping = true,
            }
            let deadline = tokio::time::Instant::now() + self.cfg.flush_interval;
            while !stopping && batch.len() < batch_size {
                tokio::select! {
                    r = rx.recv() => match r {
                        Some(rec) => batch.push(rec),
                        None => break,
                    },
                    _ = tokio::time::sleep_until(deadline) => break,
                    _ = shutdown.changed() => stopping = true,
                }
            }
            self.write(&mut batch).await;
        }
        // Shutdown: drain what is queued now.
        rx.close();
        while let Some(rec) = rx.recv().await {
            batch.push(rec);
            if batch.len() >= batch_size {
                self.write(&mut batch).await;
            }
        }
        self.write(&mut batch).await;
    }

    /// Writes the batch, retrying transient failures until it succeeds; records the database
    /// rejects as invalid are isolated and dropped so one bad record cannot stall recording.
    async fn write(&self, batch: &mut Vec<TransactionRecord>) {
        let mut backoff = RETRY_BACKOFF_MIN.min(self.cfg.retry_backoff_max);
        while !batch.is_empty() {
            let err = match self.store.insert_batch(batch).await {
                Ok(()) => {
                    self.written(batch.len());
                    batch.clear();
                    return;
                }
                Err(e) => e,
            };
            self.shared.failed_batches.fetch_add(1, Ordering::Relaxed);
            self.shared.set_error(err.to_string());
            if err.is_transient() {
                if self.shared.db_healthy.swap(false, Ordering::Relaxed) {
                    tracing::error!(
                        error = %err,
                        queued = self.shared.queued.load(Ordering::Relaxed),
                        "recording database unavailable; holding records and retrying"
                    );
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(self.cfg.retry_backoff_max);
                continue;
            }
            // A permanent error: write records one by one to find the bad ones.
            let mut rest = std::mem::take(batch).into_iter();
            while let Some(rec) = rest.next() {
                match self.store.insert_batch(std::slice::from_ref(&rec)).await {
                    Ok(()) => self.written(1),
                    Err(e) if e.is_transient() => {
                        batch.push(rec);
                        batch.extend(rest);
                        break;
                    }
                    Err(e) => {
                        self.shared.queued.fetch_sub(1, Ordering::Relaxed);
                        self.shared.set_error(e.to_string());
                        tracing::error!(error = %e, transaction_id = %rec.id, "transaction record rejected by the database");
                        self.shared.count_drop("rejected by the database");
                    }
                }
            }
        }
    }

    fn written(&self, n: usize) {
        let n = n as u64;
        self.shared.written.fetch_add(n, Ordering::Relaxed);
        self.shared.queued.fetch_sub(n, Ordering::Relaxed);
        if !self.shared.db_healthy.swap(true, Ordering::Relaxed) {
            tracing::info!("recording database reachable again; writing held records");
        }
    }
}
