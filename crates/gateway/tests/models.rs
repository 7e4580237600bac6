//! `GET /v1/models` and `POST /v1/messages/count_tokens`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn models_are_listed_in_the_callers_format() {
    let h = Harness::start(&[]).await;
    let v: Value =
        h.gw.http
            .get(format!("{}/v1/models", h.gw.url))
            .header("x-api-key", "k")
            .header("anthropic-version", "2023-06-01")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(v["has_more"], false);
    assert!(v["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["type"] == "model" && m["id"] == "claude-sonnet-4-5"));
    let v: Value =
        h.gw.http
            .get(format!("{}/v1/models", h.gw.url))
            .bearer_auth("k")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(v["object"], "list");
    assert!(v["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["object"] == "model" && m["owned_by"] == "openai"));
    let resp =
        h.gw.http
            .get(format!("{}/v1/models", h.gw.url))
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn models_from_the_routing_file_are_listed() {
    let h = Harness::with_routing(&[], "providers:\n  local:\n    kind: openai_compatible\n    base_url: \"{MOCK}/v1\"\n    models: [llama3]\n").await;
    let v: Value =
        h.gw.http
            .get(format!("{}/v1/models", h.gw.url))
            .bearer_auth("k")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert!(v["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["id"] == "llama3" && m["owned_by"] == "local"));
}

#[tokio::test]
async fn count_tokens_is_forwarded_to_the_anthropic_upstream() {
    let h = Harness::start(&[]).await;
    let body = json!({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "count me"}]});
    let resp =
        h.gw.http
            .post(format!("{}/v1/messages/count_tokens?beta=true", h.gw.url))
            .header("x-api-key", "k")
            .header("anthropic-version", "2023-06-01")
            .header("anthropic-beta", "token-counting-2024-11-01")
            .json(&body)
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert!(v["input_tokens"].as_u64().unwrap() >= 1);
    let seen = h.mock.requests().last().unwrap().clone();
    assert_eq!(seen.path, "/v1/messages/count_tokens");
    assert_eq!(seen.query.as_deref(), Some("beta=true"));
    assert_eq!(
        seen.header("anthropic-beta"),
        Some("token-counting-2024-11-01")
    );
}

#[tokio::test]
async fn count_tokens_for_an_openai_model_is_an_estimate_and_says_so() {
    let h = Harness::start(&[]).await;
    let body =
        json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "count me please"}]});
    let resp =
        h.gw.http
            .post(format!("{}/v1/messages/count_tokens", h.gw.url))
            .header("x-api-key", "k")
            .json(&body)
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-luthien-token-count"], "estimated");
    assert!(h.mock.requests().is_empty());
}

#[tokio::test]
async fn count_tokens_without_messages_is_a_400() {
    let h = Harness::start(&[]).await;
    let resp =
        h.gw.http
            .post(format!("{}/v1/messages/count_tokens", h.gw.url))
            .header("x-api-key", "k")
            .json(&json!({"model": "claude-sonnet-4-5"}))
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), 400);
}
