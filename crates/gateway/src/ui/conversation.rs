//! A recorded session as a conversation a person can read: each transaction becomes a turn
//! showing only what it added (agents resend the whole history every call), the assistant's
//! reply as delivered, and what the policy did to it: the blocked or replaced blocks as the
//! model sent them, with the policy's reason. Requests and replies in the Anthropic Messages,
//! OpenAI Chat and OpenAI Responses shapes all read the same way.

use askama::Template;
use serde_json::Value;
use store::{SessionConversation, StoreError, TransactionRecord};

use super::calendar;
use super::layout::{clip, pretty, segment};
use crate::request_view::RequestParts;

/// Text longer than this is cut on the page (the transaction page and the export have it all).
const MAX_TEXT: usize = 100 * 1024;
/// Tool results longer than this (in bytes or lines) start collapsed.
const LONG_RESULT_BYTES: usize = 1_500;
const LONG_RESULT_LINES: usize = 20;

/// One readable piece of a conversation.
pub enum Msg {
    /// Prose from the user or the assistant.
    Text {
        /// `user` or `assistant`.
        role: &'static str,
        /// The text.
        text: String,
    },
    /// A tool call with its arguments pretty-printed.
    ToolCall {
        /// Tool name.
        name: String,
        /// Arguments as indented JSON (or as sent, if they are not JSON).
        arguments: String,
    },
    /// What a tool returned.
    ToolResult {
        /// The result's text.
        text: String,
        /// Whether the tool reported an error.
        is_error: bool,
        /// Whether the result starts collapsed.
        long: bool,
        /// Its first line, for the collapsed summary.
        preview: String,
    },
    /// The model's reasoning (collapsed).
    Thinking {
        /// The reasoning text (or a note that it was redacted).
        text: String,
    },
    /// Anything else (images, server tools, unknown blocks), shown as JSON.
    Other {
        /// The block's type.
        label: String,
        /// The block as JSON.
        body: String,
    },
}

/// What a policy did to a turn.
pub struct Marker {
    /// `policy-blocked`, `policy-modified` or `policy-unavailable` (the element's class).
    pub class: &'static str,
    /// The heading, e.g. `Blocked by block_dangerous_commands`.
    pub headline: String,
    /// The policy's reason, when it gave one.
    pub rationale: String,
    /// The judge's score, formatted.
    pub score: Option<String>,
    /// The blocks as the model sent them, before the policy acted.
    pub original: Vec<Msg>,
}

/// One transaction as a turn of the conversation.
pub struct Turn {
    /// The transaction id.
    pub transaction_id: String,
    /// Link to the transaction page.
    pub href: String,
    /// When it started.
    pub time: String,
    /// The model asked for.
    pub model: String,
    /// The overall outcome (`pass`, `blocked`, …).
    pub final_decision: String,
    /// The system prompt, on the first turn and whenever it changes.
    pub system: Option<String>,
    /// What this turn added to the conversation: user text, tool results.
    pub input: Vec<Msg>,
    /// The reply as delivered.
    pub output: Vec<Msg>,
    /// What policies did.
    pub markers: Vec<Marker>,
    /// The error, when the call failed.
    pub error: Option<String>,
}

/// The `#conversation` element: the session page embeds it, and the live view re-fetches it
/// alone (`?fragment=1`) when the session changes.
#[derive(Template)]
#[template(path = "conversation.html")]
pub struct ConversationFragment {
    /// The session id (for the live view's subscription).
    pub session_id: String,
    /// The turns in order.
    pub turns: Vec<Turn>,
}

