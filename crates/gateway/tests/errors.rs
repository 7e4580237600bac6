//! Every failure gets a precise status and a JSON body in the client's own format, and the
//! gateway keeps serving afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};

async fn anthropic_error(resp: reqwest::Response, status: u16, kind: &str) -> String {
    assert_eq!(resp.status(), status);
    assert!(resp.headers().contains_key("x-luthien-transaction-id"));
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["type"], "error", "{v}");
    assert_eq!(v["error"]["type"], kind, "{v}");
    v["error"]["message"].as_str().unwrap().to_owned()
}

async fn openai_error(resp: reqwest::Response, status: u16, kind: &str) -> Value {
    assert_eq!(resp.status(), status);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["type"], kind, "{v}");
    assert!(v["error"]["message"].as_str().is_some(), "{v}");
    v
}

fn raw(gw: &Gateway, path: &str, body: &'static str) -> reqwest::RequestBuilder {
    gw.http
        .post(format!("{}{path}", gw.url))
        .header("x-api-key", "k")
        .header("authorization", "Bearer k")
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json")
        .body(body)
}

#[tokio::test]
async fn malformed_json_is_a_400_in_each_format() {
    let h = Harness::start(&[]).await;
    let msg = anthropic_error(
        raw(&h.gw, "/v1/messages", "{\"model\": ")
            .send()
            .await
            .unwrap(),
        400,
        "invalid_request_error",
    )
    .await;
    assert!(msg.contains("invalid JSON"), "{msg}");
    openai_error(
        raw(&h.gw, "/v1/chat/completions", "not json")
            .send()
            .await
            .unwrap(),
        400,
        "invalid_request_error",
    )
    .await;
    assert!(h.mock.requests().is_empty(), "nothing reached the upstream");
    assert!(h.gw.healthy().await);
}

#[tokio::test]
async fn missing_or_ill_typed_fields_are_a_400_naming_the_field() {
    let h = Harness::start(&[]).await;
    for (body, field) in [
        (json!({"max_tokens": 5, "messages": []}), "model"),
        (
            json!({"model": "claude-sonnet-4-5", "max_tokens": 5}),
            "messages",
        ),
        (
            json!({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "x"}]}),
            "max_tokens",
        ),
        (
            json!({"model": "claude-sonnet-4-5", "max_tokens": "ten", "messages": [{"role": "user", "content": "x"}]}),
            "max_tokens",
        ),
        (
            json!({"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": "hi"}),
            "messages",
        ),
    ] {
        let msg = anthropic_error(
            h.anthropic(&body).send().await.unwrap(),
            400,
            "invalid_request_error",
        )
        .await;
        assert!(msg.contains(field), "{field}: {msg}");
    }
    let v = openai_error(
        h.chat(&json!({"model": "gpt-4o"})).send().await.unwrap(),
        400,
        "invalid_request_error",
    )
    .await;
    assert!(
        v["error"]["message"].as_str().unwrap().contains("messages"),
        "{v}"
    );
    assert_eq!(v["error"]["param"], "messages");
}

