//! Headers and the query string: end-to-end ones forwarded byte for byte, hop-by-hop ones
//! stripped, the ones clients act on returned, and the gateway's own on every response.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

const BETA: &str = "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,thinking-token-count-2026-05-13,advanced-tool-use-2025-11-20,effort-2025-11-24,thinking-display-updates-2026-08-18";

#[tokio::test]
async fn claude_codes_headers_and_query_string_reach_the_upstream_byte_for_byte() {
    let h = Harness::start(&[]).await;
    let resp =
        h.gw.http
            .post(format!("{}/v1/messages?beta=true", h.gw.url))
            .header("x-api-key", "k")
            .header("anthropic-version", "2023-06-01")
            .header("anthropic-beta", BETA)
            .header("x-app", "cli")
            .header("user-agent", "claude-cli/2.1.330 (external, sdk-cli)")
            .header("x-claude-code-session-id", "7f1c-session")
            .header("anthropic-dangerous-direct-browser-access", "true")
            .header("x-stainless-retry-count", "0")
            .header("x-stainless-timeout", "600")
            .header("accept-encoding", "gzip, deflate, br, zstd")
            .header("connection", "keep-alive, x-hop")
            .header("x-hop", "should-not-pass")
            .json(&anthropic_body("claude-sonnet-4-5", "hi", true))
            .send()
            .await
            .unwrap();
    anthropic_stream(resp).await;
    let seen = h.mock.requests().last().unwrap().clone();
    assert_eq!(seen.query.as_deref(), Some("beta=true"));
    assert_eq!(seen.header("anthropic-beta"), Some(BETA));
    assert_eq!(seen.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(seen.header("x-app"), Some("cli"));
    assert_eq!(
        seen.header("user-agent"),
        Some("claude-cli/2.1.330 (external, sdk-cli)")
    );
    assert_eq!(
        seen.header("x-claude-code-session-id"),
        Some("7f1c-session")
    );
    assert_eq!(
        seen.header("anthropic-dangerous-direct-browser-access"),
        Some("true")
    );
    assert_eq!(seen.header("x-stainless-timeout"), Some("600"));
    assert_eq!(
        seen.header("x-hop"),
        None,
        "headers named in Connection are hop-by-hop"
    );
    assert_ne!(
        seen.header("accept-encoding"),
        Some("gzip, deflate, br, zstd"),
        "the gateway reads the body, so it asks for identity"
    );
}

#[tokio::test]
async fn rate_limit_and_request_id_headers_come_back_on_success_and_error() {
    let h = Harness::start(&[]).await;
    let resp = h
        .anthropic(&anthropic_body("claude-sonnet-4-5", "hi", false))
        .send()
        .await
        .unwrap();
    assert!(resp.headers().contains_key("request-id"));
    assert!(resp
        .headers()
        .keys()
        .any(|k| k.as_str().starts_with("anthropic-ratelimit-")));
    let resp = h
        .chat(&chat_body("gpt-4o", "mock:error 429", false))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("x-request-id"));
    assert_eq!(resp.headers()["retry-after"], "1");
    assert!(resp
        .headers()
        .keys()
        .any(|k| k.as_str().starts_with("x-ratelimit-")));
}

#[tokio::test]
async fn every_response_carries_a_transaction_id_and_proxied_ones_the_overhead() {
    let h = Harness::start(&[]).await;
    let resp = h
        .anthropic(&anthropic_body("claude-sonnet-4-5", "hi", true))
        .send()
        .await
        .unwrap();
    let id = resp.headers()["x-luthien-transaction-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 7);
    let overhead: f64 = resp.headers()["x-luthien-overhead-ms"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(overhead >= 0.0);
    for path in ["/health", "/v1/nothing-here"] {
        let resp =
            h.gw.http
                .get(format!("{}{path}", h.gw.url))
                .send()
                .await
                .unwrap();
        assert!(
            resp.headers().contains_key("x-luthien-transaction-id"),
            "{path}"
        );
    }
    let resp =
        h.gw.http
            .post(format!("{}/v1/messages", h.gw.url))
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().contains_key("x-luthien-transaction-id"));
}

#[tokio::test]
async fn claude_codes_connectivity_probe_succeeds_without_credentials() {
    let h = Harness::start(&[]).await;
    let resp =
        h.gw.http
            .head(format!("{}/api/hello", h.gw.url))
            .header("user-agent", "Bun/1.4.4")
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn health_reports_the_version() {
    let h = Harness::start(&[]).await;
    let v: serde_json::Value =
        h.gw.http
            .get(format!("{}/health", h.gw.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(v["status"], "healthy");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
}