impl ConversationFragment {
    /// The conversation of a recorded session.
    pub fn of(session: &SessionConversation) -> Result<Self, StoreError> {
        let mut turns = Vec::with_capacity(session.transactions.len());
        let mut longest = 0usize;
        let mut last_system: Option<String> = None;
        for (i, t) in session.transactions.iter().enumerate() {
            let r = &t.record;
            let parts = RequestParts::of_turn(session, i)?;
            let (system, items) = request_items(&parts);
            // Every call resends the history: show only the messages beyond the longest
            // history seen so far. A shorter one (a side request, or a compacted history) shows
            // from its last user message on.
            let start = if turns.is_empty() {
                0
            } else if items.len() > longest {
                longest
            } else {
                items.iter().rposition(|e| e.role == "user").unwrap_or(0)
            };
            longest = longest.max(items.len());
            let first = turns.is_empty();
            let input = items
                .into_iter()
                .skip(start)
                // Earlier replies come back in the history; they were shown as outputs already.
                .filter(|e| first || e.role != "assistant")
                .flat_map(|e| e.render())
                .collect();
            let system = match system {
                Some(s) if last_system.as_ref() != Some(&s) => {
                    last_system = Some(s.clone());
                    Some(s)
                }
                _ => None,
            };
            turns.push(turn(r, system, input));
        }
        Ok(Self {
            session_id: session.summary.id.clone(),
            turns,
        })
    }
}

fn turn(r: &TransactionRecord, system: Option<String>, input: Vec<Msg>) -> Turn {
    let received = r.response_received.as_ref().map(response_blocks);
    let delivered = r
        .response_delivered
        .as_ref()
        .or(r.response_received.as_ref())
        .map(response_blocks)
        .unwrap_or_default();
    // Each original block goes to at most one marker.
    let mut received: Vec<Option<Msg>> =
        received.unwrap_or_default().into_iter().map(Some).collect();
    let mut markers = Vec::new();
    let mut replaced_any = false;
    for d in &r.decisions {
        let (class, verb) = match (d.verdict.as_str(), d.status.as_str()) {
            ("block", _) => ("policy-blocked", "Blocked by"),
            ("replace", _) => ("policy-modified", "Modified by"),
            (_, "unavailable") => ("policy-unavailable", "Not checked: unavailable"),
            _ => continue,
        };
        replaced_any |= class != "policy-unavailable";
        let original = d
            .block_index
            .and_then(|i| usize::try_from(i).ok())
            .filter(|_| class != "policy-unavailable")
            .and_then(|i| received.get_mut(i).and_then(Option::take))
            .into_iter()
            .collect();
        markers.push(Marker {
            class,
            headline: format!("{verb} {}", d.policy),
            rationale: d.rationale.clone().unwrap_or_default(),
            score: d.score.map(|s| format!("{s:.2}")),
            original,
        });
    }
    // A streaming transform (string replacement, upper-casing) changes text without a
    // per-block decision: show the reply as the model sent it.
    if r.final_decision == "modified" && !replaced_any {
        markers.push(Marker {
            class: "policy-modified",
            headline: format!("Modified by {}", r.policy),
            rationale: String::new(),
            score: None,
            original: received.into_iter().flatten().collect(),
        });
    }
    Turn {
        transaction_id: r.id.clone(),
        href: format!("/transactions/{}", segment(&r.id)),
        time: calendar::datetime(r.started_at_ms),
        model: r.model.clone(),
        final_decision: r.final_decision.clone(),
        system,
        input,
        output: delivered,
        markers,
        error: r.error.clone(),
    }
}

fn text(s: &str) -> String {
    let (kept, cut) = clip(s, MAX_TEXT);
    if cut {
        format!(
            "{kept}\n… ({} more bytes on the transaction page)",
            s.len() - kept.len()
        )
    } else {
        kept.to_owned()
    }
}

/// Text of a string, or of an array of text parts (Anthropic blocks, OpenAI parts).
fn joined_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .map(|p| match p["type"].as_str() {
                Some("image") | Some("image_url") | Some("input_image") => "[image]".to_owned(),
                _ => p["text"]
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| p.as_str().map(str::to_owned).unwrap_or_default()),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Null => String::new(),
        other => pretty(other),
    }
}

/// Arguments pretty-printed: a JSON value as is, a JSON string (OpenAI) parsed first.
fn arguments(v: &Value) -> String {
    match v {
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(parsed) => pretty(&parsed),
            Err(_) => s.clone(),
        },
        Value::Null => "{}".into(),
        other => pretty(other),
    }
}

fn tool_result(content: &Value, is_error: bool) -> Msg {
    let t = text(&joined_text(content));
    let long = t.len() > LONG_RESULT_BYTES || t.lines().count() > LONG_RESULT_LINES;
    let preview = clip(t.lines().next().unwrap_or_default(), 160).0.to_owned();
    Msg::ToolResult {
        text: t,
        is_error,
        long,
        preview,
    }
}

