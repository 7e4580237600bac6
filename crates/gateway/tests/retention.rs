//! RETENTION_DAYS: old sessions are purged by the periodic sweep; recent ones stay.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

fn record(id: &str, started_at_ms: i64) -> store::TransactionRecord {
    store::TransactionRecord {
        id: id.into(),
        session_id: Some(format!("session-{id}")),
        client_api: "anthropic".into(),
        provider: "anthropic".into(),
        model: "claude-sonnet-4-5".into(),
        status: 200,
        error: None,
        stream: false,
        started_at_ms,
        ttft_ms: None,
        total_ms: 1.0,
        overhead_ms: 0.1,
        usage: Default::default(),
        policy: "noop".into(),
        final_decision: "pass".into(),
        request_received: json!({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": id}]}),
        request_sent: None,
        response_received: None,
        response_delivered: None,
        raw_events: None,
        decisions: vec![],
        title_hint: Some(id.into()),
    }
}

#[tokio::test]
async fn the_sweep_purges_sessions_older_than_the_retention_period_and_keeps_the_rest() {
    let h = Harness::start(&[]).await;
    let store = h.gw.app.store.clone();
    let now = luthien_gateway::recording::now_ms();
    store
        .insert_batch(&[
            record("old", now - 40 * 86_400_000),
            record("fresh", now - 86_400_000),
        ])
        .await
        .unwrap();
    let sweep = luthien_gateway::retention::spawn(store.clone(), 30, Duration::from_millis(50));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while store.session("session-old").await.unwrap().is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the old session was never purged"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(store.session("session-fresh").await.unwrap().is_some());
    sweep.abort();
}
