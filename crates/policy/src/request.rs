//! The request as a policy sees it: the client's JSON body in the client's own API format,
//! with accessors that work across both formats.

use protocol::errors::ApiFormat;
use serde_json::Value;

/// A request under policy. Changes made through the mutating accessors are sent upstream.
/// The original is copied only when a policy first changes something, so the common case
/// (nothing changed) never clones a body that may be megabytes long.
#[derive(Debug, Clone)]
pub struct PolicyRequest {
    format: ApiFormat,
    body: Value,
    original: Option<Value>,
}

impl PolicyRequest {
    /// Wraps a client body of `format`.
    pub fn new(format: ApiFormat, body: Value) -> Self {
        Self {
            format,
            body,
            original: None,
        }
    }

    /// The client's API.
    pub fn format(&self) -> ApiFormat {
        self.format
    }

    /// The body.
    pub fn body(&self) -> &Value {
        &self.body
    }

    /// The body for arbitrary changes (marks the request modified).
    pub fn body_mut(&mut self) -> &mut Value {
        if self.original.is_none() {
            self.original = Some(self.body.clone());
        }
        &mut self.body
    }

    /// True when a policy changed the request.
    pub fn is_modified(&self) -> bool {
        self.original.is_some()
    }

    /// The body, to send upstream.
    pub fn into_body(self) -> Value {
        self.body
    }

    /// The body to send upstream and, when a policy changed it, the body as received.
    pub fn into_parts(self) -> (Value, Option<Value>) {
        (self.body, self.original)
    }

    /// Calls `f` on every text of the conversation: message string contents, text blocks or
    /// parts, and tool results' text. System prompts, tool calls, images and thinking are not
    /// visited. The request counts as modified only if some text actually changed.
    pub fn for_each_text(&mut self, mut f: impl FnMut(&mut String)) {
        // First find what would change without touching the body, so an unchanged request
        // is never copied.
        let mut changes: Vec<(Vec<PathStep>, String)> = Vec::new();
        if let Some(messages) = self.body.get("messages").and_then(Value::as_array) {
            for (i, message) in messages.iter().enumerate() {
                let mut path = vec![
                    PathStep::Key("messages"),
                    PathStep::Index(i),
                    PathStep::Key("content"),
                ];
                collect_changes(message.get("content"), &mut path, &mut f, &mut changes);
            }
        }
        if changes.is_empty() {
            return;
        }
        let body = self.body_mut();
        for (path, new) in changes {
            if let Some(Value::String(s)) = walk_mut(body, &path) {
                *s = new;
            }
        }
    }

    /// The text of the last user message (text blocks joined with newlines).
    pub fn last_user_text(&self) -> String {
        let Some(messages) = self.body.get("messages").and_then(Value::as_array) else {
            return String::new();
        };
        let Some(last) = messages
            .iter()
            .rev()
            .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        else {
            return String::new();
        };
        let mut out = Vec::new();
        collect_text(last.get("content"), &mut out);
        out.join("\n")
    }
}

/// One step of a path into the body.
#[derive(Debug, Clone, Copy)]
enum PathStep {
    Key(&'static str),
    Index(usize),
}

fn walk_mut<'a>(mut v: &'a mut Value, path: &[PathStep]) -> Option<&'a mut Value> {
    for step in path {
        v = match step {
            PathStep::Key(k) => v.get_mut(*k)?,
            PathStep::Index(i) => v.get_mut(*i)?,
        };
    }
    Some(v)
}

/// Records, for each text under `content`, what `f` would make of it when that differs.
fn collect_changes(
    content: Option<&Value>,
    path: &mut Vec<PathStep>,
    f: &mut dyn FnMut(&mut String),
    changes: &mut Vec<(Vec<PathStep>, String)>,
) {
    match content {
        Some(Value::String(s)) => {
            let mut t = s.clone();
            f(&mut t);
            if &t != s {
                changes.push((path.clone(), t));
            }
        }
        Some(Value::Array(parts)) => {
            for (i, part) in parts.iter().enumerate() {
                let key = match part.get("type").and_then(Value::as_str) {
                    Some("text") => "text",
                    Some("tool_result") => "content",
                    _ => continue,
                };
                path.push(PathStep::Index(i));
                path.push(PathStep::Key(key));
                collect_changes(part.get(key), path, f, changes);
                path.pop();
                path.pop();
            }
        }
        _ => {}
    }
}

fn collect_text(content: Option<&Value>, out: &mut Vec<String>) {
    match content {
        Some(Value::String(s)) => out.push(s.clone()),
        Some(Value::Array(parts)) => {
            for part in parts {
                match part.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        if let Some(s) = part.get("text").and_then(Value::as_str) {
                            out.push(s.to_owned());
                        }
                    }
                    Some("tool_result") => collect_text(part.get("content"), out),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn for_each_text_visits_strings_blocks_and_tool_results_but_not_tool_calls() {
        let mut req = PolicyRequest::new(
            ApiFormat::Anthropic,
            json!({"system": "sys pip", "messages": [
                {"role": "user", "content": "pip one"},
                {"role": "assistant", "content": [{"type": "text", "text": "pip two"},
                    {"type": "tool_use", "id": "t", "name": "Bash", "input": {"command": "pip x"}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "pip three"}]}
            ]}),
        );
        req.for_each_text(|s| *s = s.replace("pip", "uv"));
        assert!(req.is_modified());
        let b = req.body();
        assert_eq!(b["system"], "sys pip");
        assert_eq!(b["messages"][0]["content"], "uv one");
        assert_eq!(b["messages"][1]["content"][0]["text"], "uv two");
        assert_eq!(b["messages"][1]["content"][1]["input"]["command"], "pip x");
        assert_eq!(b["messages"][2]["content"][0]["content"], "uv three");
    }

    #[test]
    fn the_original_is_kept_only_when_something_changed() {
        let body = json!({"messages": [{"role": "user", "content": "pip it"}]});
        let mut req = PolicyRequest::new(ApiFormat::Anthropic, body.clone());
        req.for_each_text(|s| *s = s.replace("pip", "uv"));
        let (sent, original) = req.into_parts();
        assert_eq!(original, Some(body.clone()));
        assert_eq!(sent["messages"][0]["content"], "uv it");
        let req = PolicyRequest::new(ApiFormat::Anthropic, body);
        assert_eq!(req.into_parts().1, None);
    }

    #[test]
    fn a_visit_that_changes_nothing_leaves_the_request_unmodified() {
        let mut req = PolicyRequest::new(
            ApiFormat::OpenAiChat,
            json!({"messages": [{"role": "user", "content": "hi"}]}),
        );
        req.for_each_text(|_| {});
        assert!(!req.is_modified());
        assert_eq!(req.last_user_text(), "hi");
    }
}