/// One content block (Anthropic block, OpenAI part or Responses item) as a message.
fn block(role: &'static str, b: &Value) -> Option<Msg> {
    if let Value::String(s) = b {
        return Some(Msg::Text {
            role,
            text: text(s),
        });
    }
    let kind = b["type"].as_str().unwrap_or_default();
    Some(match kind {
        "text" | "input_text" | "output_text" => Msg::Text {
            role,
            text: text(b["text"].as_str().unwrap_or_default()),
        },
        "refusal" => Msg::Text {
            role,
            text: text(b["refusal"].as_str().unwrap_or_default()),
        },
        "tool_use" | "server_tool_use" | "function_call" => Msg::ToolCall {
            name: b["name"].as_str().unwrap_or("tool").to_owned(),
            arguments: text(&arguments(if kind == "function_call" {
                &b["arguments"]
            } else {
                &b["input"]
            })),
        },
        // A free-form tool (Codex's `apply_patch`): its input is text, shown as it was sent.
        "custom_tool_call" => Msg::ToolCall {
            name: b["name"].as_str().unwrap_or("tool").to_owned(),
            arguments: text(&match &b["input"] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => pretty(other),
            }),
        },
        "tool_result" => tool_result(&b["content"], b["is_error"].as_bool().unwrap_or(false)),
        "function_call_output" | "custom_tool_call_output" => tool_result(&b["output"], false),
        "thinking" => {
            let t = b["thinking"].as_str().unwrap_or_default();
            if t.trim().is_empty() {
                // A reasoning stream that carried no summary: nothing to read.
                return None;
            }
            Msg::Thinking { text: text(t) }
        }
        "redacted_thinking" => Msg::Thinking {
            text: "(redacted by the provider)".into(),
        },
        "reasoning" => {
            let summary = joined_text(&b["summary"]);
            if !summary.trim().is_empty() {
                Msg::Thinking {
                    text: text(&summary),
                }
            } else if b["encrypted_content"]
                .as_str()
                .is_some_and(|e| !e.is_empty())
            {
                Msg::Thinking {
                    text: "(encrypted by the provider)".into(),
                }
            } else {
                return None;
            }
        }
        "image" | "image_url" | "input_image" => Msg::Other {
            label: "image".into(),
            body: String::new(),
        },
        "message" => return None,
        _ => Msg::Other {
            label: if kind.is_empty() { "block" } else { kind }.to_owned(),
            body: text(&pretty(b)),
        },
    })
}

fn role_of(v: &Value) -> &'static str {
    match v["role"].as_str() {
        Some("assistant") => "assistant",
        Some("tool") => "tool",
        Some("system") | Some("developer") => "system",
        _ => "user",
    }
}

/// A chat message (Anthropic or OpenAI Chat) as messages.
fn message(m: &Value) -> Vec<Msg> {
    let role = role_of(m);
    if role == "tool" {
        return vec![tool_result(&m["content"], false)];
    }
    let shown_role = if role == "assistant" {
        "assistant"
    } else {
        "user"
    };
    let mut out: Vec<Msg> = match &m["content"] {
        Value::Array(blocks) => blocks.iter().filter_map(|b| block(shown_role, b)).collect(),
        Value::Null => Vec::new(),
        other => block(shown_role, other).into_iter().collect(),
    };
    if let Some(r) = m["reasoning_content"].as_str().filter(|r| !r.is_empty()) {
        out.insert(0, Msg::Thinking { text: text(r) });
    }
    for call in m["tool_calls"].as_array().into_iter().flatten() {
        out.push(Msg::ToolCall {
            name: call["function"]["name"]
                .as_str()
                .unwrap_or("tool")
                .to_owned(),
            arguments: text(&arguments(&call["function"]["arguments"])),
        });
    }
    out
}

/// A Responses API item as (role, messages).
fn item_role(i: &Value) -> &'static str {
    if i["type"].as_str().is_none_or(|t| t == "message") {
        return role_of(i);
    }
    // What the client sends back (`function_call_output`, `custom_tool_call_output`, hosted
    // tools' outputs) is on the user's side; calls and reasoning are the model's.
    if i["type"].as_str().is_some_and(|t| t.ends_with("_output")) {
        "user"
    } else {
        "assistant"
    }
}

