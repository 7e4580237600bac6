//! The recorder never blocks the caller, batches writes, drops (and counts) on overflow, holds
//! records while the database is down and writes them all when it returns, and flushes on shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use std::time::{Duration, Instant};

use common::TestDb;
use luthien_store::{
    Recorder, RecorderConfig, RecorderHandle, RecorderStats, SessionFilter, Store,
};
use sqlx::Connection;

/// Transactions stored, summed over every session.
async fn stored_transactions(store: &Store) -> u64 {
    let mut total = 0;
    let mut cursor = None;
    loop {
        let page = store
            .list_sessions(&SessionFilter {
                limit: 1000,
                cursor,
                ..Default::default()
            })
            .await
            .unwrap();
        total += page.items.iter().map(|s| s.transaction_count).sum::<u64>();
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return total,
        }
    }
}

/// Polls the recorder's stats until `cond` holds, failing after `secs`.
async fn wait_for(
    rec: &RecorderHandle,
    secs: u64,
    what: &str,
    cond: impl Fn(&RecorderStats) -> bool,
) -> RecorderStats {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let s = rec.stats();
        if cond(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; stats: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn quick() -> RecorderConfig {
    RecorderConfig {
        capacity: 10_000,
        batch_size: 10,
        flush_interval: Duration::from_millis(50),
        retry_backoff_max: Duration::from_millis(200),
        shutdown_timeout: Duration::from_secs(20),
    }
}

/// A way to make the test database refuse writes, and undo it.
enum Outage {
    /// SQLite: another connection holds the write lock, so writes fail with SQLITE_BUSY.
    Sqlite(sqlx::SqliteConnection),
    /// PostgreSQL: the database refuses connections and its sessions were terminated.
    Postgres(String),
}

async fn take_down(db: &TestDb) -> Outage {
    match db {
        TestDb::Sqlite { .. } => {
            let mut c = sqlx::SqliteConnection::connect(&db.url()).await.unwrap();
            sqlx::raw_sql("BEGIN EXCLUSIVE")
                .execute(&mut c)
                .await
                .unwrap();
            Outage::Sqlite(c)
        }
        TestDb::Postgres { name } => {
            common::admin_exec(&format!(
                "ALTER DATABASE {name} ALLOW_CONNECTIONS false; \
                 SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = '{name}' AND pid <> pg_backend_pid();"
            ))
            .await;
            Outage::Postgres(name.clone())
        }
    }
}

async fn bring_back(outage: Outage) {
    match outage {
        Outage::Sqlite(mut c) => {
            sqlx::raw_sql("COMMIT").execute(&mut c).await.unwrap();
        }
        Outage::Postgres(name) => {
            common::admin_exec(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await;
        }
    }
}

on_both_backends! {
    async fn records_are_batched_and_written_by_size_or_interval(db: &TestDb) {
        let store = db.store().await;
        let rec = Recorder::spawn(store.clone(), quick());
        // 3 records never fill a batch of 10: the flush interval writes them.
        for i in 0..3 {
            rec.record(common::record(Some("batched"), i, "hi"));
        }
        wait_for(&rec, 10, "interval flush", |s| s.written == 3).await;
        for i in 0..32 {
            rec.record(common::record(Some("batched"), 100 + i, "hi"));
        }
        let s = wait_for(&rec, 10, "35 written", |s| s.written == 35).await;
        assert_eq!((s.queued, s.dropped, s.failed_batches), (0, 0, 0));
        assert!(s.db_healthy && s.last_error.is_none());
        assert_eq!(stored_transactions(&store).await, 35);
        rec.shutdown().await;
    }
}

on_both_backends! {
    async fn overflow_drops_records_and_counts_them_without_blocking(db: &TestDb) {
        let store = db.store().await;
        let rec = Recorder::spawn(store.clone(), RecorderConfig { capacity: 5, ..quick() });
        // The test runtime is single-threaded: the writer cannot run during this loop, so exactly
        // `capacity` records fit.
        let started = Instant::now();
        for i in 0..20 {
            rec.record(common::record(None, i, "overflow"));
        }
        assert!(started.elapsed() < Duration::from_secs(1), "record() must not block");
        let s = rec.stats();
        assert_eq!((s.queued, s.dropped), (5, 15));
        let clone = rec.clone();
        rec.shutdown().await;
        let s = clone.stats();
        assert_eq!((s.written, s.dropped, s.queued), (5, 15, 0));
        assert_eq!(stored_transactions(&store).await, 5);
        // After shutdown, records are dropped and counted, never panicking.
        clone.record(common::record(None, 99, "late"));
        assert_eq!(clone.stats().dropped, 16);
    }
}

on_both_backends! {
    async fn while_the_database_is_down_records_are_held_and_all_written_when_it_returns(db: &TestDb) {
        let store = db.store().await;
        let rec = Recorder::spawn(store.clone(), quick());
        rec.record(common::record(Some("outage"), 0, "before"));
        wait_for(&rec, 10, "first write", |s| s.written == 1).await;

        let outage = take_down(db).await;
        for i in 1..=50 {
            rec.record(common::record(Some("outage"), i, "during"));
        }
        let s = wait_for(&rec, 30, "the outage to be noticed", |s| !s.db_healthy).await;
        assert!(s.failed_batches >= 1 && s.last_error.is_some(), "{s:?}");
        assert_eq!(s.written, 1, "nothing written while down");
        assert_eq!(s.dropped, 0, "nothing lost while the queue has room");
        tokio::time::sleep(Duration::from_millis(500)).await; // a few retries

        bring_back(outage).await;
        let s = wait_for(&rec, 30, "recovery", |s| s.written == 51).await;
        assert!(s.db_healthy && s.queued == 0 && s.dropped == 0, "{s:?}");
        assert_eq!(stored_transactions(&store).await, 51);
        rec.shutdown().await;
    }
}

on_both_backends! {
    async fn shutdown_flushes_everything_queued(db: &TestDb) {
        let store = db.store().await;
        // Batches would otherwise wait a minute to fill.
        let cfg = RecorderConfig { batch_size: 1_000, flush_interval: Duration::from_secs(60), ..quick() };
        let rec = Recorder::spawn(store.clone(), cfg);
        for i in 0..250 {
            rec.record(common::record(None, i, "bye"));
        }
        let clone = rec.clone();
        rec.shutdown().await;
        let s = clone.stats();
        assert_eq!((s.written, s.queued, s.dropped), (250, 0, 0));
        assert_eq!(stored_transactions(&store).await, 250);
    }
}

on_both_backends! {
    async fn a_thousand_transactions_through_the_recorder_are_all_found(db: &TestDb) {
        let store = db.store().await;
        let rec = Recorder::spawn(store.clone(), RecorderConfig::default());
        // 50 sessions of 20 turns each, every turn re-sending its history.
        let mut recs = Vec::new();
        for s in 0..50 {
            let session = format!("bulk-{s}");
            let mut messages = Vec::new();
            for t in 0..20i64 {
                messages.push(serde_json::json!({"role": "user", "content": format!("question {t} in {session}: {}", "lorem ipsum ".repeat(20))}));
                let mut r = common::record(Some(&session), t, "q");
                r.request_received["messages"] = serde_json::json!(messages);
                r.response_delivered = Some(serde_json::json!({"role": "assistant", "content": [{"type": "text", "text": format!("answer {t}")}]}));
                recs.push(r);
                messages.push(serde_json::json!({"role": "assistant", "content": [{"type": "text", "text": format!("answer {t}")}]}));
            }
        }
        let started = Instant::now();
        for r in recs {
            rec.record(r);
        }
        wait_for(&rec, 120, "1000 written", |s| s.written == 1_000).await;
        let elapsed = started.elapsed();
        println!(
            "{:?}: recorder wrote 1000 transactions in {:.0} ms ({:.0} transactions/s)",
            db.backend(),
            elapsed.as_secs_f64() * 1e3,
            1_000.0 / elapsed.as_secs_f64()
        );
        let s = rec.stats();
        assert_eq!((s.dropped, s.queued), (0, 0));
        assert_eq!(stored_transactions(&store).await, 1_000);
        assert_eq!(store.list_sessions(&SessionFilter { limit: 1000, ..Default::default() }).await.unwrap().items.len(), 50);
        rec.shutdown().await;
    }
}
