//! Non-streaming OpenAI chat completions: the `chat.completion` object of every scenario, with
//! the real field order.
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
async fn a_completion_has_the_real_fields_in_the_real_order() {
    let mock = mock().await;
    let response = openai(&mock, &openai_body("hello", false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(response.headers().contains_key("x-request-id"));
    let completion: Value = response.json().await.unwrap();
    assert_eq!(
        keys(&completion),
        [
            "id",
            "object",
            "created",
            "model",
            "choices",
            "usage",
            "service_tier",
            "system_fingerprint"
        ]
    );
    assert_eq!(completion["object"], "chat.completion");
    let choice = &completion["choices"][0];
    assert_eq!(
        keys(choice),
        ["index", "message", "logprobs", "finish_reason"]
    );
    assert_eq!(
        choice["message"],
        json!({
            "role": "assistant",
            "content": "Hello from the Luthien mock upstream. You said: hello",
            "refusal": null,
            "annotations": []
        })
    );
    assert_eq!(
        keys(&choice["message"]),
        ["role", "content", "refusal", "annotations"]
    );
    assert_eq!(choice["finish_reason"], "stop");
    assert_eq!(
        completion["usage"]["completion_tokens_details"],
        json!({"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0})
    );
    assert_eq!(
        completion["usage"]["prompt_tokens_details"],
        json!({"cached_tokens": 0, "audio_tokens": 0})
    );
}

#[tokio::test]
async fn the_completion_content_equals_the_streamed_content() {
    let mock = mock().await;
    for directive in ["mock:text x y z w", "mock:deltas 9", "mock:long", "hello"] {
        let streamed = openai_content(&openai_stream(&mock, directive).await).concat();
        let completion = openai_completion(&mock, directive).await;
        assert_eq!(
            completion["choices"][0]["message"]["content"],
            streamed.as_str(),
            "{directive}"
        );
    }
}

#[tokio::test]
async fn tool_directive_returns_tool_calls_after_the_annotations() {
    let mock = mock().await;
    let completion = openai_completion(&mock, r#"mock:tool Bash {"command":"ls -la"}"#).await;
    let choice = &completion["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    let message = &choice["message"];
    assert_eq!(
        keys(message),
        ["role", "content", "refusal", "annotations", "tool_calls"]
    );
    assert_eq!(message["content"], "I'll use Bash.");
    let call = &message["tool_calls"][0];
    assert!(call["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "Bash");
    assert_eq!(call["function"]["arguments"], r#"{"command":"ls -la"}"#);
}

#[tokio::test]
async fn tools_directive_returns_n_calls() {
    let mock = mock().await;
    let completion = openai_completion(&mock, "mock:tools 4").await;
    let calls = completion["choices"][0]["message"]["tool_calls"]
        .as_array()
        .unwrap();
    assert_eq!(calls.len(), 4);
    assert_eq!(
        calls[3]["function"]["arguments"],
        r#"{"city":"City3","unit":"celsius"}"#
    );
}

#[tokio::test]
async fn thinking_directive_returns_reasoning_content_and_reasoning_tokens() {
    let mock = mock().await;
    let completion = openai_completion(&mock, "mock:thinking").await;
    let message = &completion["choices"][0]["message"];
    assert!(!message["reasoning_content"].as_str().unwrap().is_empty());
    assert!(!message["content"].as_str().unwrap().is_empty());
    assert!(
        completion["usage"]["completion_tokens_details"]["reasoning_tokens"]
            .as_u64()
            .unwrap()
            > 0
    );
}

#[tokio::test]
async fn max_tokens_finishes_with_length() {
    let mock = mock().await;
    let completion = openai_completion(&mock, "mock:max_tokens").await;
    assert_eq!(completion["choices"][0]["finish_reason"], "length");
}

#[tokio::test]
async fn truncate_directive_returns_a_cut_json_body() {
    let mock = mock().await;
    let body = ok_text(openai(&mock, &openai_body("mock:truncate", false))).await;
    assert!(body.starts_with(r#"{"id":"chatcmpl-"#));
    assert!(serde_json::from_str::<Value>(&body).is_err());
}

#[tokio::test]
async fn midstream_error_directive_without_a_stream_is_a_500_server_error() {
    let mock = mock().await;
    let response = openai(&mock, &openai_body("mock:midstream_error", false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "server_error");
}