/// A Responses item rendered, given its role from [`item_role`].
fn item_msgs(i: &Value, role: &'static str) -> Vec<Msg> {
    if i["type"].as_str().is_none_or(|t| t == "message") {
        let shown = if role == "assistant" {
            "assistant"
        } else {
            "user"
        };
        return match &i["content"] {
            Value::Array(parts) => parts.iter().filter_map(|p| block(shown, p)).collect(),
            other => block(shown, other).into_iter().collect(),
        };
    }
    block(role, i).into_iter().collect()
}

/// The texts of a Responses user message that holds only context Codex adds on its own (the
/// AGENTS.md instructions, the environment context): it reads as part of the system prompt.
fn codex_context(i: &Value) -> Option<Vec<String>> {
    if role_of(i) != "user" || i["type"].as_str().is_some_and(|t| t != "message") {
        return None;
    }
    let texts: Vec<&str> = match &i["content"] {
        Value::String(s) => vec![s.as_str()],
        Value::Array(parts) => parts
            .iter()
            .map(|p| p["text"].as_str())
            .collect::<Option<_>>()?,
        _ => return None,
    };
    (!texts.is_empty() && texts.iter().all(|t| crate::session::is_codex_context(t)))
        .then(|| texts.into_iter().map(str::to_owned).collect())
}

/// One entry of a request's history with its role, rendered only if it is shown: every call
/// resends the whole history, and rendering all of it for every turn made a long session's page
/// quadratic in rendering.
struct Entry<'a> {
    role: &'static str,
    source: Source<'a>,
}

/// Where an [`Entry`] comes from.
enum Source<'a> {
    /// A Messages or Chat Completions message.
    Message(&'a Value),
    /// A Responses input item.
    Item(&'a Value),
    /// A Responses `input` given as a plain string.
    Text(&'a str),
}

impl Entry<'_> {
    /// The entry as the page shows it.
    fn render(&self) -> Vec<Msg> {
        match self.source {
            Source::Message(m) => message(m),
            Source::Item(i) => item_msgs(i, self.role),
            Source::Text(s) => vec![Msg::Text {
                role: "user",
                text: text(s),
            }],
        }
    }
}

/// The system prompt and the history of a request.
fn request_items<'a>(req: &RequestParts<'a>) -> (Option<String>, Vec<Entry<'a>>) {
    let mut system: Vec<String> = Vec::new();
    let anthropic_system = req.system.map(joined_text).unwrap_or_default();
    if !anthropic_system.is_empty() {
        system.push(anthropic_system);
    }
    if let Some(i) = req
        .instructions
        .and_then(Value::as_str)
        .filter(|i| !i.is_empty())
    {
        system.push(i.to_owned());
    }
    let mut items = Vec::new();
    if req.messages {
        for &m in &req.history {
            match role_of(m) {
                "system" => system.push(joined_text(&m["content"])),
                // A tool message answers the assistant's call: it belongs with the user's side.
                "tool" => items.push(Entry {
                    role: "user",
                    source: Source::Message(m),
                }),
                role => items.push(Entry {
                    role,
                    source: Source::Message(m),
                }),
            }
        }
    } else if let Some(s) = req.input_text {
        items.push(Entry {
            role: "user",
            source: Source::Text(s),
        });
    } else {
        for &i in &req.history {
            if let Some(context) = codex_context(i) {
                system.extend(context);
                continue;
            }
            let role = item_role(i);
            if role == "system" {
                system.extend(item_msgs(i, role).into_iter().filter_map(|m| match m {
                    Msg::Text { text, .. } => Some(text),
                    _ => None,
                }));
            } else {
                items.push(Entry {
                    role,
                    source: Source::Item(i),
                });
            }
        }
    }
    let system = (!system.is_empty()).then(|| text(&system.join("\n\n")));
    (system, items)
}

