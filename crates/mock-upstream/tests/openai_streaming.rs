//! Streamed OpenAI chat completions: `data:`-only frames, the role chunk, content and tool-call
//! deltas, one finish reason, the optional usage chunk and `[DONE]`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};

/// The chunks of a stream without the final `[DONE]` (asserted present).
fn chunks(frames: &[Frame]) -> Vec<Value> {
    assert_eq!(frames.last().unwrap().data, "[DONE]");
    frames[..frames.len() - 1].iter().map(Frame::json).collect()
}

fn finish_reasons(chunks: &[Value]) -> Vec<Value> {
    chunks
        .iter()
        .filter_map(|c| c["choices"].get(0).map(|ch| ch["finish_reason"].clone()))
        .filter(|f| !f.is_null())
        .collect()
}

#[tokio::test]
async fn a_stream_starts_with_the_role_chunk_and_ends_with_finish_then_done() {
    let mock = mock().await;
    let body = ok_text(openai(&mock, &openai_body("hi there", true))).await;
    let frames = frames(&body);
    assert!(frames.iter().all(|f| f.event.is_none()), "no event lines");
    let chunks = chunks(&frames);
    let first = &chunks[0];
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "object",
            "created",
            "model",
            "service_tier",
            "system_fingerprint",
            "choices"
        ]
    );
    assert!(first["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(first["object"], "chat.completion.chunk");
    assert_eq!(first["model"], "gpt-4o");
    assert!(first["system_fingerprint"]
        .as_str()
        .unwrap()
        .starts_with("fp_"));
    assert_eq!(
        first["choices"],
        json!([{"index": 0, "delta": {"role": "assistant", "content": "", "refusal": null}, "logprobs": null, "finish_reason": null}])
    );
    assert!(chunks.iter().all(|c| c["id"] == first["id"]));
    let last = chunks.last().unwrap();
    assert_eq!(
        last["choices"],
        json!([{"index": 0, "delta": {}, "logprobs": null, "finish_reason": "stop"}])
    );
    assert_eq!(finish_reasons(&chunks).len(), 1);
    assert_eq!(
        openai_content(&frames).concat(),
        "Hello from the Luthien mock upstream. You said: hi there"
    );
    assert!(
        !body.contains("\"usage\""),
        "no usage without include_usage"
    );
}

#[tokio::test]
async fn include_usage_adds_a_final_usage_chunk_and_null_usage_elsewhere() {
    let mock = mock().await;
    let mut request = openai_body("mock:deltas 3", true);
    request["stream_options"] = json!({"include_usage": true});
    let frames = frames(&ok_text(openai(&mock, &request)).await);
    let chunks = chunks(&frames);
    let (usage_chunk, rest) = chunks.split_last().unwrap();
    assert!(rest
        .iter()
        .all(|c| c["usage"].is_null() && c.get("usage").is_some()));
    assert_eq!(usage_chunk["choices"], json!([]));
    let usage = &usage_chunk["usage"];
    let keys: Vec<&str> = usage
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "prompt_tokens",
            "completion_tokens",
            "total_tokens",
            "prompt_tokens_details",
            "completion_tokens_details"
        ]
    );
    assert_eq!(
        usage["total_tokens"].as_u64().unwrap(),
        usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap()
    );
    assert_eq!(rest.last().unwrap()["choices"][0]["finish_reason"], "stop");
}

#[tokio::test]
async fn deltas_directive_streams_exactly_n_content_deltas() {
    let mock = mock().await;
    let frames = openai_stream(&mock, "mock:deltas 20").await;
    let expected: Vec<String> = (0..20).map(|i| format!("w{i} ")).collect();
    assert_eq!(openai_content(&frames), expected);
    // role chunk + 20 deltas + finish chunk + [DONE]
    assert_eq!(frames.len(), 23);
}

#[tokio::test]
async fn text_and_long_directives_stream_their_text() {
    let mock = mock().await;
    let frames = openai_stream(&mock, "mock:text Exactly this, please.").await;
    assert_eq!(openai_content(&frames).concat(), "Exactly this, please.");
    let frames = openai_stream(&mock, "mock:long").await;
    let words = openai_content(&frames).concat().split_whitespace().count();
    assert!((1_900..=2_100).contains(&words));
}

