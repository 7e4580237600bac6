//! Starting, embedding and stopping the mock, and its `/_mock/stats` endpoint.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use luthien_mock_upstream::{MockState, MockUpstream};
use serde_json::{json, Value};

#[tokio::test]
async fn start_binds_a_free_loopback_port_and_reports_its_base_url() {
    let mock = mock().await;
    assert!(mock.addr().ip().is_loopback());
    assert_ne!(mock.addr().port(), 0);
    assert_eq!(
        mock.base_url(),
        format!("http://127.0.0.1:{}", mock.addr().port())
    );
}

#[tokio::test]
async fn stats_are_served_as_json() {
    let mock = mock().await;
    let _ = anthropic_stream(&mock, "mock:deltas 1").await;
    assert!(eventually(|| mock.stats().completed == 1).await);
    let stats: Value = client()
        .get(format!("{}/_mock/stats", mock.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats, json!({"started": 1, "completed": 1, "cancelled": 0}));
}

#[tokio::test]
async fn shutdown_is_prompt_with_idle_keep_alive_connections_and_frees_the_port() {
    let mock = mock().await;
    let addr = mock.addr();
    // A pooling client leaves an idle keep-alive connection open.
    let pooled = reqwest::Client::new();
    let _ = pooled
        .post(format!("{}/v1/chat/completions", mock.base_url()))
        .bearer_auth("k")
        .json(&openai_body("hi", false))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let started = Instant::now();
    mock.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn dropping_the_handle_stops_the_server() {
    let mock = mock().await;
    let addr = mock.addr();
    drop(mock);
    let mut stopped = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            stopped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(stopped);
}

#[tokio::test]
async fn the_router_can_be_embedded_with_a_shared_state() {
    let state = MockState::new();
    let app = MockUpstream::router(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let response = client()
        .post(format!("http://{addr}/v1/chat/completions"))
        .bearer_auth("k")
        .json(&openai_body("hi", false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(state.requests().len(), 1);
    server.abort();
}
