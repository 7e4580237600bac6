//! LLM judges: policies that hold a block, ask a model for a verdict and apply it.
//!
//! - [`tool_call::ToolCallJudgePolicy`] scores each tool call's probability of harm and blocks
//!   at a threshold.
//! - [`llm::LlmJudgePolicy`] applies plain-English instructions to text and tool calls: pass,
//!   replace, or block.
//!
//! Both talk to models only through [`client::JudgeClient`]. This module owns what they share:
//! config parsing that names the offending field, finding the JSON object in a model's reply,
//! retries, template rendering and truncation. A judge that cannot get a usable reply returns
//! [`PolicyError::Unavailable`]; the executor then applies the policy's fail mode, so a broken
//! judge never silently allows.

pub mod client;
pub mod llm;
pub mod tool_call;

pub use client::{JudgeCall, JudgeClient};
pub use llm::{JudgedKind, LlmJudgeConfig, LlmJudgePolicy, OnError};
pub use tool_call::{ToolCallJudgeConfig, ToolCallJudgePolicy};

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::PolicyError;

/// A config error on `field` (no line: judges are configured from an already-parsed value).
pub(crate) fn config_error(field: impl Into<String>, message: impl Into<String>) -> PolicyError {
    PolicyError::Config {
        field: field.into(),
        message: message.into(),
        line: None,
    }
}

/// Deserializes a judge's config (`null` means all defaults), naming the offending field in
/// errors. `refused` lists predecessor keys this version refuses, each with the reason, because
/// "unknown field" would not tell an operator what to do instead.
pub(crate) fn parse_config<T: DeserializeOwned>(
    value: &Value,
    refused: &[(&str, &str)],
) -> Result<T, PolicyError> {
    let empty = Value::Object(Map::new());
    let value = if value.is_null() { &empty } else { value };
    let Some(map) = value.as_object() else {
        return Err(config_error(
            "config",
            format!("expected a mapping of settings, found {}", json_kind(value)),
        ));
    };
    for (key, reason) in refused {
        if map.contains_key(*key) {
            return Err(config_error(*key, *reason));
        }
    }
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        // Unknown and missing fields fail at the mapping itself (path "."); serde names the key
        // in backticks, which is the field the operator must fix.
        let field = if path == "." || path.is_empty() || path == "?" {
            first_backticked(&message).unwrap_or_else(|| "config".to_owned())
        } else {
            path
        };
        config_error(field, message)
    })
}

/// The first `` `name` `` in a serde message.
fn first_backticked(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_owned())
}

/// "a string", "a list", … for error messages.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// The settings every judge has, validated together so both judges give the same errors.
pub(crate) struct CallSettings {
    /// How long one decision may take (the policy's deadline).
    pub deadline: Duration,
    /// Retries after a failed call or an unusable reply.
    pub max_retries: u32,
    /// Pause between attempts.
    pub retry_delay: Duration,
}

/// Validates the model/sampling/timing settings shared by the judges.
pub(crate) fn validate_call_settings(
    model: &str,
    temperature: f64,
    max_tokens: u32,
    timeout_seconds: f64,
    max_retries: u32,
    retry_delay: f64,
) -> Result<CallSettings, PolicyError> {
    if model.trim().is_empty() {
        return Err(config_error("model", "must name a model"));
    }
    if !(0.0..=2.0).contains(&temperature) {
        return Err(config_error(
            "temperature",
            format!("must be between 0 and 2, got {temperature}"),
        ));
    }
    if max_tokens == 0 {
        return Err(config_error("max_tokens", "must be at least 1"));
    }
    // An hour is far beyond any useful judge call; the bound also keeps Duration conversion total.
    if !(timeout_seconds > 0.0 && timeout_seconds <= 3600.0) {
        return Err(config_error(
            "timeout_seconds",
            format!("must be more than 0 and at most 3600, got {timeout_seconds}"),
        ));
    }
    if max_retries > 10 {
        return Err(config_error(
            "max_retries",
            format!("must be between 0 and 10, got {max_retries}"),
        ));
    }
    if !(0.0..=30.0).contains(&retry_delay) {
        return Err(config_error(
            "retry_delay",
            format!("must be between 0 and 30 seconds, got {retry_delay}"),
        ));
    }
    Ok(CallSettings {
        deadline: Duration::from_secs_f64(timeout_seconds),
        max_retries,
        retry_delay: Duration::from_secs_f64(retry_delay),
    })
}

