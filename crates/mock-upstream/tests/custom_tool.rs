//! `mock:custom NAME TEXT…` on the endpoints other than Responses: Chat Completions streams a
//! native `"type": "custom"` tool call; Anthropic, which has no free-form tools, a `tool_use`
//! with input `{"input": TEXT}`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use protocol::validate::{validate_anthropic_sse, validate_chat_sse};
use serde_json::{json, Value};

const PATCH: &str = "*** Begin Patch\n*** Add File: a.txt\n+hello\n*** End Patch";

#[tokio::test]
async fn chat_completions_streams_and_returns_a_custom_tool_call() {
    let mock = mock().await;
    let text = format!("mock:custom apply_patch {PATCH}");
    let body = ok_text(openai(&mock, &openai_body(&text, true))).await;
    let summary = validate_chat_sse(body.as_bytes()).unwrap();
    assert_eq!(summary.stop_reason.as_deref(), Some("tool_calls"));
    assert_eq!(summary.tool_calls.len(), 1);
    assert_eq!(summary.tool_calls[0].name, "apply_patch");
    assert_eq!(summary.tool_calls[0].input, Value::String(PATCH.into()));

    let completion = openai_completion(&mock, &text).await;
    let call = &completion["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["type"], "custom");
    assert_eq!(
        call["custom"],
        json!({"name": "apply_patch", "input": PATCH})
    );
    assert_eq!(completion["choices"][0]["finish_reason"], "tool_calls");
}

#[tokio::test]
async fn anthropic_sends_a_custom_call_as_a_tool_use_with_the_text_as_input() {
    let mock = mock().await;
    let text = format!("mock:custom apply_patch {PATCH}");
    let body = ok_text(anthropic(&mock, &anthropic_body(&text, true))).await;
    let summary = validate_anthropic_sse(body.as_bytes()).unwrap();
    assert_eq!(summary.stop_reason.as_deref(), Some("tool_use"));
    assert_eq!(summary.tool_calls[0].name, "apply_patch");
    assert_eq!(summary.tool_calls[0].input, json!({"input": PATCH}));

    let message = anthropic_message(&mock, &text).await;
    assert_eq!(message["content"][0]["type"], "tool_use");
    assert_eq!(message["content"][0]["input"], json!({"input": PATCH}));
}