#[tokio::test]
async fn tool_directive_streams_text_then_a_tool_call_in_fragments() {
    let mock = mock().await;
    let frames = openai_stream(&mock, r#"mock:tool Bash {"command":"touch /tmp/x"}"#).await;
    let chunks = chunks(&frames);
    assert_eq!(openai_content(&frames).concat(), "I'll use Bash.");
    let calls: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"].get("tool_calls"))
        .collect();
    let head = &calls[0][0];
    assert_eq!(head["index"], 0);
    assert!(head["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(head["type"], "function");
    assert_eq!(head["function"], json!({"name": "Bash", "arguments": ""}));
    let fragments: Vec<&str> = calls[1..]
        .iter()
        .map(|c| {
            assert_eq!(
                c[0].as_object().unwrap().keys().collect::<Vec<_>>(),
                ["index", "function"]
            );
            c[0]["function"]["arguments"].as_str().unwrap()
        })
        .collect();
    assert!(fragments.len() >= 3);
    let input: Value = serde_json::from_str(&fragments.concat()).unwrap();
    assert_eq!(input, json!({"command": "touch /tmp/x"}));
    assert_eq!(finish_reasons(&chunks), vec![json!("tool_calls")]);
}

#[tokio::test]
async fn tools_directive_streams_n_calls_with_their_own_indices() {
    let mock = mock().await;
    let frames = openai_stream(&mock, "mock:tools 3").await;
    let mut arguments = vec![String::new(); 3];
    for chunk in chunks(&frames) {
        if let Some(calls) = chunk["choices"][0]["delta"].get("tool_calls") {
            let index = calls[0]["index"].as_u64().unwrap() as usize;
            arguments[index].push_str(calls[0]["function"]["arguments"].as_str().unwrap());
        }
    }
    for (i, args) in arguments.iter().enumerate() {
        let input: Value = serde_json::from_str(args).unwrap();
        assert_eq!(
            input,
            json!({"city": format!("City{i}"), "unit": "celsius"})
        );
    }
}

#[tokio::test]
async fn thinking_directive_streams_reasoning_content_before_content() {
    let mock = mock().await;
    let frames = openai_stream(&mock, "mock:thinking").await;
    let kinds: Vec<&str> = chunks(&frames)
        .iter()
        .skip(1)
        .filter_map(|c| {
            let delta = &c["choices"][0]["delta"];
            if delta.get("reasoning_content").is_some() {
                Some("reasoning")
            } else if delta.get("content").is_some() {
                Some("content")
            } else {
                None
            }
        })
        .collect::<Vec<_>>();
    let first_content = kinds.iter().position(|k| *k == "content").unwrap();
    assert!(first_content > 0);
    assert!(kinds[..first_content].iter().all(|k| *k == "reasoning"));
    assert!(kinds[first_content..].iter().all(|k| *k == "content"));
}

#[tokio::test]
async fn max_tokens_and_stop_sequence_map_to_length_and_stop() {
    let mock = mock().await;
    let frames = openai_stream(&mock, "mock:max_tokens").await;
    assert_eq!(finish_reasons(&chunks(&frames)), vec![json!("length")]);
    let frames = openai_stream(&mock, "mock:stop_sequence END").await;
    assert_eq!(finish_reasons(&chunks(&frames)), vec![json!("stop")]);
}

#[tokio::test]
async fn truncate_directive_ends_without_finish_reason_or_done() {
    let mock = mock().await;
    let frames = openai_stream(&mock, "mock:truncate").await;
    assert!(frames.iter().all(|f| f.data != "[DONE]"));
    let chunks: Vec<Value> = frames.iter().map(Frame::json).collect();
    assert!(finish_reasons(&chunks).is_empty());
    assert!(openai_content(&frames).len() >= 2);
}

#[tokio::test]
async fn midstream_error_directive_ends_with_an_error_payload_and_no_done() {
    let mock = mock().await;
    let frames = openai_stream(&mock, "mock:midstream_error").await;
    assert!(openai_content(&frames).len() >= 2);
    let last = frames.last().unwrap();
    assert_eq!(
        last.data,
        r#"{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}"#
    );
    assert!(frames.iter().all(|f| f.data != "[DONE]"));
}

#[tokio::test]
async fn a_trailing_tool_message_is_acknowledged_even_after_a_directive() {
    let mock = mock().await;
    let request = json!({
        "model": "gpt-4o",
        "stream": true,
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "mock:tool Bash {\"command\":\"ls\"}"}]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "Bash", "arguments": "{\"command\":\"ls\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "a.txt b.txt"}
        ]
    });
    let frames = frames(&ok_text(openai(&mock, &request)).await);
    assert_eq!(
        openai_content(&frames).concat(),
        "Tool result received: a.txt b.txt"
    );
}

#[tokio::test]
async fn stream_responses_carry_openai_headers() {
    let mock = mock().await;
    let response = openai(&mock, &openai_body("hi", true))
        .send()
        .await
        .unwrap();
    let h = response.headers();
    assert_eq!(h["content-type"], "text/event-stream; charset=utf-8");
    assert!(h["x-request-id"].to_str().unwrap().starts_with("req_"));
    assert!(h.contains_key("openai-processing-ms"));
    assert_eq!(h["x-ratelimit-limit-requests"], "10000");
    assert_eq!(h["x-ratelimit-remaining-requests"], "9999");
}
