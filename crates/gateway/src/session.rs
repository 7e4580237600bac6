//! Which conversation a request belongs to, and what to call it.
//!
//! Claude Code puts its session in `metadata.user_id`, either as `user_<hash>_account__session_<uuid>`
//! or (OAuth mode) as a JSON string `{"device_id":…,"session_id":…}`; it also sends
//! `x-claude-code-session-id`. Other clients may send `x-session-id`.
//!
//! Codex (OpenAI Responses) offers three candidates: the `session-id` header, the `session_id` of
//! the JSON in its `x-codex-turn-metadata` header (also copied into the body's
//! `client_metadata`), and the body's `prompt_cache_key`. The `session-id` header is used: it is
//! sent on every call of a run (turns, retries, compaction), it never changes during the run, and
//! the sub-agents a run spawns keep it (their `thread-id` is their own), so one Codex run is one
//! history session, as Claude Code's sub-agent calls are part of its session. The turn metadata
//! carries the same id inside JSON that changes every turn (turn id, sandbox, model), so it is
//! only a fallback for a call whose plain header is missing. `prompt_cache_key` is not used: it
//! is a cache-routing hint, and OpenAI SDK users may set one key for many conversations (one per
//! prompt template), which would merge unrelated sessions.

use axum::http::HeaderMap;
use serde_json::Value;

/// `metadata.user_id` values longer than this are ignored rather than parsed.
const MAX_USER_ID: usize = 8 * 1024;
/// Session ids longer than this are ignored.
const MAX_SESSION_ID: usize = 256;
/// `x-codex-turn-metadata` values longer than this are ignored rather than parsed.
const MAX_TURN_METADATA: usize = 8 * 1024;

/// The session id of a request, from its body or its headers.
pub fn session_id(body: &Value, headers: &HeaderMap) -> Option<String> {
    from_user_id(body)
        .or_else(|| {
            ["x-session-id", "x-claude-code-session-id", "session-id"]
                .iter()
                .filter_map(|h| headers.get(*h)?.to_str().ok())
                .find_map(plausible_id)
        })
        .or_else(|| {
            let header = headers.get("x-codex-turn-metadata")?.to_str().ok()?;
            from_turn_metadata(header)
        })
        .or_else(|| {
            let meta = body.get("client_metadata")?.get("x-codex-turn-metadata")?;
            match meta {
                Value::String(s) => from_turn_metadata(s),
                other => other.get("session_id")?.as_str().and_then(plausible_id),
            }
        })
}

/// A trimmed id, if it is neither empty nor too long.
fn plausible_id(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty() && s.len() <= MAX_SESSION_ID).then(|| s.to_owned())
}

/// The `session_id` of Codex's turn metadata (JSON).
fn from_turn_metadata(json: &str) -> Option<String> {
    if json.len() > MAX_TURN_METADATA {
        return None;
    }
    let parsed: Value = serde_json::from_str(json).ok()?;
    parsed.get("session_id")?.as_str().and_then(plausible_id)
}

fn from_user_id(body: &Value) -> Option<String> {
    let user_id = body.get("metadata")?.get("user_id")?.as_str()?;
    if user_id.len() > MAX_USER_ID {
        return None;
    }
    if let Some((_, tail)) = user_id.rsplit_once("_session_") {
        if !tail.is_empty() && tail.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Some(tail.to_owned());
        }
    }
    let parsed: Value = serde_json::from_str(user_id).ok()?;
    parsed
        .get("session_id")?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A title for the conversation: the text of its first user message, without the
/// `<system-reminder>` blocks agents prepend, trimmed to one line of at most 120 characters.
/// For an OpenAI Responses body: a string `input`, or the first user message of `input` that
/// says something beyond Codex's own context (developer and system messages, the AGENTS.md
/// instructions and the `<environment_context>` message are skipped).
pub fn title(body: &Value) -> Option<String> {
    let text = match body.get("messages") {
        Some(messages) => messages_title(messages)?,
        None => match body.get("input")? {
            Value::String(s) => s.clone(),
            Value::Array(items) => items.iter().find_map(responses_title)?,
            _ => return None,
        },
    };
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!line.is_empty()).then(|| line.chars().take(120).collect())
}

fn messages_title(messages: &Value) -> Option<String> {
    let first = messages
        .as_array()?
        .iter()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))?;
    let texts: Vec<String> = match first.get("content")? {
        Value::String(s) => vec![s.clone()],
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .map(str::to_owned)
            .collect(),
        _ => return None,
    };
    texts
        .iter()
        .map(|t| strip_reminders(t))
        .rfind(|t| !t.trim().is_empty())
}

/// The title text of one Responses item, if it is a user message with something to say.
fn responses_title(item: &Value) -> Option<String> {
    if item
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("message")
        != "message"
        || item.get("role").and_then(Value::as_str) != Some("user")
    {
        return None;
    }
    let texts: Vec<&str> = match item.get("content")? {
        Value::String(s) => vec![s.as_str()],
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => return None,
    };
    texts
        .into_iter()
        .filter(|t| !is_codex_context(t))
        .map(strip_reminders)
        .rfind(|t| !t.trim().is_empty())
}

/// Whether a user message's text is context Codex adds on its own rather than something the
/// person typed: the AGENTS.md instructions (`# AGENTS.md instructions for <dir>` with an
/// `<INSTRUCTIONS>` block, `<user_instructions>` in older versions), the
/// `<environment_context>` block (working directory, shell, sandbox), or the note that a turn
/// was interrupted.
pub fn is_codex_context(text: &str) -> bool {
    const PREFIXES: [&str; 5] = [
        "<environment_context>",
        "<user_instructions>",
        "# AGENTS.md instructions for ",
        "<INSTRUCTIONS>",
        "<turn_aborted>",
    ];
    let t = text.trim_start();
    PREFIXES.iter().any(|p| t.starts_with(p))
}

