//! An Anthropic client on an OpenAI upstream and an OpenAI client on an Anthropic upstream,
//! streaming and not: text, several tool calls, thinking, stop reasons and usage survive.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn anthropic_client_on_openai_upstream_streams_text() {
    let h = Harness::start(&[]).await;
    let s = anthropic_stream(
        h.anthropic(&anthropic_body(
            "gpt-4o",
            "mock:text one two three four",
            true,
        ))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(s.text, "one two three four");
    assert_eq!(s.stop_reason.as_deref(), Some("end_turn"));
    let up = h.mock.requests().last().unwrap().clone();
    assert_eq!(up.path, "/v1/chat/completions");
    let body = up.json().unwrap();
    assert_eq!(
        body["stream_options"]["include_usage"], true,
        "usage is requested so it can be reported"
    );
    assert_eq!(up.header("authorization"), Some("Bearer test-key"));
}

#[tokio::test]
async fn anthropic_client_on_openai_upstream_gets_every_tool_call_intact() {
    let h = Harness::start(&[]).await;
    let s = anthropic_stream(
        h.anthropic(&anthropic_body("gpt-4o", "mock:tools 3", true))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s.tool_calls.len(), 3);
    for (i, call) in s.tool_calls.iter().enumerate() {
        assert!(!call.id.is_empty());
        assert_eq!(call.name, "get_weather");
        assert_eq!(
            call.input,
            json!({"city": format!("City{i}"), "unit": "celsius"})
        );
    }
    assert_eq!(s.stop_reason.as_deref(), Some("tool_use"));
}

#[tokio::test]
async fn openai_client_on_anthropic_upstream_gets_every_tool_call_intact() {
    let h = Harness::start(&[]).await;
    let s = chat_stream(
        h.chat(&chat_body("claude-sonnet-4-5", "mock:tools 3", true))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s.tool_calls.len(), 3);
    for (i, call) in s.tool_calls.iter().enumerate() {
        assert_eq!(call.name, "get_weather");
        assert_eq!(
            call.input,
            json!({"city": format!("City{i}"), "unit": "celsius"})
        );
    }
    assert_eq!(s.stop_reason.as_deref(), Some("tool_calls"));
    let up = h.mock.requests().last().unwrap().clone();
    assert_eq!(up.path, "/v1/messages");
    assert_eq!(up.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(up.header("authorization"), Some("Bearer test-key"));
    assert_eq!(
        up.json().unwrap()["max_tokens"],
        4096,
        "Anthropic requires max_tokens; the default is sent"
    );
}

#[tokio::test]
async fn openai_client_on_anthropic_upstream_streams_text_and_usage_when_asked() {
    let h = Harness::start(&[]).await;
    let mut body = chat_body("claude-sonnet-4-5", "mock:text alpha beta gamma", true);
    body["stream_options"] = json!({"include_usage": true});
    let resp = h.chat(&body).send().await.unwrap();
    let bytes = body_bytes(resp).await;
    let s = protocol::validate::validate_chat_sse(&bytes).unwrap();
    assert_eq!(s.text, "alpha beta gamma");
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains("\"prompt_tokens\""),
        "a usage chunk was sent: {text}"
    );
}

#[tokio::test]
async fn thinking_crosses_as_reasoning_content_and_back() {
    let h = Harness::start(&[]).await;
    let bytes = body_bytes(
        h.chat(&chat_body("claude-sonnet-4-5", "mock:thinking", true))
            .send()
            .await
            .unwrap(),
    )
    .await;
    protocol::validate::validate_chat_sse(&bytes).unwrap();
    assert!(String::from_utf8_lossy(&bytes).contains("reasoning_content"));
    let resp = h
        .anthropic(&anthropic_body("gpt-4o", "mock:thinking", true))
        .send()
        .await
        .unwrap();
    let bytes = body_bytes(resp).await;
    protocol::validate::validate_anthropic_sse(&bytes).unwrap();
    assert!(String::from_utf8_lossy(&bytes).contains("thinking_delta"));
}

#[tokio::test]
async fn stop_reasons_map_both_ways() {
    let h = Harness::start(&[]).await;
    let s = anthropic_stream(
        h.anthropic(&anthropic_body("gpt-4o", "mock:max_tokens", true))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s.stop_reason.as_deref(), Some("max_tokens"));
    let s = chat_stream(
        h.chat(&chat_body("claude-sonnet-4-5", "mock:max_tokens", true))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s.stop_reason.as_deref(), Some("length"));
    let s = chat_stream(
        h.chat(&chat_body(
            "claude-sonnet-4-5",
            "mock:stop_sequence END",
            true,
        ))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(s.stop_reason.as_deref(), Some("stop"));
}

#[tokio::test]
async fn non_streaming_anthropic_client_on_openai_upstream() {
    let h = Harness::start(&[]).await;
    let resp = h
        .anthropic(&anthropic_body("gpt-4o", "mock:tools 2", false))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["type"], "message");
    assert_eq!(v["stop_reason"], "tool_use");
    let tools: Vec<&Value> = v["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "tool_use")
        .collect();
    assert_eq!(tools.len(), 2);
    assert_eq!(
        tools[1]["input"],
        json!({"city": "City1", "unit": "celsius"})
    );
    assert!(v["usage"]["output_tokens"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn non_streaming_openai_client_on_anthropic_upstream() {
    let h = Harness::start(&[]).await;
    let resp = h
        .chat(&chat_body("claude-sonnet-4-5", "mock:tools 2", false))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    let calls = v["choices"][0]["message"]["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2);
    let args: Value =
        serde_json::from_str(calls[0]["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"city": "City0", "unit": "celsius"}));
    assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn a_tool_result_conversation_converts_to_the_upstreams_shape() {
    let h = Harness::start(&[]).await;
    let body = json!({
        "model": "gpt-4o", "max_tokens": 100, "stream": false,
        "system": [{"type": "text", "text": "be brief"}],
        "stop_sequences": ["STOP"],
        "tool_choice": {"type": "any"},
        "tools": [{"name": "Bash", "description": "run", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}],
        "messages": [
            {"role": "user", "content": "list files"},
            {"role": "assistant", "content": [{"type": "text", "text": "ok"}, {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "a.txt"}, {"type": "text", "text": "and now?"}]}
        ]
    });
    let resp = h.anthropic(&body).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let sent = h.mock.requests().last().unwrap().json().unwrap();
    let msgs = sent["messages"].as_array().unwrap();
    assert_eq!(msgs[0]["role"], "system");
    assert_eq!(msgs[2]["tool_calls"][0]["function"]["name"], "Bash");
    assert_eq!(msgs[3]["role"], "tool");
    assert_eq!(msgs[3]["tool_call_id"], "toolu_1");
    assert_eq!(msgs[4]["role"], "user");
    assert_eq!(sent["stop"], json!(["STOP"]));
    assert_eq!(sent["tool_choice"], "required");
}
