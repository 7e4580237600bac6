//! `debug_logging`: logs each phase of a transaction, with secrets redacted.

use async_trait::async_trait;
use regex::Regex;
use serde_json::Value;

use crate::error::PolicyError;
use crate::policy::{
    Block, BlockKind, Decision, DecisionContext, Need, Policy, RequestVerdict, ToolInputFormat,
};
use crate::request::PolicyRequest;

/// Logs the request and every finished block at `info`; changes nothing.
#[derive(Debug, Clone)]
pub struct DebugLoggingPolicy {
    secret_values: Regex,
}

/// Keys whose values are always secrets.
const SECRET_KEYS: &[&str] = &[
    "api_key",
    "apikey",
    "authorization",
    "x-api-key",
    "password",
    "token",
    "cookie",
    "secret",
];

impl DebugLoggingPolicy {
    /// A logger with the built-in secret patterns.
    pub fn new() -> Result<Self, PolicyError> {
        // Provider keys and bearer tokens that may appear inside free text.
        let secret_values = Regex::new(r"(sk-ant-[A-Za-z0-9_\-]{8,}|sk-[A-Za-z0-9_\-]{16,}|Bearer\s+[A-Za-z0-9._\-]{8,}|AKIA[0-9A-Z]{16}|ghp_[A-Za-z0-9]{20,})")
            .map_err(|e| PolicyError::Config { field: "secret pattern".into(), message: e.to_string(), line: None })?;
        Ok(Self { secret_values })
    }

    /// `value` with secret keys' values and secret-looking strings replaced by `[REDACTED]`.
    pub fn redact(&self, value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let lower = k.to_ascii_lowercase();
                        if SECRET_KEYS.iter().any(|s| lower.contains(s))
                            && !v.is_object()
                            && !v.is_array()
                        {
                            (k.clone(), Value::String("[REDACTED]".into()))
                        } else {
                            (k.clone(), self.redact(v))
                        }
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.redact(v)).collect()),
            Value::String(s) => {
                Value::String(self.secret_values.replace_all(s, "[REDACTED]").into_owned())
            }
            other => other.clone(),
        }
    }
}

#[async_trait]
impl Policy for DebugLoggingPolicy {
    fn name(&self) -> String {
        "debug_logging".into()
    }

    async fn on_request(&self, req: &mut PolicyRequest) -> Result<RequestVerdict, PolicyError> {
        tracing::info!(phase = "request", format = ?req.format(), body = %self.redact(req.body()), "debug_logging");
        Ok(RequestVerdict::Pass)
    }

    fn need(&self, kind: BlockKind) -> Need {
        match kind {
            BlockKind::Other => Need::Forward,
            _ => Need::Hold,
        }
    }

    async fn decide(&self, ctx: &DecisionContext, block: &Block) -> Result<Decision, PolicyError> {
        let shown = match block {
            Block::Text { text } => serde_json::json!({"type": "text", "text": text}),
            Block::Thinking { thinking, .. } => {
                serde_json::json!({"type": "thinking", "thinking": thinking})
            }
            Block::RedactedThinking { .. } => serde_json::json!({"type": "redacted_thinking"}),
            Block::ToolUse {
                id,
                name,
                input,
                format: ToolInputFormat::Json,
            } => {
                serde_json::json!({"type": "tool_use", "id": id, "name": name, "input": input})
            }
            Block::ToolUse {
                id,
                name,
                input,
                format: ToolInputFormat::Freeform,
            } => {
                serde_json::json!({"type": "custom_tool_use", "id": id, "name": name, "input": input})
            }
            Block::Other(v) => v.clone(),
        };
        tracing::info!(phase = "block", transaction_id = %ctx.transaction_id, block = %self.redact(&shown), "debug_logging");
        Ok(Decision::pass())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_redacted_by_key_and_by_shape() {
        let p = DebugLoggingPolicy::new().unwrap();
        let v = p.redact(&json!({"api_key": "abc", "nested": {"Authorization": "Bearer xyz"},
            "messages": [{"content": "my key is sk-ant-api03-abcdefghijkl and AKIAABCDEFGHIJKLMNOP"}], "model": "m"}));
        let s = v.to_string();
        assert!(
            !s.contains("abc\"")
                && !s.contains("xyz")
                && !s.contains("sk-ant-api03")
                && !s.contains("AKIAAB"),
            "{s}"
        );
        assert_eq!(v["model"], "m");
    }
}