/// Calls the judge model and parses its reply, retrying failed calls and unusable replies up
/// to `max_retries` times. The executor's deadline bounds the whole loop, so retries never
/// make a decision later than configured. Returns the parsed reply and the exchange for the
/// audit trail.
pub(crate) async fn ask<T>(
    client: &dyn JudgeClient,
    call: &JudgeCall,
    settings: &CallSettings,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<(T, crate::policy::JudgeExchange), PolicyError> {
    let mut attempt: u32 = 0;
    loop {
        let outcome = match client.complete(call.clone()).await {
            Ok(reply) => parse(&reply)
                .map(|v| (v, exchange(call, &reply)))
                .map_err(|why| {
                    PolicyError::Unavailable(format!(
                        "judge model {} gave an unusable reply: {why}",
                        call.model
                    ))
                }),
            Err(PolicyError::Unavailable(why)) => Err(PolicyError::Unavailable(format!(
                "judge model {} could not be reached: {why}",
                call.model
            ))),
            Err(other) => Err(PolicyError::Unavailable(format!(
                "judge model {} could not be reached: {other}",
                call.model
            ))),
        };
        match outcome {
            Ok(value) => return Ok(value),
            Err(err) if attempt < settings.max_retries => {
                attempt += 1;
                tracing::warn!(model = %call.model, attempt, error = %err, "judge call failed; retrying");
                tokio::time::sleep(settings.retry_delay).await;
            }
            Err(err) => return Err(err),
        }
    }
}

/// The audit record of one judge call.
fn exchange(call: &JudgeCall, reply: &str) -> crate::policy::JudgeExchange {
    crate::policy::JudgeExchange {
        request: serde_json::json!({"model": call.model, "system": call.system, "user": call.user,
            "temperature": call.temperature, "max_tokens": call.max_tokens, "json_mode": call.json_mode}),
        response: serde_json::json!({"text": reply}),
    }
}

/// The first JSON object in a model's reply. Models wrap JSON in ```json fences or add prose
/// around it despite being told not to; scanning for the first `{` that starts a complete
/// object handles both without trusting any particular wrapping.
pub(crate) fn extract_json_object(reply: &str) -> Option<Map<String, Value>> {
    reply.match_indices('{').find_map(|(start, _)| {
        let mut values = serde_json::Deserializer::from_str(&reply[start..]).into_iter::<Value>();
        match values.next() {
            Some(Ok(Value::Object(map))) => Some(map),
            _ => None,
        }
    })
}

/// `s` cut to at most `max` characters (never inside a character), saying how much was cut.
pub(crate) fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some((cut, _)) => {
            let rest = s[cut..].chars().count();
            format!("{}… [{rest} more characters]", &s[..cut])
        }
    }
}

/// One piece of a message template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Piece<'a> {
    /// Text copied as is (`{{` and `}}` already unescaped).
    Literal(String),
    /// `{name}` or `{name:spec}`.
    Placeholder {
        /// The placeholder's name.
        name: &'a str,
        /// The format spec after `:`, if any (e.g. `.2f`).
        spec: Option<&'a str>,
    },
}

/// Splits a template into literals and placeholders. The syntax is Python's `str.format`
/// subset the predecessor's templates used (`{name}`, `{name:.2f}`, `{{`/`}}`), so its
/// templates keep working; a `{` that starts no placeholder is kept literally.
pub(crate) fn parse_template(template: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("{{") || rest.starts_with("}}") {
            literal.push(c);
            rest = &rest[2..];
            continue;
        }
        if c == '{' {
            if let Some(close) = rest.find('}') {
                let inner = &rest[1..close];
                let (name, spec) = match inner.split_once(':') {
                    Some((name, spec)) => (name, Some(spec)),
                    None => (inner, None),
                };
                let is_name = !name.is_empty()
                    && name
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
                    && !spec.is_some_and(|s| s.contains('{'));
                if is_name {
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Placeholder { name, spec });
                    rest = &rest[close + 1..];
                    continue;
                }
            }
        }
        literal.push(c);
        rest = &rest[c.len_utf8()..];
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    pieces
}

/// The names of a template's placeholders that are not in `allowed`.
pub(crate) fn unknown_placeholders(template: &str, allowed: &[&str]) -> Vec<String> {
    parse_template(template)
        .into_iter()
        .filter_map(|piece| match piece {
            Piece::Placeholder { name, .. } if !allowed.contains(&name) => Some(name.to_owned()),
            _ => None,
        })
        .collect()
}

/// Renders a template, asking `fill(name, spec)` for each placeholder's text.
pub(crate) fn render_template(
    template: &str,
    fill: impl Fn(&str, Option<&str>) -> String,
) -> String {
    parse_template(template)
        .into_iter()
        .map(|piece| match piece {
            Piece::Literal(text) => text,
            Piece::Placeholder { name, spec } => fill(name, spec),
        })
        .collect()
}

/// Formats a number with a Python-style precision spec (`.3f`, `.3`), two decimals by default.
pub(crate) fn format_number(value: f64, spec: Option<&str>) -> String {
    let precision = spec
        .and_then(|s| s.strip_prefix('.'))
        .map(|s| s.trim_end_matches('f'))
        .and_then(|digits| digits.parse::<usize>().ok())
        .map_or(2, |p| p.min(12));
    format!("{value:.precision$}")
}
