//! Helpers shared by the integration tests: clients with each provider's headers, and a tiny
//! SSE frame splitter.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use luthien_mock_upstream::{MockHandle, MockUpstream};
use serde_json::{json, Value};

/// A started mock.
pub async fn mock() -> MockHandle {
    MockUpstream::start().await.expect("mock starts")
}

/// One SSE frame: its `event:` line (if any) and its `data:` payload.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    pub event: Option<String>,
    pub data: String,
}

impl Frame {
    /// The data parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data)
            .unwrap_or_else(|e| panic!("frame data is not JSON ({e}): {}", self.data))
    }
}

/// Splits an SSE body into frames; panics on a trailing partial frame or unknown line.
pub fn frames(body: &str) -> Vec<Frame> {
    assert!(
        body.is_empty() || body.ends_with("\n\n"),
        "body must end with a blank line: {body:?}"
    );
    body.split_terminator("\n\n")
        .map(|raw| {
            let mut event = None;
            let mut data = None;
            for line in raw.split('\n') {
                if let Some(e) = line.strip_prefix("event: ") {
                    event = Some(e.to_owned());
                } else if let Some(d) = line.strip_prefix("data: ") {
                    assert!(data.is_none(), "one data line per frame: {raw:?}");
                    data = Some(d.to_owned());
                } else {
                    panic!("unexpected SSE line {line:?} in {raw:?}");
                }
            }
            Frame {
                event,
                data: data.expect("frame has data"),
            }
        })
        .collect()
}

/// A client that never pools connections, so dropping a response closes its connection.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// An Anthropic request body with one user message.
pub fn anthropic_body(text: &str, stream: bool) -> Value {
    json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "stream": stream,
        "messages": [{"role": "user", "content": text}],
    })
}

/// An OpenAI request body with one user message.
pub fn openai_body(text: &str, stream: bool) -> Value {
    json!({
        "model": "gpt-4o",
        "stream": stream,
        "messages": [{"role": "user", "content": text}],
    })
}

/// An OpenAI Responses request body whose input is one user message item, as Codex sends.
pub fn responses_body(text: &str, stream: bool) -> Value {
    json!({
        "model": "gpt-5",
        "stream": stream,
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}],
    })
}

/// `POST /v1/responses` with a valid bearer key.
pub fn responses(mock: &MockHandle, body: &Value) -> reqwest::RequestBuilder {
    client()
        .post(format!("{}/v1/responses", mock.base_url()))
        .bearer_auth("sk-test")
        .json(body)
}

/// The raw SSE body of a streamed Responses reply to `text`.
pub async fn responses_sse(mock: &MockHandle, text: &str) -> String {
    ok_text(responses(mock, &responses_body(text, true))).await
}

/// The JSON of a non-streamed Responses reply to `text`.
pub async fn responses_object(mock: &MockHandle, text: &str) -> Value {
    serde_json::from_str(&ok_text(responses(mock, &responses_body(text, false))).await).unwrap()
}

/// `POST /v1/messages` with valid Anthropic headers.
pub fn anthropic(mock: &MockHandle, body: &Value) -> reqwest::RequestBuilder {
    client()
        .post(format!("{}/v1/messages", mock.base_url()))
        .header("x-api-key", "sk-ant-test")
        .header("anthropic-version", "2023-06-01")
        .json(body)
}

/// `POST /v1/chat/completions` with a valid bearer key.
pub fn openai(mock: &MockHandle, body: &Value) -> reqwest::RequestBuilder {
    client()
        .post(format!("{}/v1/chat/completions", mock.base_url()))
        .bearer_auth("sk-test")
        .json(body)
}

/// Sends, asserts 200, returns the raw body text.
pub async fn ok_text(request: reqwest::RequestBuilder) -> String {
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "body: {text}");
    text
}

/// The frames of a streamed Anthropic reply to `text`.
pub async fn anthropic_stream(mock: &MockHandle, text: &str) -> Vec<Frame> {
    frames(&ok_text(anthropic(mock, &anthropic_body(text, true))).await)
}

/// The JSON of a non-streamed Anthropic reply to `text`.
pub async fn anthropic_message(mock: &MockHandle, text: &str) -> Value {
    serde_json::from_str(&ok_text(anthropic(mock, &anthropic_body(text, false))).await).unwrap()
}

/// The frames of a streamed OpenAI reply to `text`.
pub async fn openai_stream(mock: &MockHandle, text: &str) -> Vec<Frame> {
    frames(&ok_text(openai(mock, &openai_body(text, true))).await)
}

/// The JSON of a non-streamed OpenAI reply to `text`.
pub async fn openai_completion(mock: &MockHandle, text: &str) -> Value {
    serde_json::from_str(&ok_text(openai(mock, &openai_body(text, false))).await).unwrap()
}

/// The event names of Anthropic frames, with deltas named by their delta type; a run of one or
/// more `text_delta`, `thinking_delta` or `input_json_delta` is written `name*`.
pub fn anthropic_shape(frames: &[Frame]) -> Vec<String> {
    let mut shape: Vec<String> = Vec::new();
    for frame in frames {
        let event = frame
            .event
            .clone()
            .expect("Anthropic frames name their event");
        let name = if event == "content_block_delta" {
            frame.json()["delta"]["type"].as_str().unwrap().to_owned()
        } else {
            event
        };
        let name = match name.as_str() {
            "text_delta" | "thinking_delta" | "input_json_delta" => format!("{name}*"),
            _ => name,
        };
        if name.ends_with('*') && shape.last() == Some(&name) {
            continue;
        }
        shape.push(name);
    }
    shape
}

/// Concatenation of the Anthropic deltas of one type (`text`, `thinking`, `partial_json`).
pub fn anthropic_deltas(frames: &[Frame], delta_type: &str, field: &str) -> Vec<String> {
    frames
        .iter()
        .filter(|f| f.event.as_deref() == Some("content_block_delta"))
        .map(Frame::json)
        .filter(|j| j["delta"]["type"] == delta_type)
        .map(|j| j["delta"][field].as_str().unwrap().to_owned())
        .collect()
}

/// The `content` deltas of an OpenAI stream.
pub fn openai_content(frames: &[Frame]) -> Vec<String> {
    frames
        .iter()
        .filter(|f| f.data != "[DONE]")
        .map(Frame::json)
        .filter_map(|j| {
            j["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .filter(|c| !c.is_empty())
        .collect()
}

/// Reads a streamed body chunk by chunk, noting when each frame completed.
pub async fn timed_frames(
    mut response: reqwest::Response,
    since: Instant,
) -> Vec<(Duration, Frame)> {
    let mut buffer = String::new();
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buffer.find("\n\n") {
            let raw: String = buffer.drain(..end + 2).collect();
            let at = since.elapsed();
            out.extend(frames(&raw).into_iter().map(|f| (at, f)));
        }
    }
    assert!(buffer.is_empty(), "partial frame left: {buffer:?}");
    out
}

/// Polls until `check` holds or two seconds pass.
pub async fn eventually(mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    check()
}
