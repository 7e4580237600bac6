//! Non-streaming Anthropic replies: the assembled message of every scenario, with the real
//! field order.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

#[tokio::test]
async fn a_message_has_the_real_fields_in_the_real_order() {
    let mock = mock().await;
    let response = anthropic(&mock, &anthropic_body("hello", false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(response.headers().contains_key("request-id"));
    let message: Value = response.json().await.unwrap();
    assert_eq!(
        keys(&message),
        [
            "id",
            "type",
            "role",
            "model",
            "content",
            "stop_reason",
            "stop_sequence",
            "usage"
        ]
    );
    assert_eq!(message["type"], "message");
    assert_eq!(message["role"], "assistant");
    assert_eq!(message["model"], "claude-sonnet-4-5");
    assert_eq!(
        message["content"],
        json!([{"type": "text", "text": "Hello from the Luthien mock upstream. You said: hello"}])
    );
    assert_eq!(message["stop_reason"], "end_turn");
    assert_eq!(message["stop_sequence"], Value::Null);
    assert_eq!(
        keys(&message["usage"]),
        [
            "input_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
            "output_tokens"
        ]
    );
}

#[tokio::test]
async fn the_message_content_equals_the_streamed_content() {
    let mock = mock().await;
    for directive in ["mock:text a b c d e f g", "mock:deltas 7", "mock:long"] {
        let streamed = anthropic_deltas(
            &anthropic_stream(&mock, directive).await,
            "text_delta",
            "text",
        )
        .concat();
        let message = anthropic_message(&mock, directive).await;
        assert_eq!(
            message["content"][0]["text"],
            streamed.as_str(),
            "{directive}"
        );
    }
}

#[tokio::test]
async fn tool_directive_returns_text_and_a_tool_use_block() {
    let mock = mock().await;
    let message = anthropic_message(&mock, r#"mock:tool Bash {"command":"touch /tmp/x"}"#).await;
    assert_eq!(message["stop_reason"], "tool_use");
    let content = message["content"].as_array().unwrap();
    assert_eq!(
        content[0],
        json!({"type": "text", "text": "I'll use Bash."})
    );
    assert_eq!(keys(&content[1]), ["type", "id", "name", "input"]);
    assert!(content[1]["id"].as_str().unwrap().starts_with("toolu_01"));
    assert_eq!(content[1]["name"], "Bash");
    assert_eq!(content[1]["input"], json!({"command": "touch /tmp/x"}));
}

#[tokio::test]
async fn tools_directive_returns_n_weather_calls() {
    let mock = mock().await;
    let message = anthropic_message(&mock, "mock:tools 2").await;
    let content = message["content"].as_array().unwrap();
    assert_eq!(content.len(), 3);
    assert_eq!(content[2]["name"], "get_weather");
    assert_eq!(
        content[2]["input"],
        json!({"city": "City1", "unit": "celsius"})
    );
}

#[tokio::test]
async fn thinking_directive_returns_a_signed_thinking_block_before_the_text() {
    let mock = mock().await;
    let message = anthropic_message(&mock, "mock:thinking").await;
    let content = message["content"].as_array().unwrap();
    assert_eq!(keys(&content[0]), ["type", "thinking", "signature"]);
    assert_eq!(content[0]["type"], "thinking");
    assert!(content[0]["signature"].as_str().unwrap().len() > 200);
    assert_eq!(content[1]["type"], "text");
}

#[tokio::test]
async fn stop_directives_set_stop_reason_and_sequence() {
    let mock = mock().await;
    let message = anthropic_message(&mock, "mock:max_tokens").await;
    assert_eq!(message["stop_reason"], "max_tokens");
    let message = anthropic_message(&mock, "mock:stop_sequence </answer>").await;
    assert_eq!(message["stop_reason"], "stop_sequence");
    assert_eq!(message["stop_sequence"], "</answer>");
}

#[tokio::test]
async fn truncate_directive_returns_a_cleanly_delivered_but_cut_json_body() {
    let mock = mock().await;
    let body = ok_text(anthropic(&mock, &anthropic_body("mock:truncate", false))).await;
    assert!(body.starts_with(r#"{"id":"msg_01"#));
    assert!(serde_json::from_str::<Value>(&body).is_err());
}

#[tokio::test]
async fn midstream_error_directive_without_a_stream_is_a_529_overloaded_error() {
    let mock = mock().await;
    let response = anthropic(&mock, &anthropic_body("mock:midstream_error", false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 529);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
    );
}

#[tokio::test]
async fn usage_reports_the_same_input_tokens_as_count_tokens() {
    let mock = mock().await;
    let body = anthropic_body(&"word ".repeat(100), false);
    let message: Value = anthropic(&mock, &body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let counted: Value = client()
        .post(format!("{}/v1/messages/count_tokens", mock.base_url()))
        .header("x-api-key", "k")
        .header("anthropic-version", "2023-06-01")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(message["usage"]["input_tokens"], counted["input_tokens"]);
    assert!(message["usage"]["output_tokens"].as_u64().unwrap() >= 1);
}