/// The blocks of a response in any of the three shapes, in the order the model produced them.
pub fn response_blocks(resp: &Value) -> Vec<Msg> {
    if let Some(content) = resp["content"].as_array() {
        return content
            .iter()
            .filter_map(|b| block("assistant", b))
            .collect();
    }
    if let Some(message) = resp["choices"][0].get("message") {
        return self::message(message);
    }
    if let Some(output) = resp["output"].as_array() {
        return output
            .iter()
            .flat_map(|i| item_msgs(i, item_role(i)))
            .collect();
    }
    if resp.get("error").is_some() {
        return vec![Msg::Other {
            label: "error".into(),
            body: text(&pretty(resp)),
        }];
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn texts(msgs: &[Msg]) -> Vec<String> {
        msgs.iter()
            .map(|m| match m {
                Msg::Text { role, text } => format!("{role}: {text}"),
                Msg::ToolCall { name, arguments } => format!("call {name} {arguments}"),
                Msg::ToolResult { text, .. } => format!("result {text}"),
                Msg::Thinking { text } => format!("thinking {text}"),
                Msg::Other { label, .. } => format!("other {label}"),
            })
            .collect()
    }

    #[test]
    fn anthropic_blocks_become_text_tool_calls_results_and_thinking() {
        let resp = json!({"content": [
            {"type": "thinking", "thinking": "hmm", "signature": "s"},
            {"type": "text", "text": "Running it"},
            {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "ls"}}
        ]});
        let t = texts(&response_blocks(&resp));
        assert_eq!(t[0], "thinking hmm");
        assert_eq!(t[1], "assistant: Running it");
        assert!(
            t[2].starts_with("call Bash {\n  \"command\": \"ls\""),
            "{}",
            t[2]
        );
    }

    #[test]
    fn openai_chat_tool_calls_have_their_string_arguments_pretty_printed() {
        let resp = json!({"choices": [{"message": {"role": "assistant", "content": null,
            "tool_calls": [{"id": "c", "type": "function",
              "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}}]});
        let t = texts(&response_blocks(&resp));
        assert_eq!(t, vec!["call get_weather {\n  \"city\": \"Paris\"\n}"]);
    }

    #[test]
    fn a_request_splits_into_system_prompt_and_history_with_tool_results_on_the_user_side() {
        let req = json!({"system": "be brief", "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [{"type": "tool_use", "name": "Bash", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "ok"}]}
        ]});
        let (system, items) = request_items(&RequestParts::of_body(&req));
        assert_eq!(system.as_deref(), Some("be brief"));
        assert_eq!(items.len(), 3);
        assert_eq!(items[2].role, "user");
        assert_eq!(texts(&items[2].render()), vec!["result ok"]);
    }

    #[test]
    fn a_codex_request_puts_its_context_with_the_system_prompt_and_keeps_patches_as_text() {
        let patch = "*** Begin Patch\n*** Add File: a.json\n+{\"a\": 1}\n*** End Patch";
        let req = json!({"input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "rules"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<environment_context>cwd</environment_context>"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "add a.json"}]},
            {"type": "reasoning", "summary": [], "encrypted_content": "gAAA"},
            {"type": "reasoning", "summary": []},
            {"type": "function_call", "call_id": "c", "name": "exec_command", "arguments": "{\"cmd\":\"ls\"}"},
            {"type": "function_call_output", "call_id": "c", "output": "a.rs"},
            {"type": "custom_tool_call", "call_id": "p", "name": "apply_patch", "input": patch},
            {"type": "custom_tool_call_output", "call_id": "p", "output": "Success."}
        ]});
        let (system, items) = request_items(&RequestParts::of_body(&req));
        assert_eq!(
            system.as_deref(),
            Some("rules\n\n<environment_context>cwd</environment_context>")
        );
        let roles: Vec<&str> = items.iter().map(|e| e.role).collect();
        assert_eq!(
            roles,
            [
                "user",
                "assistant",
                "assistant",
                "assistant",
                "user",
                "assistant",
                "user"
            ]
        );
        let all: Vec<String> = items.iter().flat_map(|e| texts(&e.render())).collect();
        assert_eq!(
            all,
            vec![
                "user: add a.json".to_owned(),
                "thinking (encrypted by the provider)".into(),
                "call exec_command {\n  \"cmd\": \"ls\"\n}".into(),
                "result a.rs".into(),
                format!("call apply_patch {patch}"),
                "result Success.".into(),
            ]
        );
    }
}
