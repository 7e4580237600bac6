//! Same-API routes forward the upstream's bytes unchanged, request and response.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};

/// An Anthropic stream with the odd-but-legal details a re-serialising proxy would lose:
/// a space in the ping JSON, an unknown event type, an unknown block type and extra fields.
const ANTHROPIC_WIRE: &[u8] = b"event: message_start\n\
data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01X\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":12,\"output_tokens\":1},\"future_field\":{\"a\":1}}}\n\n\
event: content_block_start\n\
data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n\
event: ping\n\
data: {\"type\": \"ping\"}\n\n\
event: content_block_delta\n\
data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi \\u00e9\"}}\n\n\
event: content_block_stop\n\
data: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
event: content_block_start\n\
data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_1\",\"name\":\"web_search\",\"input\":{}}}\n\n\
event: content_block_delta\n\
data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"query\\\":\\\"x\\\"}\"}}\n\n\
event: content_block_stop\n\
data: {\"type\":\"content_block_stop\",\"index\":1}\n\n\
event: brand_new_event\n\
data: {\"type\":\"brand_new_event\",\"x\":true}\n\n\
event: message_delta\n\
data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":5}}\n\n\
event: message_stop\n\
data: {\"type\":\"message_stop\"}\n\n";

const CHAT_WIRE: &[u8] = b"data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":null}]}\n\n\
data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"logprobs\":null,\"finish_reason\":null}],\"obfuscation\":\"abc\"}\n\n\
: keep-alive comment\n\n\
data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n\
data: [DONE]\n\n";

#[tokio::test]
async fn anthropic_stream_bytes_reach_the_client_unchanged() {
    let up = fixed_upstream(
        200,
        vec![
            ("content-type", "text/event-stream"),
            ("request-id", "req_1"),
        ],
        ANTHROPIC_WIRE,
    )
    .await;
    let gw = start_gateway(settings_for(&up, &[]), None).await;
    let resp = gw
        .anthropic(&anthropic_body("claude-sonnet-4-5", "hi", true))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["request-id"], "req_1");
    assert_eq!(body_bytes(resp).await.as_ref(), ANTHROPIC_WIRE);
}

#[tokio::test]
async fn openai_stream_bytes_reach_the_client_unchanged() {
    let up = fixed_upstream(
        200,
        vec![
            ("content-type", "text/event-stream"),
            ("x-request-id", "r1"),
        ],
        CHAT_WIRE,
    )
    .await;
    let gw = start_gateway(settings_for(&up, &[]), None).await;
    let resp = gw
        .chat(&chat_body("gpt-4o", "hi", true))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-request-id"], "r1");
    assert_eq!(body_bytes(resp).await.as_ref(), CHAT_WIRE);
}

#[tokio::test]
async fn non_streaming_json_bytes_reach_the_client_unchanged() {
    const BODY: &[u8] = b"{\"id\":\"msg_1\",  \"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\",\"content\":[{\"type\":\"text\",\"text\":\"ok\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":1,\"output_tokens\":1},\"new\":1}";
    let up = fixed_upstream(200, vec![("content-type", "application/json")], BODY).await;
    let gw = start_gateway(settings_for(&up, &[]), None).await;
    let resp = gw
        .anthropic(&anthropic_body("claude-sonnet-4-5", "hi", false))
        .send()
        .await
        .unwrap();
    assert_eq!(body_bytes(resp).await.as_ref(), BODY);
}

#[tokio::test]
async fn request_body_bytes_reach_the_upstream_unchanged_with_unknown_fields() {
    let h = Harness::start(&[]).await;
    // Odd spacing, key order and fields Claude Code sends that the gateway does not model.
    let raw = r#"{"model":"claude-sonnet-4-5",  "max_tokens":64,"messages":[{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}]}],"context_management":{"edits":[{"type":"clear_thinking_20251015","keep":"all"}]},"output_config":{"effort":"high"},"thinking":{"type":"adaptive","display":"updates"},"tools":[{"name":"T","input_schema":{"type":"object"},"defer_loading":true}],"metadata":{"user_id":"{\"device_id\":\"d\",\"session_id\":\"s\"}"}}"#;
    let resp =
        h.gw.http
            .post(format!("{}/v1/messages", h.gw.url))
            .header("x-api-key", "k")
            .header("anthropic-version", "2023-06-01")
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), 200);
    let seen = h
        .mock
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/messages")
        .unwrap();
    assert_eq!(seen.body.as_ref(), raw.as_bytes());
}

#[tokio::test]
async fn mock_streams_pass_the_invariant_validator_on_both_same_api_routes() {
    let h = Harness::start(&[]).await;
    for text in [
        "plain",
        "mock:tools 3",
        "mock:thinking",
        "mock:max_tokens",
        "mock:long",
    ] {
        let s = anthropic_stream(
            h.anthropic(&anthropic_body("claude-sonnet-4-5", text, true))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(!s.ended_with_error, "{text}");
        let s = chat_stream(
            h.chat(&chat_body("gpt-4o", text, true))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(!s.ended_with_error, "{text}");
    }
}

#[tokio::test]
async fn a_provider_prefix_is_stripped_and_only_the_model_field_changes() {
    let h = Harness::start(&[]).await;
    let resp = h
        .anthropic(&anthropic_body("anthropic/claude-sonnet-4-5", "hi", false))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let seen: Value = h.mock.requests().last().unwrap().json().unwrap();
    assert_eq!(seen["model"], "claude-sonnet-4-5");
    assert_eq!(seen["messages"], json!([{"role": "user", "content": "hi"}]));
}
