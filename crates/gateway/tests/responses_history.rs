//! OpenAI Responses (Codex) transactions read as a conversation like the rest: the history API,
//! the session page and the Markdown export show the user's prompt, the `exec_command` call with
//! its command, the `apply_patch` patch as text, the tool outputs and the reasoning, each turn
//! showing only what it added, with model and user content escaped on the page.
//!
//! The records are written straight into the gateway's store in the shape `recording.rs` gives
//! them: the client's Responses body as received, an assembled (Anthropic-shaped) message for a
//! stream, the upstream's response object for a non-streamed call.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};
use store::{TransactionRecord, Usage};

const SESSION: &str = "019a0c2e-codex-session";
const PROMPT: &str = "Make the parser <faster> & safer";
const CMD: &str = "grep -rn \"<b>TODO</b>\" src/";
const OUTPUT: &str = "src/a.rs:1: // <b>TODO</b>";
const PATCH: &str =
    "*** Begin Patch\n*** Update File: src/a.rs\n-// <b>TODO</b>\n+// done & dusted\n*** End Patch\n";

fn message(role: &str, text: &str) -> Value {
    let part = if role == "assistant" {
        "output_text"
    } else {
        "input_text"
    };
    json!({"type": "message", "role": role, "content": [{"type": part, "text": text}]})
}

fn record(at_ms: i64, input: &[Value], response: Value, stream: bool) -> TransactionRecord {
    let body = json!({"model": "gpt-5.5", "input": input,
        "tools": [{"type": "function", "name": "exec_command"}, {"type": "custom", "name": "apply_patch"}],
        "tool_choice": "auto", "parallel_tool_calls": true, "reasoning": {"effort": "medium"},
        "store": false, "stream": stream, "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": SESSION});
    TransactionRecord {
        id: uuid::Uuid::now_v7().to_string(),
        session_id: Some(SESSION.into()),
        client_api: "openai_responses".into(),
        provider: "openai".into(),
        model: "gpt-5.5".into(),
        status: 200,
        error: None,
        stream,
        started_at_ms: at_ms,
        ttft_ms: Some(80.0),
        total_ms: 400.0,
        overhead_ms: 0.5,
        usage: Usage::default(),
        policy: "noop".into(),
        final_decision: "pass".into(),
        title_hint: luthien_gateway::session::title(&body),
        request_received: body,
        request_sent: None,
        response_received: Some(response.clone()),
        response_delivered: Some(response),
        raw_events: None,
        decisions: Vec::new(),
    }
}

/// Three Codex turns: the prompt answered with a shell call (streamed), its output answered
/// with a patch (streamed), the patch's result answered with text (a response object).
async fn codex_session() -> Gateway {
    let gw = start_gateway(settings_for("http://127.0.0.1:9", &[]), None).await;
    let mut input = vec![
        message(
            "developer",
            "<permissions instructions>workspace-write</permissions instructions>",
        ),
        message("developer", "You are Codex, a coding agent."),
        json!({"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "# AGENTS.md instructions for /repo\n\n<INSTRUCTIONS>\nRun cargo fmt.\n</INSTRUCTIONS>"},
            {"type": "input_text", "text": "<environment_context>\n  <cwd>/repo</cwd>\n</environment_context>"}]}),
        message("user", PROMPT),
    ];
    let first = record(
        1_000,
        &input,
        json!({"id": "resp_1", "type": "message", "role": "assistant", "model": "gpt-5.5", "content": [
            {"type": "thinking", "thinking": "", "signature": ""},
            {"type": "tool_use", "id": "call_1", "name": "exec_command", "input": {"cmd": CMD}}],
            "stop_reason": "tool_use"}),
        true,
    );
    input.push(
        json!({"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAAB"}),
    );
    input.push(
        json!({"type": "function_call", "call_id": "call_1", "name": "exec_command",
                      "arguments": json!({"cmd": CMD}).to_string()}),
    );
    input.push(json!({"type": "function_call_output", "call_id": "call_1", "output": OUTPUT}));
    let second = record(
        2_000,
        &input,
        json!({"id": "resp_2", "type": "message", "role": "assistant", "model": "gpt-5.5", "content": [
            {"type": "custom_tool_call", "id": "call_2", "name": "apply_patch", "input": PATCH}],
            "stop_reason": "tool_use"}),
        true,
    );
    input.push(json!({"type": "custom_tool_call", "call_id": "call_2", "name": "apply_patch", "input": PATCH}));
    input.push(
        json!({"type": "custom_tool_call_output", "call_id": "call_2",
                      "output": "Success. Updated the following files:\nM src/a.rs"}),
    );
    let third = record(
        3_000,
        &input,
        json!({"id": "resp_3", "object": "response", "status": "completed", "output": [
            {"type": "reasoning", "id": "rs_3", "summary": [{"type": "summary_text", "text": "Checking the patch applied"}]},
            {"type": "message", "id": "msg_3", "role": "assistant", "status": "completed",
             "content": [{"type": "output_text", "text": "Patched <a.rs>.", "annotations": []}]}],
            "usage": {"input_tokens": 900, "output_tokens": 12, "total_tokens": 912}}),
        false,
    );
    gw.app
        .store
        .insert_batch(&[first, second, third])
        .await
        .unwrap();
    gw
}

