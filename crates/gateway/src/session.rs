//! Which conversation a request belongs to, and what to call it.
//!
//! Claude Code puts its session in `metadata.user_id`, either as `user_<hash>_account__session_<uuid>`
//! or (OAuth mode) as a JSON string `{"device_id":…,"session_id":…}`; it also sends
//! `x-claude-code-session-id`. Other clients may send `x-session-id`; Codex sends `session-id`.

use axum::http::HeaderMap;
use serde_json::Value;

/// `metadata.user_id` values longer than this are ignored rather than parsed.
const MAX_USER_ID: usize = 8 * 1024;

/// The session id of a request, from its body or its headers.
pub fn session_id(body: &Value, headers: &HeaderMap) -> Option<String> {
    from_user_id(body).or_else(|| {
        ["x-session-id", "x-claude-code-session-id", "session-id"]
            .iter()
            .filter_map(|h| headers.get(*h)?.to_str().ok())
            .map(str::trim)
            .find(|s| !s.is_empty() && s.len() <= 256)
            .map(str::to_owned)
    })
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
pub fn title(body: &Value) -> Option<String> {
    let first = body
        .get("messages")?
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
    let text = texts
        .iter()
        .map(|t| strip_reminders(t))
        .rfind(|t| !t.trim().is_empty())?;
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    Some(line.chars().take(120).collect())
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
}