fn strip_reminders(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("<system-reminder>") {
        out.push_str(&rest[..start]);
        match rest[start..].find("</system-reminder>") {
            Some(end) => rest = &rest[start + end + "</system-reminder>".len()..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claude_codes_two_user_id_forms_give_the_session() {
        let a = json!({"metadata": {"user_id": "user_abc123_account__session_7f1c2d3e-aaaa-bbbb-cccc-0123456789ab"}});
        assert_eq!(
            session_id(&a, &HeaderMap::new()).as_deref(),
            Some("7f1c2d3e-aaaa-bbbb-cccc-0123456789ab")
        );
        let b = json!({"metadata": {"user_id": "{\"device_id\":\"d\",\"account_uuid\":\"\",\"session_id\":\"s-123\"}"}});
        assert_eq!(session_id(&b, &HeaderMap::new()).as_deref(), Some("s-123"));
    }

    #[test]
    fn headers_are_the_fallback_in_order() {
        let mut h = HeaderMap::new();
        h.insert("x-claude-code-session-id", "cc".parse().unwrap());
        assert_eq!(session_id(&json!({}), &h).as_deref(), Some("cc"));
        h.insert("x-session-id", "explicit".parse().unwrap());
        assert_eq!(session_id(&json!({}), &h).as_deref(), Some("explicit"));
        assert_eq!(
            session_id(
                &json!({"metadata": {"user_id": "plain"}}),
                &HeaderMap::new()
            ),
            None
        );
    }

    #[test]
    fn the_title_is_the_first_user_prompt_without_system_reminders() {
        let body = json!({"messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "<system-reminder>env stuff</system-reminder>"},
                {"type": "text", "text": "  Fix the   failing test\nin parser.rs "}]},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "later turn"}]});
        assert_eq!(
            title(&body).as_deref(),
            Some("Fix the failing test in parser.rs")
        );
    }

    fn codex_headers(session: Option<&str>, metadata: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("thread-id", "thread-1".parse().unwrap());
        if let Some(s) = session {
            h.insert("session-id", s.parse().unwrap());
        }
        if let Some(m) = metadata {
            h.insert("x-codex-turn-metadata", m.parse().unwrap());
        }
        h
    }

    #[test]
    fn codex_calls_belong_to_their_session_id_header_then_to_the_turn_metadata() {
        let body = json!({"model": "gpt-5.5", "input": [], "prompt_cache_key": "cache-key",
            "client_metadata": {"x-codex-turn-metadata": "{\"session_id\":\"from-body\",\"turn_id\":\"t2\"}"}});
        let meta = r#"{"installation_id":"i","session_id":"from-metadata","thread_id":"thread-1","turn_id":"t1"}"#;
        assert_eq!(
            session_id(&body, &codex_headers(Some("019a-session"), Some(meta))).as_deref(),
            Some("019a-session")
        );
        assert_eq!(
            session_id(&body, &codex_headers(None, Some(meta))).as_deref(),
            Some("from-metadata")
        );
        assert_eq!(
            session_id(&body, &codex_headers(None, Some("not json"))).as_deref(),
            Some("from-body")
        );
        // Neither the thread id nor the prompt cache key makes a session.
        let bare = json!({"model": "gpt-5.5", "input": "hi", "prompt_cache_key": "cache-key"});
        assert_eq!(session_id(&bare, &codex_headers(None, None)), None);
        // An explicit x-session-id still wins.
        let mut h = codex_headers(Some("019a-session"), Some(meta));
        h.insert("x-session-id", "explicit".parse().unwrap());
        assert_eq!(session_id(&body, &h).as_deref(), Some("explicit"));
        // Blank or oversized ids are ignored.
        let long = "x".repeat(300);
        assert_eq!(
            session_id(&body, &codex_headers(Some(&long), Some(meta))).as_deref(),
            Some("from-metadata")
        );
    }

    #[test]
    fn a_codex_title_skips_developer_messages_agents_md_and_the_environment_context() {
        let body = json!({"model": "gpt-5.5", "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "<permissions instructions>sandboxed</permissions instructions>"}]},
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "You are Codex."}]},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "# AGENTS.md instructions for /repo\n\n<INSTRUCTIONS>\nUse cargo.\n</INSTRUCTIONS>"},
                {"type": "input_text", "text": "<environment_context>\n  <cwd>/repo</cwd>\n</environment_context>"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "  Make the\nparser faster "}]},
            {"type": "function_call", "call_id": "c", "name": "exec_command", "arguments": "{}"},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "later turn"}]}]});
        assert_eq!(title(&body).as_deref(), Some("Make the parser faster"));
        // The short form of a message (no `type`) and a string content count too.
        let short = json!({"input": [{"role": "user", "content": "<user_instructions>x</user_instructions>"},
                                      {"role": "user", "content": "hello there"}]});
        assert_eq!(title(&short).as_deref(), Some("hello there"));
        assert_eq!(
            title(&json!({"input": "  what is   this?"})).as_deref(),
            Some("what is this?")
        );
        // Nothing but context: no title.
        let context_only = json!({"input": [{"role": "user", "content": [{"type": "input_text", "text": "<environment_context></environment_context>"}]}]});
        assert_eq!(title(&context_only), None);
        assert_eq!(title(&json!({"input": "   "})), None);
    }
}
