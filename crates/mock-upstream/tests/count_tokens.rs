//! `POST /v1/messages/count_tokens`: a deterministic estimate, with the same checks as
//! `/v1/messages` (except `max_tokens`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};

async fn count(mock: &luthien_mock_upstream::MockHandle, body: &Value) -> (u16, Value) {
    let response = client()
        .post(format!("{}/v1/messages/count_tokens", mock.base_url()))
        .header("x-api-key", "k")
        .header("anthropic-version", "2023-06-01")
        .json(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn count_tokens_returns_about_a_quarter_of_the_text_bytes() {
    let mock = mock().await;
    let text = "x".repeat(396); // + "user" = 400 bytes
    let (status, body) = count(
        &mock,
        &json!({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": text}]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"input_tokens": 100}));
}

#[tokio::test]
async fn count_tokens_is_at_least_one_and_counts_system_and_tools() {
    let mock = mock().await;
    let (_, small) = count(&mock, &json!({"model": "m", "messages": []})).await;
    assert_eq!(small["input_tokens"], 1);
    let (_, with_system) = count(
        &mock,
        &json!({"model": "m", "system": "s".repeat(400), "messages": []}),
    )
    .await;
    assert_eq!(with_system["input_tokens"], 100);
    let (_, with_tools) = count(
        &mock,
        &json!({"model": "m", "messages": [], "tools": [{"name": "t".repeat(40), "description": "d".repeat(360)}]}),
    )
    .await;
    assert_eq!(with_tools["input_tokens"], 100);
}

#[tokio::test]
async fn count_tokens_needs_auth_and_a_model() {
    let mock = mock().await;
    let response = client()
        .post(format!("{}/v1/messages/count_tokens", mock.base_url()))
        .header("anthropic-version", "2023-06-01")
        .json(&json!({"model": "m", "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let (status, body) = count(&mock, &json!({"messages": []})).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["message"], "model: Field required");
}