async fn get(gw: &Gateway, path: &str) -> reqwest::Response {
    let resp = gw
        .http
        .get(format!("{}{path}", gw.url))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{path}");
    resp
}

/// HTML with askama's numeric character references spelled as the named ones.
fn named_entities(html: &str) -> String {
    html.replace("&#60;", "&lt;")
        .replace("&#62;", "&gt;")
        .replace("&#34;", "&quot;")
        .replace("&#39;", "&#x27;")
        .replace("&#38;", "&amp;")
}

/// The same text as it must appear in HTML.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[tokio::test]
async fn a_codex_session_reads_as_a_conversation_in_the_history_api() {
    let gw = codex_session().await;
    let v: Value = get(&gw, &format!("/api/history/sessions/{SESSION}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["session"]["title"], PROMPT, "{v}");
    let conv = v["conversation"].as_array().unwrap();
    let roles: Vec<&str> = conv.iter().map(|e| e["role"].as_str().unwrap()).collect();
    assert_eq!(
        roles,
        [
            "user",
            "assistant",
            "user",
            "assistant",
            "user",
            "assistant"
        ],
        "{v}"
    );
    // Turn 1: only the prompt (no developer messages, no AGENTS.md or environment context).
    assert_eq!(
        conv[0]["content"],
        json!([{"type": "text", "text": PROMPT}])
    );
    assert_eq!(conv[1]["content"][1]["name"], "exec_command");
    assert_eq!(conv[1]["content"][1]["input"]["cmd"], CMD);
    // Turn 2: only what it added, the command's output (the resent call and reasoning are not
    // repeated); the reply is the patch as text.
    assert_eq!(
        conv[2]["content"],
        json!([{"type": "tool_result", "tool_use_id": "call_1", "content": OUTPUT}])
    );
    assert_eq!(
        conv[3]["content"],
        json!([{"type": "custom_tool_call", "id": "call_2", "name": "apply_patch", "input": PATCH}])
    );
    // Turn 3: the patch's result; the response object's output becomes blocks too.
    assert_eq!(conv[4]["content"][0]["type"], "tool_result");
    assert_eq!(conv[4]["content"][0]["tool_use_id"], "call_2");
    assert_eq!(
        conv[5]["content"],
        json!([{"type": "thinking", "thinking": "Checking the patch applied"},
               {"type": "text", "text": "Patched <a.rs>."}])
    );
    assert_eq!(conv[5]["model"], "gpt-5.5");
    // The session is found by a word only in the patch and one only in the command.
    for word in ["dusted", "TODO"] {
        let page: Value = get(&gw, &format!("/api/history/sessions?q={word}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(page["items"][0]["id"], SESSION, "{word}: {page}");
    }
}

#[tokio::test]
async fn the_session_page_shows_a_codex_session_escaped_with_each_turns_new_part_only() {
    let gw = codex_session().await;
    let raw = get(&gw, &format!("/history/{SESSION}"))
        .await
        .text()
        .await
        .unwrap();
    let body = named_entities(&raw);
    for unescaped in ["<b>TODO", "<faster>", "<a.rs>"] {
        assert!(!body.contains(unescaped), "raw {unescaped:?} in:\n{body}");
    }
    let turns: Vec<&str> = body.split("<article class=\"turn ").skip(1).collect();
    assert_eq!(turns.len(), 3, "{body}");
    // Turn 1: the prompt as user text; Codex's context sits in the collapsed system prompt.
    assert!(
        turns[0].contains(&format!(
            "<div class=\"msg msg-user\"><div class=\"msg-role\">user</div><div class=\"msg-body\">{}</div></div>",
            escaped(PROMPT)
        )),
        "{}",
        turns[0]
    );
    assert_eq!(turns[0].matches("class=\"msg msg-user\"").count(), 1);
    let system = turns[0]
        .split("<details class=\"msg msg-system\">")
        .nth(1)
        .unwrap();
    assert!(system.contains("&lt;environment_context&gt;"), "{system}");
    assert!(system.contains("You are Codex, a coding agent."));
    // The shell call with its pretty-printed command.
    assert!(turns[0].contains("tool call <code class=\"tool-name\">exec_command</code>"));
    assert!(
        turns[0].contains(&format!(
            "{{\n  &quot;cmd&quot;: {}\n}}",
            escaped(&json!(CMD).to_string())
        )),
        "{}",
        turns[0]
    );
    // Turn 2: the command's output, then the patch as preformatted text; the call is not repeated.
    assert!(!turns[1].contains("exec_command"), "{}", turns[1]);
    assert!(turns[1].contains(&format!(
        "<div class=\"msg-role\">tool result</div><pre class=\"code\">{}</pre>",
        escaped(OUTPUT)
    )));
    assert!(
        turns[1].contains(&format!(
            "tool call <code class=\"tool-name\">apply_patch</code></div><pre class=\"code\">{}</pre>",
            escaped(PATCH)
        )),
        "{}",
        turns[1]
    );
    // Turn 3: the patch's result, the reasoning collapsed, the reply.
    assert!(!turns[2].contains("apply_patch"), "{}", turns[2]);
    assert!(turns[2].contains("Success. Updated the following files:\nM src/a.rs"));
    assert!(turns[2].contains(
        "<details class=\"msg msg-thinking\"><summary class=\"msg-role\">thinking</summary><div class=\"msg-body\">Checking the patch applied</div></details>"
    ));
    assert!(turns[2].contains("Patched &lt;a.rs&gt;."));
    // The prompt is shown once in the conversation, not once per turn; it titles the page.
    let conversation = body.split("id=\"conversation\"").nth(1).unwrap();
    assert_eq!(conversation.matches(&escaped(PROMPT)).count(), 1);
    assert!(body.contains(&format!(
        "<h1 class=\"session-heading\">{}</h1>",
        escaped(PROMPT)
    )));
}

#[tokio::test]
async fn a_codex_session_exports_as_markdown_with_calls_patches_and_outputs() {
    let gw = codex_session().await;
    let md = get(
        &gw,
        &format!("/api/history/sessions/{SESSION}/export?format=markdown"),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(md.starts_with(&format!("# {PROMPT}\n")), "{md}");
    assert_eq!(md.matches(PROMPT).count(), 2, "title and turn 1: {md}");
    assert!(md.contains("**Tool call `exec_command`**\n\n```json\n{\n  \"cmd\": "));
    assert!(md.contains(&format!("**Tool result**\n\n```\n{OUTPUT}\n```")));
    assert!(md.contains(&format!("**Tool call `apply_patch`**\n\n```\n{PATCH}```")));
    assert!(md.contains("<summary>Thinking</summary>\n\nChecking the patch applied"));
    assert!(md.contains("Patched <a.rs>."));
    assert!(!md.contains("environment_context"), "{md}");
}
