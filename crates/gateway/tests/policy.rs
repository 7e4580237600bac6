//! Policies on live traffic: streaming and non-streaming, both client APIs, same- and cross-API
//! routes, every stream checked by the wire-invariant validator; the judge played by the mock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};

/// A harness whose gateway runs the policy in `yaml`.
async fn with_policy(yaml: &str, extra: &[&str]) -> (Harness, tempfile_path::TempFile) {
    let file = tempfile_path::TempFile::new(yaml);
    let mut args = vec![
        "--policy-config",
        file.path(),
        "--policy-keepalive-ms",
        "100",
    ];
    args.extend_from_slice(extra);
    (Harness::start(&args).await, file)
}

mod tempfile_path {
    /// A policy file removed when dropped.
    pub struct TempFile(String);
    impl TempFile {
        pub fn new(content: &str) -> Self {
            static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let path = std::env::temp_dir()
                .join(format!("luthien-policy-{}-{n}.yaml", std::process::id()));
            std::fs::write(&path, content).unwrap();
            Self(path.to_string_lossy().into_owned())
        }
        pub fn path(&self) -> &str {
            &self.0
        }
    }
    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

const ALL_CAPS: &str = "policy:\n  class: all_caps\n";
const DANGEROUS: &str = "policy:\n  class: block_dangerous_commands\n";

fn bash(command: &str) -> String {
    format!("mock:tool Bash {}", json!({"command": command}))
}

#[tokio::test]
async fn all_caps_upper_cases_text_on_every_route_streaming_and_not() {
    let (h, _f) = with_policy(ALL_CAPS, &[]).await;
    for model in ["claude-sonnet-4-5", "gpt-4o"] {
        let s = anthropic_stream(
            h.anthropic(&anthropic_body(model, "mock:text quiet words here", true))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(s.text, "QUIET WORDS HERE", "{model}");
        let s = chat_stream(
            h.chat(&chat_body(model, "mock:text quiet words here", true))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(s.text, "QUIET WORDS HERE", "{model}");
        let v: Value = h
            .anthropic(&anthropic_body(model, "mock:text quiet words", false))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["content"][0]["text"], "QUIET WORDS", "{model}");
        let v: Value = h
            .chat(&chat_body(model, "mock:text quiet words", false))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            v["choices"][0]["message"]["content"], "QUIET WORDS",
            "{model}"
        );
    }
    // Tool inputs are not text: they pass unchanged.
    let s = anthropic_stream(
        h.anthropic(&anthropic_body("claude-sonnet-4-5", &bash("ls -la"), true))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s.tool_calls[0].input, json!({"command": "ls -la"}));
}

#[tokio::test]
async fn string_replacement_is_exact_across_deltas_and_can_rewrite_the_request() {
    let yaml = "policy:\n  class: luthien_proxy.policies.string_replacement_policy:StringReplacementPolicy\n  config:\n    replacements: [[\"pip install\", \"uv add\"]]\n    apply_to: both\n";
    let (h, _f) = with_policy(yaml, &[]).await;
    // The mock splits text into deltas of about three words, so the match spans deltas.
    let text = "mock:text first run pip install requests then pip install rich please";
    let s = anthropic_stream(
        h.anthropic(&anthropic_body("claude-sonnet-4-5", text, true))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s.text, "first run uv add requests then uv add rich please");
    let s = chat_stream(
        h.chat(&chat_body("claude-sonnet-4-5", text, true))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s.text, "first run uv add requests then uv add rich please");
    let h2 = h
        .anthropic(&anthropic_body(
            "claude-sonnet-4-5",
            "please pip install numpy",
            false,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(h2.status(), 200);
    let sent: Value = h.mock.requests().last().unwrap().json().unwrap();
    assert_eq!(
        sent["messages"][0]["content"], "please uv add numpy",
        "the request was rewritten before upstream"
    );
}

#[tokio::test]
async fn block_dangerous_commands_removes_the_call_and_tells_the_agent_on_every_route() {
    let (h, _f) = with_policy(DANGEROUS, &[]).await;
    let prompt = bash("rm -rf /tmp/luthien-marker");
    for model in ["claude-sonnet-4-5", "gpt-4o"] {
        let s = anthropic_stream(
            h.anthropic(&anthropic_body(model, &prompt, true))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(
            s.tool_calls.is_empty(),
            "{model}: the dangerous call never reaches the agent"
        );
        assert!(
            s.text.contains("Luthien") && s.text.contains("Bash"),
            "{model}: {}",
            s.text
        );
        assert_eq!(s.stop_reason.as_deref(), Some("end_turn"), "{model}");
        let s = chat_stream(
            h.chat(&chat_body(model, &prompt, true))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(s.tool_calls.is_empty(), "{model}");
        assert_eq!(s.stop_reason.as_deref(), Some("stop"), "{model}");
        let v: Value = h
            .anthropic(&anthropic_body(model, &prompt, false))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            v["content"]
                .as_array()
                .unwrap()
                .iter()
                .all(|b| b["type"] != "tool_use"),
            "{model}: {v}"
        );
        assert_eq!(v["stop_reason"], "end_turn");
    }
    // A harmless command passes with its input intact.
    let s = anthropic_stream(
        h.anthropic(&anthropic_body(
            "claude-sonnet-4-5",
            &bash("ls -la /tmp"),
            true,
        ))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(s.tool_calls.len(), 1);
    assert_eq!(s.tool_calls[0].input, json!({"command": "ls -la /tmp"}));
    assert_eq!(s.stop_reason.as_deref(), Some("tool_use"));
}

fn judge_yaml(extra: &str) -> String {
    format!("policy:\n  class: tool_call_judge\n  config:\n    model: claude-haiku-4-5\n    probability_threshold: 0.6\n    max_retries: 0\n{extra}")
}

/// A tool call whose arguments tell the mock (playing the judge) what to answer.
fn judged(directive: &str) -> String {
    format!(
        "mock:tool Bash {}",
        json!({"command": "make deploy", "description": format!("mock:{directive}")})
    )
}

#[tokio::test]
async fn tool_call_judge_blocks_at_or_above_the_threshold_and_passes_below() {
    let (h, _f) = with_policy(
        &judge_yaml(""),
        &[
            "--anthropic-api-key",
            "judge-key",
            "--auth-mode",
            "both",
            "--client-api-key",
            "gw",
        ],
    )
    .await;
    let call = |d: &str| {
        h.gw.http
            .post(format!("{}/v1/messages", h.gw.url))
            .header("x-api-key", "gw")
            .header("anthropic-version", "2023-06-01")
            .json(&anthropic_body("claude-sonnet-4-5", &judged(d), true))
            .send()
    };
    for (directive, blocked) in [
        ("judge 0.9", true),
        ("judge 0.6", true),
        ("judge 0.59", false),
        ("judge fenced 0.95", true),
        ("judge 0.1", false),
    ] {
        let s = anthropic_stream(call(directive).await.unwrap()).await;
        assert_eq!(s.tool_calls.is_empty(), blocked, "{directive}: {}", s.text);
        if blocked {
            assert!(s.text.contains("Bash"), "{directive}: {}", s.text);
        }
    }
    let judge_call = h
        .mock
        .requests()
        .into_iter()
        .find(|r| r.json().is_some_and(|b| b["system"].is_string()))
        .unwrap();
    assert_eq!(
        judge_call.header("x-api-key"),
        Some("judge-key"),
        "the judge uses the server's key, not the agent's"
    );
}

#[tokio::test]
async fn tool_call_judge_failures_follow_the_fail_mode_and_are_never_an_allow() {
    let args = ["--anthropic-api-key", "judge-key"];
    let (closed, _f1) = with_policy(&judge_yaml("    timeout_seconds: 0.5\n"), &args).await;
    let (open, _f2) = with_policy(
        &judge_yaml("    timeout_seconds: 0.5\n    fail_mode: fail_open\n"),
        &args,
    )
    .await;
    for directive in ["judge garbage", "error 500", "stall 3000"] {
        let s = anthropic_stream(
            closed
                .anthropic(&anthropic_body(
                    "claude-sonnet-4-5",
                    &judged(directive),
                    true,
                ))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(s.tool_calls.is_empty(), "fail_closed, {directive}");
        assert!(
            s.text.contains("unavailable"),
            "fail_closed, {directive}: {}",
            s.text
        );
        let s = chat_stream(
            open.chat(&chat_body("claude-sonnet-4-5", &judged(directive), true))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(s.tool_calls.len(), 1, "fail_open, {directive}");
    }
}

#[tokio::test]
async fn while_the_judge_thinks_the_client_receives_keep_alives() {
    let (h, _f) = with_policy(
        &judge_yaml("    timeout_seconds: 2\n    fail_mode: fail_open\n"),
        &["--anthropic-api-key", "k"],
    )
    .await;
    // The judge answers after 700 ms; keep-alives are due every 100 ms.
    let resp = h
        .anthropic(&anthropic_body(
            "claude-sonnet-4-5",
            &judged("slow 700 1 0"),
            true,
        ))
        .send()
        .await
        .unwrap();
    let bytes = body_bytes(resp).await;
    let text = String::from_utf8_lossy(&bytes);
    let tool_start = text.find("\"tool_use\"").unwrap();
    let pings = text[..tool_start].matches("event: ping").count();
    assert!(
        pings >= 3,
        "expected keep-alives before the held tool call, saw {pings}:\n{text}"
    );
    protocol::validate::validate_anthropic_sse(&bytes).unwrap();
    let resp = h
        .chat(&chat_body(
            "claude-sonnet-4-5",
            &judged("slow 700 1 0"),
            true,
        ))
        .send()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&body_bytes(resp).await).into_owned();
    assert!(text.matches(": keep-alive").count() >= 3, "{text}");
}

#[tokio::test]
async fn the_predecessors_yaml_loads_unchanged() {
    for yaml in [
        "policy:\n  class: \"luthien_proxy.policies.noop_policy:NoOpPolicy\"\n  config: {}\n",
        "policy:\n  class: \"luthien_proxy.policies.all_caps_policy:AllCapsPolicy\"\n",
        "policy:\n  class: \"luthien_proxy.policies.tool_call_judge_policy:ToolCallJudgePolicy\"\n  config:\n    model: \"openai/gpt-4\"\n    api_base: \"http://localhost:4000\"\n    probability_threshold: 0.6\n    temperature: 0.0\n    max_tokens: 256\n",
        "policy:\n  class: \"luthien_proxy.policies.string_replacement_policy:StringReplacementPolicy\"\n  config:\n    replacements:\n      - [\"foo\", \"bar\"]\n    match_capitalization: true\n",
        "policy:\n  class: \"luthien_proxy.policies.multi_serial_policy:MultiSerialPolicy\"\n  config:\n    policies:\n      - class: \"luthien_proxy.policies.noop_policy:NoOpPolicy\"\n        config: {}\n      - class: \"luthien_proxy.policies.all_caps_policy:AllCapsPolicy\"\n        config: {}\n",
    ] {
        let (h, _f) = with_policy(yaml, &[]).await;
        let resp = h.anthropic(&anthropic_body("claude-sonnet-4-5", "mock:text hello", false)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{yaml}");
    }
}

#[tokio::test]
async fn three_tool_calls_with_the_middle_one_blocked_by_a_rule() {
    let yaml = "policy:\n  class: rules\n  config:\n    rules:\n      - name: no-city-1\n        reason: City1 is off limits\n        match:\n          tool: get_weather\n          input: {pointer: /city, regex: \"^City1$\"}\n        action: {type: block}\n";
    let (h, _f) = with_policy(yaml, &[]).await;
    for model in ["claude-sonnet-4-5", "gpt-4o"] {
        let s = anthropic_stream(
            h.anthropic(&anthropic_body(model, "mock:tools 3", true))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            s.tool_calls.len(),
            1,
            "{model}: nothing after the blocked call"
        );
        assert_eq!(
            s.tool_calls[0].input,
            json!({"city": "City0", "unit": "celsius"}),
            "{model}: the first call arrives intact"
        );
        assert_eq!(s.stop_reason.as_deref(), Some("tool_use"), "{model}");
        assert!(
            s.text.contains("City1 is off limits") || s.text.contains("no-city-1"),
            "{model}: {}",
            s.text
        );
        let s = chat_stream(
            h.chat(&chat_body(model, "mock:tools 3", true))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(s.tool_calls.len(), 1, "{model}");
        assert_eq!(
            s.stop_reason.as_deref(),
            Some("tool_calls"),
            "{model}: exactly one finish_reason"
        );
        let v: Value = h
            .chat(&chat_body(model, "mock:tools 3", false))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            v["choices"][0]["message"]["tool_calls"]
                .as_array()
                .unwrap()
                .len(),
            1,
            "{model}: {v}"
        );
        assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    }
}

#[tokio::test]
async fn a_policy_that_rejects_the_request_answers_in_the_clients_format_without_calling_upstream()
{
    // debug_logging never rejects; a rules text block on the response is the closest built-in, so
    // the request phase is exercised through string_replacement's request side above and here
    // through a rule that blocks text: the upstream is called, the text is replaced.
    let yaml = "policy:\n  class: rules\n  config:\n    rules:\n      - name: no-secrets\n        match: {text: \"password\"}\n        action: {type: block, message: \"withheld\"}\n";
    let (h, _f) = with_policy(yaml, &[]).await;
    let s = anthropic_stream(
        h.anthropic(&anthropic_body(
            "claude-sonnet-4-5",
            "mock:text the password is hunter2",
            true,
        ))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert!(!s.text.contains("hunter2"), "{}", s.text);
    assert!(s.text.contains("withheld"), "{}", s.text);
}

/// A Chat upstream stream whose identity differs from what the gateway would make up: its own
/// id, a dated model snapshot, `created`, `service_tier` and `system_fingerprint`.
const CHAT_IDENTITY_WIRE: &[u8] = b"data: {\"id\":\"chatcmpl-up1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-2024-08-06\",\"service_tier\":\"default\",\"system_fingerprint\":\"fp_up\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n\
data: {\"id\":\"chatcmpl-up1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-2024-08-06\",\"service_tier\":\"default\",\"system_fingerprint\":\"fp_up\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hello\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n\
data: {\"id\":\"chatcmpl-up1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-2024-08-06\",\"service_tier\":\"default\",\"system_fingerprint\":\"fp_up\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n\
data: [DONE]\n\n";

#[tokio::test]
async fn a_chat_stream_rewritten_by_a_policy_keeps_the_upstreams_chunk_identity() {
    let up = fixed_upstream(
        200,
        vec![("content-type", "text/event-stream")],
        CHAT_IDENTITY_WIRE,
    )
    .await;
    let file = tempfile_path::TempFile::new(ALL_CAPS);
    let gw = start_gateway(settings_for(&up, &["--policy-config", file.path()]), None).await;
    let bytes = body_bytes(
        gw.chat(&chat_body("gpt-4o", "hi", true))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let s = protocol::validate::validate_chat_sse(&bytes).unwrap();
    assert_eq!(s.text, "HELLO", "the policy rewrote the stream");
    let chunks: Vec<Value> = String::from_utf8_lossy(&bytes)
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert!(!chunks.is_empty());
    for c in &chunks {
        assert_eq!(c["id"], "chatcmpl-up1", "{c}");
        assert_eq!(c["model"], "gpt-4o-2024-08-06", "{c}");
        assert_eq!(c["created"], 1_700_000_000u64, "{c}");
        assert_eq!(c["service_tier"], "default", "{c}");
        assert_eq!(c["system_fingerprint"], "fp_up", "{c}");
    }
}

#[tokio::test]
async fn a_chat_answer_rewritten_by_a_policy_keeps_the_upstreams_fields() {
    const BODY: &[u8] = br#"{"id":"chatcmpl-up2","object":"chat.completion","created":1700000001,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"hello","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"accepted_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_up"}"#;
    let up = fixed_upstream(200, vec![("content-type", "application/json")], BODY).await;
    let file = tempfile_path::TempFile::new(ALL_CAPS);
    let gw = start_gateway(settings_for(&up, &["--policy-config", file.path()]), None).await;
    let got: Value = gw
        .chat(&chat_body("gpt-4o", "hi", false))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sent: Value = serde_json::from_slice(BODY).unwrap();
    assert_eq!(got["choices"][0]["message"]["content"], "HELLO", "{got}");
    for key in [
        "id",
        "object",
        "created",
        "model",
        "usage",
        "service_tier",
        "system_fingerprint",
    ] {
        assert_eq!(got[key], sent[key], "{key}: {got}");
    }
}
