//! `mock:error <STATUS>`: the status with each provider's real error body, type and headers,
//! for streaming and non-streaming requests alike.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};

const ANTHROPIC_TYPES: &[(u16, &str)] = &[
    (400, "invalid_request_error"),
    (401, "authentication_error"),
    (403, "permission_error"),
    (404, "not_found_error"),
    (413, "request_too_large"),
    (429, "rate_limit_error"),
    (500, "api_error"),
    (529, "overloaded_error"),
];

#[tokio::test]
async fn anthropic_errors_have_the_status_and_the_real_error_type() {
    let mock = mock().await;
    for &(status, kind) in ANTHROPIC_TYPES {
        for stream in [false, true] {
            let response = anthropic(
                &mock,
                &anthropic_body(&format!("mock:error {status}"), stream),
            )
            .send()
            .await
            .unwrap();
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(response.headers()["content-type"], "application/json");
            assert!(response.headers()["request-id"]
                .to_str()
                .unwrap()
                .starts_with("req_"));
            let body = response.text().await.unwrap();
            assert_eq!(
                body,
                format!(
                    r#"{{"type":"error","error":{{"type":"{kind}","message":"mock: simulated {status}"}}}}"#
                )
            );
        }
    }
}

#[tokio::test]
async fn openai_errors_have_the_status_and_the_openai_error_shape() {
    let mock = mock().await;
    for (status, kind, code) in [
        (400, "invalid_request_error", Value::Null),
        (401, "invalid_request_error", json!("invalid_api_key")),
        (429, "requests", json!("rate_limit_exceeded")),
        (500, "server_error", Value::Null),
        (529, "server_error", Value::Null),
    ] {
        let response = openai(&mock, &openai_body(&format!("mock:error {status}"), true))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status);
        assert!(response.headers().contains_key("x-request-id"));
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            json!({"error": {"message": format!("mock: simulated {status}"), "type": kind, "param": null, "code": code}})
        );
    }
}

#[tokio::test]
async fn rate_limits_say_when_to_retry_and_that_no_requests_remain() {
    let mock = mock().await;
    let response = anthropic(&mock, &anthropic_body("mock:error 429", true))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(
        response.headers()["anthropic-ratelimit-requests-remaining"],
        "0"
    );
    let response = openai(&mock, &openai_body("mock:error 429", false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(response.headers()["x-ratelimit-remaining-requests"], "0");
}

#[tokio::test]
async fn an_error_reply_is_not_counted_as_a_stream() {
    let mock = mock().await;
    let _ = anthropic(&mock, &anthropic_body("mock:error 500", true))
        .send()
        .await
        .unwrap()
        .text()
        .await;
    assert_eq!(mock.stats().started, 0);
}

#[tokio::test]
async fn a_status_outside_400_to_599_is_explained_not_sent() {
    let mock = mock().await;
    let message = anthropic_message(&mock, "mock:error 200").await;
    let text = message["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("mock:error <STATUS>"), "{text}");
}