#[tokio::test]
async fn an_unknown_model_is_a_400_that_lists_the_routes() {
    let h = Harness::start(&[]).await;
    let msg = anthropic_error(
        h.anthropic(&anthropic_body("llama-3", "hi", false))
            .send()
            .await
            .unwrap(),
        400,
        "invalid_request_error",
    )
    .await;
    assert!(msg.contains("llama-3") && msg.contains("claude-*"), "{msg}");
    let v = openai_error(
        h.chat(&chat_body("mystery", "hi", false))
            .send()
            .await
            .unwrap(),
        400,
        "invalid_request_error",
    )
    .await;
    assert_eq!(v["error"]["code"], "model_not_found");
    assert_eq!(v["error"]["param"], "model");
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_declared_or_chunked() {
    let h = Harness::start(&["--max-request-bytes", "1000"]).await;
    let big = anthropic_body("claude-sonnet-4-5", &"x".repeat(2000), false);
    anthropic_error(
        h.anthropic(&big).send().await.unwrap(),
        413,
        "request_too_large",
    )
    .await;
    // A chunked body has no content-length: the limit must still hold while reading.
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = (0..20)
        .map(|_| Ok(bytes::Bytes::from(vec![b' '; 100])))
        .collect();
    let resp =
        h.gw.http
            .post(format!("{}/v1/messages", h.gw.url))
            .header("x-api-key", "k")
            .header("anthropic-version", "2023-06-01")
            .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
            .send()
            .await
            .unwrap();
    assert!(resp.headers().get("content-length").is_none() || resp.status() == 413);
    anthropic_error(resp, 413, "request_too_large").await;
    assert!(h.mock.requests().is_empty());
    assert!(h.gw.healthy().await);
}

#[tokio::test]
async fn the_default_limit_accepts_a_several_megabyte_claude_code_body() {
    let h = Harness::start(&[]).await;
    let big = anthropic_body("claude-sonnet-4-5", &"y".repeat(5 * 1024 * 1024), false);
    let resp = h.anthropic(&big).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn too_many_messages_is_a_400() {
    let h = Harness::start(&["--max-messages", "3"]).await;
    let msgs: Vec<Value> = (0..4)
        .map(|i| json!({"role": if i % 2 == 0 {"user"} else {"assistant"}, "content": "x"}))
        .collect();
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": msgs});
    let msg = anthropic_error(
        h.anthropic(&body).send().await.unwrap(),
        400,
        "invalid_request_error",
    )
    .await;
    assert!(msg.contains("MAX_MESSAGES"), "{msg}");
}

#[tokio::test]
async fn upstream_errors_keep_their_status_and_same_api_bodies_pass_through() {
    let h = Harness::start(&[]).await;
    for (status, kind) in [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (429, "rate_limit_error"),
        (500, "api_error"),
        (529, "overloaded_error"),
    ] {
        let body = anthropic_body("claude-sonnet-4-5", &format!("mock:error {status}"), false);
        let resp = h.anthropic(&body).send().await.unwrap();
        if status == 429 {
            assert_eq!(resp.headers()["retry-after"], "1");
            assert!(resp
                .headers()
                .contains_key("anthropic-ratelimit-requests-remaining"));
        }
        // Same API: the upstream body itself, byte for byte.
        let direct = reqwest::Client::new()
            .post(format!("{}/v1/messages", h.mock.base_url()))
            .header("x-api-key", "k")
            .header("anthropic-version", "2023-06-01")
            .json(&body)
            .send()
            .await
            .unwrap();
        let direct_body: Value = direct.json().await.unwrap();
        let got: Value = resp.json().await.unwrap();
        assert_eq!(got["error"]["type"], kind);
        assert_eq!(got["error"]["message"], direct_body["error"]["message"]);
    }
    assert!(h.gw.healthy().await);
}

#[tokio::test]
async fn cross_api_upstream_errors_keep_status_and_map_the_type() {
    let h = Harness::start(&[]).await;
    let resp = h
        .chat(&chat_body("claude-sonnet-4-5", "mock:error 429", false))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["retry-after"], "1");
    openai_error(resp, 429, "rate_limit_exceeded").await;
    openai_error(
        h.chat(&chat_body("claude-sonnet-4-5", "mock:error 529", false))
            .send()
            .await
            .unwrap(),
        529,
        "server_error",
    )
    .await;
    anthropic_error(
        h.anthropic(&anthropic_body("gpt-4o", "mock:error 429", false))
            .send()
            .await
            .unwrap(),
        429,
        "rate_limit_error",
    )
    .await;
    anthropic_error(
        h.anthropic(&anthropic_body("gpt-4o", "mock:error 500", true))
            .send()
            .await
            .unwrap(),
        500,
        "api_error",
    )
    .await;
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_502() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gw = start_gateway(settings_for(&format!("http://127.0.0.1:{port}"), &[]), None).await;
    let msg = anthropic_error(
        gw.anthropic(&anthropic_body("claude-sonnet-4-5", "hi", true))
            .send()
            .await
            .unwrap(),
        502,
        "api_error",
    )
    .await;
    assert!(msg.contains("unreachable"), "{msg}");
    openai_error(
        gw.chat(&chat_body("gpt-4o", "hi", false))
            .send()
            .await
            .unwrap(),
        502,
        "api_connection_error",
    )
    .await;
    assert!(gw.healthy().await);
}

#[tokio::test]
async fn a_silent_upstream_is_a_504_after_the_first_byte_timeout() {
    let h = Harness::start(&["--upstream-first-byte-timeout-ms", "300"]).await;
    let msg = anthropic_error(
        h.anthropic(&anthropic_body(
            "claude-sonnet-4-5",
            "mock:stall 3000",
            true,
        ))
        .send()
        .await
        .unwrap(),
        504,
        "timeout_error",
    )
    .await;
    assert!(msg.contains("first-byte"), "{msg}");
    openai_error(
        h.chat(&chat_body("gpt-4o", "mock:stall 3000", false))
            .send()
            .await
            .unwrap(),
        504,
        "timeout",
    )
    .await;
    assert!(h.gw.healthy().await);
}

#[tokio::test]
async fn a_stream_that_goes_silent_ends_with_an_error_event_after_the_idle_timeout() {
    let h = Harness::start(&["--upstream-idle-timeout-ms", "300"]).await;
    let s = anthropic_stream(
        h.anthropic(&anthropic_body(
            "claude-sonnet-4-5",
            "mock:stall_mid 3000",
            true,
        ))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert!(s.ended_with_error);
    let s = chat_stream(
        h.chat(&chat_body("gpt-4o", "mock:stall_mid 3000", true))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(s.ended_with_error);
    let s = chat_stream(
        h.chat(&chat_body("claude-sonnet-4-5", "mock:stall_mid 3000", true))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(s.ended_with_error);
}

#[tokio::test]
async fn the_total_timeout_bounds_a_stream_that_keeps_trickling() {
    let h = Harness::start(&["--upstream-total-timeout-ms", "400"]).await;
    let bytes = body_bytes(
        h.anthropic(&anthropic_body(
            "claude-sonnet-4-5",
            "mock:slow 0 50 50",
            true,
        ))
        .send()
        .await
        .unwrap(),
    )
    .await;
    let s = protocol::validate::validate_anthropic_sse(&bytes).unwrap();
    assert!(s.ended_with_error);
    assert!(String::from_utf8_lossy(&bytes).contains("total timeout"));
}

#[tokio::test]
async fn a_truncated_upstream_stream_ends_with_an_error_event_never_falsely_complete() {
    let h = Harness::start(&[]).await;
    for (model, anthropic_client) in [
        ("claude-sonnet-4-5", true),
        ("gpt-4o", true),
        ("claude-sonnet-4-5", false),
        ("gpt-4o", false),
    ] {
        let s = if anthropic_client {
            anthropic_stream(
                h.anthropic(&anthropic_body(model, "mock:truncate", true))
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        } else {
            chat_stream(
                h.chat(&chat_body(model, "mock:truncate", true))
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        };
        assert!(
            s.ended_with_error,
            "{model} anthropic_client={anthropic_client}"
        );
    }
    assert!(h.gw.healthy().await);
}

#[tokio::test]
async fn a_mid_stream_upstream_error_reaches_the_client_as_a_well_formed_error_event() {
    let h = Harness::start(&[]).await;
    for (model, anthropic_client) in [
        ("claude-sonnet-4-5", true),
        ("gpt-4o", true),
        ("claude-sonnet-4-5", false),
        ("gpt-4o", false),
    ] {
        let s = if anthropic_client {
            anthropic_stream(
                h.anthropic(&anthropic_body(model, "mock:midstream_error", true))
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        } else {
            chat_stream(
                h.chat(&chat_body(model, "mock:midstream_error", true))
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        };
        assert!(
            s.ended_with_error,
            "{model} anthropic_client={anthropic_client}"
        );
        assert!(
            !s.text.is_empty(),
            "the text before the error was delivered"
        );
    }
}

#[tokio::test]
async fn unknown_paths_are_a_404_in_the_callers_format() {
    let h = Harness::start(&[]).await;
    let resp =
        h.gw.http
            .get(format!("{}/v1/nope", h.gw.url))
            .header("anthropic-version", "2023-06-01")
            .send()
            .await
            .unwrap();
    anthropic_error(resp, 404, "not_found_error").await;
    let resp =
        h.gw.http
            .post(format!("{}/v1/embeddings", h.gw.url))
            .send()
            .await
            .unwrap();
    openai_error(resp, 404, "invalid_request_error").await;
}
