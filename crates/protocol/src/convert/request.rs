//! Request conversion between Anthropic Messages and OpenAI Chat Completions (JSON → JSON).
//!
//! Both converters validate their input first, then rebuild the body field by field following
//! the mapping table in the [module documentation](super). What the target API cannot express
//! is either an error (when dropping it would change what the model sees or must do) or dropped
//! (when it is a hint, an optimisation or provider bookkeeping); the table says which.

use serde_json::{json, Map, Value};

use crate::{anthropic, openai, ProtocolError};

/// How to build a Chat Completions request from an Anthropic one.
#[derive(Debug, Clone)]
pub struct ToChatOptions {
    /// The upstream model name after routing.
    pub model: String,
    /// Send the output limit as `max_completion_tokens` (the real OpenAI API, whose newer models
    /// reject `max_tokens`) instead of `max_tokens` (OpenAI-compatible servers such as Ollama, vLLM).
    pub use_max_completion_tokens: bool,
}

/// How to build an Anthropic Messages request from a Chat Completions one.
#[derive(Debug, Clone)]
pub struct ToAnthropicOptions {
    /// The upstream model name after routing.
    pub model: String,
    /// The `max_tokens` to send when the client gave no limit (Anthropic requires one).
    pub default_max_tokens: u64,
}

/// OpenAI's limit on the length of the `user` field; a longer identifier is dropped, not cut.
pub(super) const OPENAI_USER_MAX_CHARS: usize = 64;

/// Converts an Anthropic Messages request into a Chat Completions request for `opts.model`.
pub fn anthropic_to_chat(req: &Value, opts: &ToChatOptions) -> Result<Value, ProtocolError> {
    anthropic::request::validate(req)?;
    let obj = as_object(req, "body")?;

    let mut messages = Vec::new();
    if let Some(system) = present(obj.get("system")) {
        let text = anthropic_system_text(system)?;
        if !text.is_empty() {
            messages.push(json!({"role": "system", "content": text}));
        }
    }
    for (i, message) in array(obj.get("messages"), "messages")?.iter().enumerate() {
        anthropic_message_to_chat(message, i, &mut messages)?;
    }
    if messages.is_empty() {
        return Err(ProtocolError::field(
            "messages",
            "every message is empty once converted",
        ));
    }

    let mut out = Map::new();
    out.insert("model".into(), Value::String(opts.model.clone()));
    out.insert("messages".into(), Value::Array(messages));

    if let Some(max) = present(obj.get("max_tokens")) {
        let key = if opts.use_max_completion_tokens {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        out.insert(key.into(), max.clone());
    }
    // Both scales put the default at 1, so the value keeps its meaning; Anthropic's 0–1 range
    // lies inside OpenAI's 0–2.
    for key in ["temperature", "top_p"] {
        if let Some(v) = present(obj.get(key)) {
            out.insert(key.into(), v.clone());
        }
    }
    if let Some(stops) = present(obj.get("stop_sequences")).and_then(Value::as_array) {
        if !stops.is_empty() {
            out.insert("stop".into(), Value::Array(stops.clone()));
        }
    }

    let tools = match present(obj.get("tools")) {
        Some(tools) => anthropic_tools_to_chat(tools)?,
        None => Vec::new(),
    };
    // OpenAI rejects an empty `tools` array, and `tool_choice` / `parallel_tool_calls` without tools.
    if !tools.is_empty() {
        out.insert("tools".into(), Value::Array(tools));
        if let Some(choice) = present(obj.get("tool_choice")) {
            let (choice, parallel) = anthropic_tool_choice_to_chat(choice)?;
            if let Some(choice) = choice {
                out.insert("tool_choice".into(), choice);
            }
            if let Some(parallel) = parallel {
                out.insert("parallel_tool_calls".into(), Value::Bool(parallel));
            }
        }
    }

    if let Some(effort) = present(obj.get("thinking")).and_then(reasoning_effort_for) {
        out.insert("reasoning_effort".into(), Value::String(effort.into()));
    }

    if let Some(user_id) = obj
        .get("metadata")
        .and_then(|m| m.get("user_id"))
        .and_then(Value::as_str)
    {
        if !user_id.is_empty() && user_id.chars().count() <= OPENAI_USER_MAX_CHARS {
            out.insert("user".into(), Value::String(user_id.into()));
        }
    }

    match present(obj.get("stream")) {
        Some(Value::Bool(true)) => {
            out.insert("stream".into(), Value::Bool(true));
            // Without it an OpenAI stream carries no usage, and the Anthropic client needs it.
            out.insert("stream_options".into(), json!({"include_usage": true}));
        }
        Some(Value::Bool(false)) => {
            out.insert("stream".into(), Value::Bool(false));
        }
        _ => {}
    }

    Ok(Value::Object(out))
}

/// Converts a Chat Completions request into an Anthropic Messages request for `opts.model`.
pub fn chat_to_anthropic(req: &Value, opts: &ToAnthropicOptions) -> Result<Value, ProtocolError> {
    openai::chat_request::validate(req)?;
    let obj = as_object(req, "body")?;
    reject_chat_only_features(obj)?;

    let mut system_parts: Vec<String> = Vec::new();
    let mut turns: Vec<Turn> = Vec::new();
    // The id given to the latest legacy `function_call`, which the next `function` message answers.
    let mut legacy_call_id: Option<String> = None;
    for (i, message) in array(obj.get("messages"), "messages")?.iter().enumerate() {
        chat_message_to_anthropic(
            message,
            i,
            &mut system_parts,
            &mut turns,
            &mut legacy_call_id,
        )?;
    }
    let messages = merge_turns(turns);
    if messages.is_empty() {
        return Err(ProtocolError::field(
            "messages",
            "no user or assistant message with content (system and developer messages become `system`)",
        ));
    }

    let mut max_tokens = match present(obj.get("max_completion_tokens"))
        .or_else(|| present(obj.get("max_tokens")))
    {
        Some(v) => match v.as_u64() {
            Some(n) if n > 0 => n,
            _ => {
                let key = if present(obj.get("max_completion_tokens")).is_some() {
                    "max_completion_tokens"
                } else {
                    "max_tokens"
                };
                return Err(ProtocolError::field(key, "must be a positive integer"));
            }
        },
        None => opts.default_max_tokens,
    };
    let thinking_budget = match present(obj.get("reasoning_effort")) {
        Some(effort) => thinking_budget_for(effort)?,
        None => None,
    };
    if let Some(budget) = thinking_budget {
        // Anthropic requires max_tokens > budget_tokens; OpenAI's limit also covered reasoning,
        // so the budget is added on top rather than squeezing the visible answer.
        if max_tokens <= budget {
            max_tokens = max_tokens.saturating_add(budget);
        }
    }

    let mut out = Map::new();
    out.insert("model".into(), Value::String(opts.model.clone()));
    out.insert("max_tokens".into(), Value::from(max_tokens));
    let system: Vec<String> = system_parts.into_iter().filter(|s| !s.is_empty()).collect();
    if !system.is_empty() {
        out.insert("system".into(), Value::String(system.join("\n\n")));
    }
    out.insert("messages".into(), Value::Array(messages));

    let user = present(obj.get("user"))
        .or_else(|| present(obj.get("safety_identifier")))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    if let Some(user) = user {
        out.insert("metadata".into(), json!({"user_id": user}));
    }

    if let Some(stop) = present(obj.get("stop")) {
        let stops = chat_stop_to_anthropic(stop)?;
        if !stops.is_empty() {
            out.insert("stop_sequences".into(), Value::Array(stops));
        }
    }
    if let Some(t) = present(obj.get("temperature")) {
        let Some(f) = t.as_f64() else {
            return Err(ProtocolError::field("temperature", "must be a number"));
        };
        // OpenAI's range is 0–2, Anthropic's 0–1: anything hotter than 1 becomes 1.
        let t = if f > 1.0 { Value::from(1.0) } else { t.clone() };
        out.insert("temperature".into(), t);
    }
    if let Some(p) = present(obj.get("top_p")) {
        if !p.is_number() {
            return Err(ProtocolError::field("top_p", "must be a number"));
        }
        out.insert("top_p".into(), p.clone());
    }

    let tools = if let Some(tools) = present(obj.get("tools")) {
        chat_tools_to_anthropic(tools, "tools")?
    } else if let Some(functions) = present(obj.get("functions")) {
        chat_tools_to_anthropic(functions, "functions")?
    } else {
        Vec::new()
    };
    if !tools.is_empty() {
        out.insert("tools".into(), Value::Array(tools));
        let choice = if let Some(choice) = present(obj.get("tool_choice")) {
            Some(chat_tool_choice_to_anthropic(choice, "tool_choice")?)
        } else if let Some(choice) = present(obj.get("function_call")) {
            Some(chat_tool_choice_to_anthropic(choice, "function_call")?)
        } else {
            None
        };
        let serial = present(obj.get("parallel_tool_calls")) == Some(&Value::Bool(false));
        let choice = match choice {
            Some(mut choice) => {
                // Anthropic's `none` takes no parallelism flag: with no calls there is nothing to serialise.
                if serial && choice.get("type").and_then(Value::as_str) != Some("none") {
                    if let Some(c) = choice.as_object_mut() {
                        c.insert("disable_parallel_tool_use".into(), Value::Bool(true));
                    }
                }
                Some(choice)
            }
            None if serial => Some(json!({"type": "auto", "disable_parallel_tool_use": true})),
            None => None,
        };
        if let Some(choice) = choice {
            out.insert("tool_choice".into(), choice);
        }
    }

    if let Some(budget) = thinking_budget {
        out.insert(
            "thinking".into(),
            json!({"type": "enabled", "budget_tokens": budget}),
        );
    }
    if let Some(stream) = present(obj.get("stream")) {
        out.insert("stream".into(), stream.clone());
    }
    Ok(Value::Object(out))
}

// ---------------------------------------------------------------------------------------------
// Anthropic → Chat
// ---------------------------------------------------------------------------------------------

/// The text of Anthropic's `system` (a string or a list of text blocks), blocks joined by a blank line.
fn anthropic_system_text(system: &Value) -> Result<String, ProtocolError> {
    match system {
        Value::String(s) => Ok(s.clone()),
        Value::Array(blocks) => {
            let mut texts = Vec::new();
            for (j, block) in blocks.iter().enumerate() {
                if block.get("type").and_then(Value::as_str) != Some("text") {
                    return Err(ProtocolError::field(
                        format!("system.{j}"),
                        "must be a text block",
                    ));
                }
                let text = string_field(block, "text", &format!("system.{j}"))?;
                if !text.is_empty() {
                    texts.push(text);
                }
            }
            Ok(texts.join("\n\n"))
        }
        _ => Err(ProtocolError::field(
            "system",
            "must be a string or an array of text blocks",
        )),
    }
}

/// Appends the Chat messages for Anthropic message `i` (none, when it has no content OpenAI can take).
fn anthropic_message_to_chat(
    message: &Value,
    i: usize,
    out: &mut Vec<Value>,
) -> Result<(), ProtocolError> {
    let path = format!("messages.{i}");
    let role = string_field(message, "role", &path)?;
    match message.get("content") {
        Some(Value::String(s)) => {
            // An empty message is dropped: OpenAI-compatible servers reject or mis-handle them.
            if !s.is_empty() {
                out.push(json!({"role": role, "content": s}));
            }
            Ok(())
        }
        Some(Value::Array(blocks)) if role == "assistant" => {
            anthropic_assistant_blocks_to_chat(blocks, &path, out)
        }
        Some(Value::Array(blocks)) => anthropic_user_blocks_to_chat(blocks, &path, out),
        _ => Err(ProtocolError::field(
            format!("{path}.content"),
            "must be a string or an array of content blocks",
        )),
    }
}

/// Converts a user message's blocks: one `tool` message per tool result, then one user message
/// with the remaining text and images (OpenAI needs the tool answers right after the calls).
fn anthropic_user_blocks_to_chat(
    blocks: &[Value],
    path: &str,
    out: &mut Vec<Value>,
) -> Result<(), ProtocolError> {
    let mut parts: Vec<Value> = Vec::new();
    for (j, block) in blocks.iter().enumerate() {
        let bpath = format!("{path}.content.{j}");
        match block_type(block, &bpath)? {
            "text" => {
                let text = string_field(block, "text", &bpath)?;
                if !text.is_empty() {
                    parts.push(json!({"type": "text", "text": text}));
                }
            }
            "image" => parts.push(anthropic_image_to_part(block, &bpath)?),
            "tool_result" => out.push(anthropic_tool_result_to_chat(block, &bpath)?),
            "document" => return Err(unsupported(
                bpath,
                "document blocks (PDF or text files) cannot be sent to a Chat Completions model",
            )),
            other => {
                return Err(unsupported(
                    bpath,
                    format!(
                        "`{other}` blocks in a user message have no Chat Completions equivalent"
                    ),
                ))
            }
        }
    }
    if let Some(content) = parts_to_content(parts) {
        out.push(json!({"role": "user", "content": content}));
    }
    Ok(())
}

/// Converts an assistant message's blocks into one message with text content and `tool_calls`.
fn anthropic_assistant_blocks_to_chat(
    blocks: &[Value],
    path: &str,
    out: &mut Vec<Value>,
) -> Result<(), ProtocolError> {
    let mut text = String::new();
    let mut calls: Vec<Value> = Vec::new();
    for (j, block) in blocks.iter().enumerate() {
        let bpath = format!("{path}.content.{j}");
        match block_type(block, &bpath)? {
            // Consecutive assistant text blocks are one output split at block boundaries
            // (citations split it too), so they are concatenated without a separator.
            "text" => text.push_str(&string_field(block, "text", &bpath)?),
            "tool_use" => {
                let id = string_field(block, "id", &bpath)?;
                let name = string_field(block, "name", &bpath)?;
                let arguments = match present(block.get("input")) {
                    Some(input) => serde_json::to_string(input).map_err(|e| {
                        ProtocolError::field(format!("{bpath}.input"), e.to_string())
                    })?,
                    None => "{}".to_owned(),
                };
                calls.push(json!({
                    "id": id,
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }));
            }
            // The model's private reasoning: OpenAI has no field for it and the visible turn is
            // complete without it.
            "thinking" | "redacted_thinking" => {}
            other => {
                return Err(unsupported(
                    bpath,
                    format!(
                    "`{other}` blocks in an assistant message have no Chat Completions equivalent"
                ),
                ))
            }
        }
    }
    if !calls.is_empty() {
        let content = if text.is_empty() {
            Value::Null
        } else {
            Value::String(text)
        };
        out.push(json!({"role": "assistant", "content": content, "tool_calls": calls}));
    } else if !text.is_empty() {
        out.push(json!({"role": "assistant", "content": text}));
    }
    Ok(())
}

/// Converts a `tool_result` block into a `tool` message with string content.
fn anthropic_tool_result_to_chat(block: &Value, bpath: &str) -> Result<Value, ProtocolError> {
    let id = string_field(block, "tool_use_id", bpath)?;
    let content = match present(block.get("content")) {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => {
            let mut texts = Vec::new();
            for (k, item) in items.iter().enumerate() {
                let ipath = format!("{bpath}.content.{k}");
                match block_type(item, &ipath)? {
                    "text" => texts.push(string_field(item, "text", &ipath)?),
                    "image" => {
                        return Err(unsupported(
                            ipath,
                            "Chat Completions tool messages carry only text, not images",
                        ))
                    }
                    other => {
                        return Err(unsupported(
                            ipath,
                            format!(
                            "`{other}` blocks in a tool result have no Chat Completions equivalent"
                        ),
                        ))
                    }
                }
            }
            texts.join("\n\n")
        }
        Some(_) => {
            return Err(ProtocolError::field(
                format!("{bpath}.content"),
                "must be a string or an array of content blocks",
            ))
        }
    };
    // OpenAI has no error flag on tool messages; the model still needs to know the call failed.
    let content = if block.get("is_error") == Some(&Value::Bool(true)) {
        if content.is_empty() {
            "Error".to_owned()
        } else {
            format!("Error: {content}")
        }
    } else {
        content
    };
    Ok(json!({"role": "tool", "tool_call_id": id, "content": content}))
}

/// Converts an Anthropic `image` block into an `image_url` part.
fn anthropic_image_to_part(block: &Value, bpath: &str) -> Result<Value, ProtocolError> {
    let spath = format!("{bpath}.source");
    let Some(source) = block.get("source").filter(|s| s.is_object()) else {
        return Err(ProtocolError::field(spath, "must be an object"));
    };
    let url = match source.get("type").and_then(Value::as_str) {
        Some("base64") => {
            let media_type = string_field(source, "media_type", &spath)?;
            let data = string_field(source, "data", &spath)?;
            format!("data:{media_type};base64,{data}")
        }
        Some("url") => string_field(source, "url", &spath)?,
        Some(other) => {
            return Err(unsupported(
                format!("{spath}.type"),
                format!("image source `{other}` has no Chat Completions equivalent"),
            ))
        }
        None => return Err(ProtocolError::field(format!("{spath}.type"), "is required")),
    };
    Ok(json!({"type": "image_url", "image_url": {"url": url}}))
}

/// User content from parts: a plain string when every part is text, else the part list; `None` when empty.
fn parts_to_content(parts: Vec<Value>) -> Option<Value> {
    if parts.is_empty() {
        return None;
    }
    let texts: Option<Vec<&str>> = parts
        .iter()
        .map(|p| {
            if p.get("type").and_then(Value::as_str) == Some("text") {
                p.get("text").and_then(Value::as_str)
            } else {
                None
            }
        })
        .collect();
    // Separate user text blocks are separate pieces of input (Claude Code sends several
    // `<system-reminder>` blocks), hence the blank line between them.
    Some(match texts {
        Some(texts) => Value::String(texts.join("\n\n")),
        None => Value::Array(parts),
    })
}

/// Converts Anthropic `tools` into Chat `tools` (client tools only).
fn anthropic_tools_to_chat(tools: &Value) -> Result<Vec<Value>, ProtocolError> {
    let Some(tools) = tools.as_array() else {
        return Err(ProtocolError::field("tools", "must be an array"));
    };
    let mut out = Vec::with_capacity(tools.len());
    for (n, tool) in tools.iter().enumerate() {
        let path = format!("tools.{n}");
        if !tool.is_object() {
            return Err(ProtocolError::field(path, "must be an object"));
        }
        match present(tool.get("type")).map(|t| t.as_str()) {
            None | Some(Some("custom")) => {}
            Some(Some(other)) => {
                return Err(unsupported(
                    path,
                    format!("`{other}` is an Anthropic-defined tool; a Chat Completions model can only call client functions"),
                ))
            }
            Some(None) => {
                return Err(ProtocolError::field(
                    format!("{path}.type"),
                    "must be a string",
                ))
            }
        }
        let name = string_field(tool, "name", &path)?;
        let mut function = Map::new();
        function.insert("name".into(), Value::String(name));
        if let Some(description) = present(tool.get("description")) {
            function.insert("description".into(), description.clone());
        }
        let parameters = present(tool.get("input_schema"))
            .cloned()
            .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
        function.insert("parameters".into(), parameters);
        out.push(json!({"type": "function", "function": Value::Object(function)}));
    }
    Ok(out)
}

/// Converts Anthropic `tool_choice` into Chat `tool_choice` and `parallel_tool_calls`.
fn anthropic_tool_choice_to_chat(
    choice: &Value,
) -> Result<(Option<Value>, Option<bool>), ProtocolError> {
    let kind = string_field(choice, "type", "tool_choice")?;
    let converted = match kind.as_str() {
        "auto" => json!("auto"),
        "any" => json!("required"),
        "none" => json!("none"),
        "tool" => {
            let name = string_field(choice, "name", "tool_choice")?;
            json!({"type": "function", "function": {"name": name}})
        }
        other => {
            return Err(unsupported(
                "tool_choice.type",
                format!("`{other}` has no Chat Completions equivalent"),
            ))
        }
    };
    let parallel =
        (choice.get("disable_parallel_tool_use") == Some(&Value::Bool(true))).then_some(false);
    Ok((Some(converted), parallel))
}

/// The `reasoning_effort` for Anthropic's `thinking` setting; `None` when thinking is off or unknown.
fn reasoning_effort_for(thinking: &Value) -> Option<&'static str> {
    match thinking.get("type").and_then(Value::as_str)? {
        "enabled" => {
            let budget = thinking
                .get("budget_tokens")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            Some(if budget < 4096 {
                "low"
            } else if budget < 16384 {
                "medium"
            } else {
                "high"
            })
        }
        // Adaptive thinking lets the model choose; OpenAI's default effort is the closest match.
        "adaptive" => Some("medium"),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Chat → Anthropic
// ---------------------------------------------------------------------------------------------

/// A converted message before consecutive same-role messages are merged.
pub(super) struct Turn {
    /// `user` or `assistant`.
    pub(super) role: &'static str,
    /// Anthropic content blocks.
    pub(super) blocks: Vec<Value>,
}

/// Fails on Chat features that change what the client gets back and Anthropic cannot provide.
fn reject_chat_only_features(obj: &Map<String, Value>) -> Result<(), ProtocolError> {
    if present(obj.get("n"))
        .and_then(Value::as_i64)
        .is_some_and(|n| n > 1)
    {
        return Err(unsupported(
            "n",
            "Anthropic returns one choice per request; n > 1 cannot be served",
        ));
    }
    if present(obj.get("logprobs")) == Some(&Value::Bool(true)) {
        return Err(unsupported(
            "logprobs",
            "Anthropic does not return log probabilities",
        ));
    }
    if present(obj.get("top_logprobs"))
        .and_then(Value::as_i64)
        .is_some_and(|n| n > 0)
    {
        return Err(unsupported(
            "top_logprobs",
            "Anthropic does not return log probabilities",
        ));
    }
    if let Some(format) = present(obj.get("response_format")) {
        match format.get("type").and_then(Value::as_str) {
            Some("text") => {}
            Some(kind @ ("json_schema" | "json_object")) => {
                return Err(unsupported(
                    "response_format",
                    format!("`{kind}` output is not enforced by the Anthropic Messages API this gateway converts to"),
                ))
            }
            _ => {
                return Err(unsupported(
                    "response_format",
                    "only `text` can be carried to Anthropic",
                ))
            }
        }
    }
    if present(obj.get("audio")).is_some()
        || present(obj.get("modalities"))
            .and_then(Value::as_array)
            .is_some_and(|m| m.iter().any(|x| x.as_str() == Some("audio")))
    {
        return Err(unsupported(
            "modalities",
            "Anthropic models do not produce audio",
        ));
    }
    if present(obj.get("web_search_options")).is_some() {
        return Err(unsupported(
            "web_search_options",
            "Chat Completions web search has no equivalent in a converted Anthropic request",
        ));
    }
    Ok(())
}

/// Converts Chat message `i`: system text is gathered apart, the rest becomes a turn.
fn chat_message_to_anthropic(
    message: &Value,
    i: usize,
    system: &mut Vec<String>,
    turns: &mut Vec<Turn>,
    legacy_call_id: &mut Option<String>,
) -> Result<(), ProtocolError> {
    let path = format!("messages.{i}");
    let role = string_field(message, "role", &path)?;
    let content = present(message.get("content"));
    match role.as_str() {
        // OpenAI allows instructions anywhere in the conversation; Anthropic only up front, so
        // they are gathered in order.
        "system" | "developer" => {
            if let Some(content) = content {
                system.push(chat_text_only(content, &path)?);
            }
        }
        "user" => {
            let blocks = match content {
                Some(content) => chat_user_content_to_blocks(content, &path)?,
                None => Vec::new(),
            };
            turns.push(Turn {
                role: "user",
                blocks,
            });
        }
        "assistant" => {
            let blocks = chat_assistant_to_blocks(message, i, legacy_call_id)?;
            turns.push(Turn {
                role: "assistant",
                blocks,
            });
        }
        "tool" => {
            let id = sanitize_tool_id(
                &string_field(message, "tool_call_id", &path)?,
                &format!("{path}.tool_call_id"),
            )?;
            let block = tool_result_block(id, content, &path)?;
            turns.push(Turn {
                role: "user",
                blocks: vec![block],
            });
        }
        "function" => {
            let Some(id) = legacy_call_id.clone() else {
                return Err(ProtocolError::field(
                    path,
                    "a function message must follow an assistant message with function_call",
                ));
            };
            let block = tool_result_block(id, content, &path)?;
            turns.push(Turn {
                role: "user",
                blocks: vec![block],
            });
        }
        _ => {
            return Err(ProtocolError::field(
                format!("{path}.role"),
                "must be one of system, developer, user, assistant, tool, function",
            ))
        }
    }
    Ok(())
}

/// The text of a system or developer message (a string or text parts joined by a blank line).
fn chat_text_only(content: &Value, path: &str) -> Result<String, ProtocolError> {
    match content {
        Value::String(s) => Ok(s.clone()),
        Value::Array(parts) => {
            let mut texts = Vec::new();
            for (j, part) in parts.iter().enumerate() {
                let ppath = format!("{path}.content.{j}");
                if part.get("type").and_then(Value::as_str) != Some("text") {
                    return Err(ProtocolError::field(
                        ppath,
                        "system and developer messages may only hold text parts",
                    ));
                }
                let text = string_field(part, "text", &ppath)?;
                if !text.is_empty() {
                    texts.push(text);
                }
            }
            Ok(texts.join("\n\n"))
        }
        _ => Err(ProtocolError::field(
            format!("{path}.content"),
            "must be a string or an array of content parts",
        )),
    }
}

/// Converts user (or tool) content into Anthropic blocks: text and images; empty text is skipped.
fn chat_user_content_to_blocks(content: &Value, path: &str) -> Result<Vec<Value>, ProtocolError> {
    match content {
        Value::String(s) if s.is_empty() => Ok(Vec::new()),
        Value::String(s) => Ok(vec![json!({"type": "text", "text": s})]),
        Value::Array(parts) => {
            let mut blocks = Vec::new();
            for (j, part) in parts.iter().enumerate() {
                let ppath = format!("{path}.content.{j}");
                match block_type(part, &ppath)? {
                    "text" => {
                        let text = string_field(part, "text", &ppath)?;
                        if !text.is_empty() {
                            blocks.push(json!({"type": "text", "text": text}));
                        }
                    }
                    "image_url" => blocks.push(chat_image_to_block(part, &ppath)?),
                    "input_audio" => {
                        return Err(unsupported(
                            ppath,
                            "Anthropic models do not accept audio input",
                        ))
                    }
                    "file" => {
                        return Err(unsupported(
                            ppath,
                            "file parts cannot be carried to Anthropic by this gateway",
                        ))
                    }
                    other => {
                        return Err(unsupported(
                            ppath,
                            format!("`{other}` parts have no Anthropic equivalent"),
                        ))
                    }
                }
            }
            Ok(blocks)
        }
        _ => Err(ProtocolError::field(
            format!("{path}.content"),
            "must be a string or an array of content parts",
        )),
    }
}

/// Converts an `image_url` part: a data URL becomes a base64 source, an http(s) URL a url source.
fn chat_image_to_block(part: &Value, ppath: &str) -> Result<Value, ProtocolError> {
    let upath = format!("{ppath}.image_url");
    // The object form `{url, detail}` is current; a bare string is accepted by older servers.
    let url = match part.get("image_url") {
        Some(Value::String(s)) => s.clone(),
        Some(obj @ Value::Object(_)) => string_field(obj, "url", &upath)?,
        _ => {
            return Err(ProtocolError::field(
                upath,
                "must be an object with a `url`",
            ))
        }
    };
    if let Some(rest) = url.strip_prefix("data:") {
        let Some((media_type, data)) = rest.split_once(";base64,") else {
            return Err(ProtocolError::field(
                format!("{upath}.url"),
                "a data URL must have the form data:<media type>;base64,<data>",
            ));
        };
        return Ok(json!({
            "type": "image",
            "source": {"type": "base64", "media_type": media_type, "data": data},
        }));
    }
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(json!({"type": "image", "source": {"type": "url", "url": url}}));
    }
    Err(unsupported(
        format!("{upath}.url"),
        "only data: and http(s) image URLs can be carried to Anthropic",
    ))
}

/// Converts an assistant message: text (content and refusal) then one `tool_use` per call.
fn chat_assistant_to_blocks(
    message: &Value,
    i: usize,
    legacy_call_id: &mut Option<String>,
) -> Result<Vec<Value>, ProtocolError> {
    let path = format!("messages.{i}");
    let mut blocks = Vec::new();
    if present(message.get("audio")).is_some() {
        return Err(unsupported(
            format!("{path}.audio"),
            "an earlier audio answer cannot be replayed to Anthropic",
        ));
    }
    match present(message.get("content")) {
        None => {}
        Some(Value::String(s)) if !s.is_empty() => {
            blocks.push(json!({"type": "text", "text": s}));
        }
        Some(Value::String(_)) => {}
        Some(Value::Array(parts)) => {
            for (j, part) in parts.iter().enumerate() {
                let ppath = format!("{path}.content.{j}");
                let text = match block_type(part, &ppath)? {
                    "text" => string_field(part, "text", &ppath)?,
                    "refusal" => string_field(part, "refusal", &ppath)?,
                    other => {
                        return Err(unsupported(
                            ppath,
                            format!(
                            "`{other}` parts in an assistant message have no Anthropic equivalent"
                        ),
                        ))
                    }
                };
                if !text.is_empty() {
                    blocks.push(json!({"type": "text", "text": text}));
                }
            }
        }
        Some(_) => {
            return Err(ProtocolError::field(
                format!("{path}.content"),
                "must be a string, an array of content parts or null",
            ))
        }
    }
    if let Some(refusal) = present(message.get("refusal")).and_then(Value::as_str) {
        if !refusal.is_empty() {
            blocks.push(json!({"type": "text", "text": refusal}));
        }
    }

    if let Some(calls) = present(message.get("tool_calls")) {
        let Some(calls) = calls.as_array() else {
            return Err(ProtocolError::field(
                format!("{path}.tool_calls"),
                "must be an array",
            ));
        };
        for (j, call) in calls.iter().enumerate() {
            let cpath = format!("{path}.tool_calls.{j}");
            match present(call.get("type")).map(|t| t.as_str()) {
                None | Some(Some("function")) => {}
                Some(Some(other)) => {
                    return Err(unsupported(
                        cpath,
                        format!("`{other}` tool calls have no Anthropic equivalent"),
                    ))
                }
                Some(None) => {
                    return Err(ProtocolError::field(
                        format!("{cpath}.type"),
                        "must be a string",
                    ))
                }
            }
            let id = sanitize_tool_id(&string_field(call, "id", &cpath)?, &format!("{cpath}.id"))?;
            let fpath = format!("{cpath}.function");
            let Some(function) = call.get("function").filter(|f| f.is_object()) else {
                return Err(ProtocolError::field(fpath, "must be an object"));
            };
            blocks.push(function_to_tool_use(id, function, &fpath)?);
        }
    }
    if let Some(function) = present(message.get("function_call")) {
        let fpath = format!("{path}.function_call");
        if !function.is_object() {
            return Err(ProtocolError::field(fpath, "must be an object"));
        }
        // Legacy calls carry no id; a stable one lets the following `function` message refer to it.
        let id = format!("call_function_{i}");
        *legacy_call_id = Some(id.clone());
        blocks.push(function_to_tool_use(id, function, &fpath)?);
    }
    Ok(blocks)
}

/// Builds a `tool_use` block from a Chat `{name, arguments}` object.
fn function_to_tool_use(id: String, function: &Value, fpath: &str) -> Result<Value, ProtocolError> {
    let name = string_field(function, "name", fpath)?;
    let apath = format!("{fpath}.arguments");
    let input = match function.get("arguments") {
        None | Some(Value::Null) => json!({}),
        Some(Value::String(s)) if s.trim().is_empty() => json!({}),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => return Err(ProtocolError::field(apath, "must encode a JSON object")),
            Err(e) => {
                return Err(ProtocolError::field(
                    apath,
                    format!("is not valid JSON: {e}"),
                ))
            }
        },
        // Some clients send the parsed object instead of its JSON text.
        Some(v @ Value::Object(_)) => v.clone(),
        Some(_) => {
            return Err(ProtocolError::field(
                apath,
                "must be a JSON string encoding an object",
            ))
        }
    };
    Ok(json!({"type": "tool_use", "id": id, "name": name, "input": input}))
}

/// Builds a `tool_result` block from a tool (or function) message's content.
fn tool_result_block(
    id: String,
    content: Option<&Value>,
    path: &str,
) -> Result<Value, ProtocolError> {
    let mut block = Map::new();
    block.insert("type".into(), json!("tool_result"));
    block.insert("tool_use_id".into(), Value::String(id));
    // Empty content is left out: Anthropic accepts a tool_result without content, not empty text.
    match content {
        None => {}
        Some(Value::String(s)) if !s.is_empty() => {
            block.insert("content".into(), Value::String(s.clone()));
        }
        Some(Value::String(_)) => {}
        Some(content) => {
            let blocks = chat_user_content_to_blocks(content, path)?;
            if !blocks.is_empty() {
                block.insert("content".into(), Value::Array(blocks));
            }
        }
    }
    Ok(Value::Object(block))
}

/// Merges consecutive same-role turns (Anthropic requires alternation) and drops empty ones.
pub(super) fn merge_turns(turns: Vec<Turn>) -> Vec<Value> {
    let mut merged: Vec<Turn> = Vec::new();
    for turn in turns {
        if turn.blocks.is_empty() {
            continue;
        }
        match merged.last_mut() {
            Some(last) if last.role == turn.role => last.blocks.extend(turn.blocks),
            _ => merged.push(turn),
        }
    }
    merged
        .into_iter()
        .map(|turn| {
            let mut blocks = turn.blocks;
            if turn.role == "user" {
                // Anthropic wants tool results first in a user message; the stable sort keeps
                // each group's own order.
                blocks
                    .sort_by_key(|b| b.get("type").and_then(Value::as_str) != Some("tool_result"));
            }
            let content = match blocks.as_slice() {
                [only] if is_plain_text(only) => only.get("text").cloned().unwrap_or(Value::Null),
                _ => Value::Array(blocks),
            };
            json!({"role": turn.role, "content": content})
        })
        .collect()
}

/// Whether a block is a text block with nothing but its text (so it can become string content).
fn is_plain_text(block: &Value) -> bool {
    block.get("type").and_then(Value::as_str) == Some("text")
        && block.get("text").is_some_and(Value::is_string)
        && block.as_object().is_some_and(|o| o.len() == 2)
}

/// Converts Chat `tools` (or legacy `functions`, whose entries are bare functions) into Anthropic tools.
fn chat_tools_to_anthropic(tools: &Value, key: &str) -> Result<Vec<Value>, ProtocolError> {
    let Some(tools) = tools.as_array() else {
        return Err(ProtocolError::field(key, "must be an array"));
    };
    let mut out = Vec::with_capacity(tools.len());
    for (n, tool) in tools.iter().enumerate() {
        let path = format!("{key}.{n}");
        let (function, fpath) = if key == "functions" {
            (tool, path.clone())
        } else {
            match tool.get("type").and_then(Value::as_str) {
                Some("function") => {}
                Some(other) => {
                    return Err(unsupported(
                        path,
                        format!("`{other}` tools have no Anthropic equivalent"),
                    ))
                }
                None => return Err(ProtocolError::field(format!("{path}.type"), "is required")),
            }
            let fpath = format!("{path}.function");
            match tool.get("function") {
                Some(f @ Value::Object(_)) => (f, fpath),
                _ => return Err(ProtocolError::field(fpath, "must be an object")),
            }
        };
        let name = string_field(function, "name", &fpath)?;
        let mut converted = Map::new();
        converted.insert("name".into(), Value::String(name));
        if let Some(description) = present(function.get("description")) {
            converted.insert("description".into(), description.clone());
        }
        converted.insert(
            "input_schema".into(),
            input_schema(function.get("parameters"), &fpath)?,
        );
        out.push(Value::Object(converted));
    }
    Ok(out)
}

/// Anthropic's `input_schema` from OpenAI `parameters`; Anthropic requires an object schema.
pub(super) fn input_schema(
    parameters: Option<&Value>,
    fpath: &str,
) -> Result<Value, ProtocolError> {
    match parameters {
        None | Some(Value::Null) => Ok(json!({"type": "object", "properties": {}})),
        Some(Value::Object(schema)) if schema.contains_key("type") => {
            Ok(Value::Object(schema.clone()))
        }
        // OpenAI reads a schema without `type` (even `{}`) as an object; Anthropic needs it said.
        Some(Value::Object(schema)) => {
            let mut with_type = Map::new();
            with_type.insert("type".into(), json!("object"));
            if !schema.contains_key("properties") {
                with_type.insert("properties".into(), json!({}));
            }
            with_type.extend(schema.clone());
            Ok(Value::Object(with_type))
        }
        Some(_) => Err(ProtocolError::field(
            format!("{fpath}.parameters"),
            "must be a JSON schema object",
        )),
    }
}

/// Converts Chat `tool_choice` (or legacy `function_call`) into Anthropic `tool_choice`.
fn chat_tool_choice_to_anthropic(choice: &Value, key: &str) -> Result<Value, ProtocolError> {
    match choice {
        Value::String(s) => match s.as_str() {
            "auto" => Ok(json!({"type": "auto"})),
            "required" => Ok(json!({"type": "any"})),
            "none" => Ok(json!({"type": "none"})),
            other => Err(ProtocolError::field(
                key,
                format!("unknown value `{other}`"),
            )),
        },
        Value::Object(obj) => {
            // `{type:"function", function:{name}}`; the legacy `function_call` form is `{name}`.
            let name = match obj.get("function") {
                Some(function) => string_field(function, "name", &format!("{key}.function"))?,
                None if key == "function_call" => string_field(choice, "name", key)?,
                None => {
                    let kind = obj.get("type").and_then(Value::as_str).unwrap_or("");
                    return Err(unsupported(
                        key,
                        format!("`{kind}` tool choice has no Anthropic equivalent"),
                    ));
                }
            };
            if let Some(kind) = obj.get("type").and_then(Value::as_str) {
                if kind != "function" {
                    return Err(unsupported(
                        key,
                        format!("`{kind}` tool choice has no Anthropic equivalent"),
                    ));
                }
            }
            Ok(json!({"type": "tool", "name": name}))
        }
        _ => Err(ProtocolError::field(key, "must be a string or an object")),
    }
}

/// Converts Chat `stop` (a string or an array of strings) into `stop_sequences`.
fn chat_stop_to_anthropic(stop: &Value) -> Result<Vec<Value>, ProtocolError> {
    match stop {
        Value::String(s) if s.is_empty() => Ok(Vec::new()),
        Value::String(s) => Ok(vec![Value::String(s.clone())]),
        Value::Array(items) => {
            let mut out = Vec::new();
            for (k, item) in items.iter().enumerate() {
                match item {
                    // Anthropic rejects empty stop sequences; they never match anyway.
                    Value::String(s) if s.is_empty() => {}
                    Value::String(_) => out.push(item.clone()),
                    _ => {
                        return Err(ProtocolError::field(
                            format!("stop.{k}"),
                            "must be a string",
                        ))
                    }
                }
            }
            Ok(out)
        }
        _ => Err(ProtocolError::field(
            "stop",
            "must be a string or an array of strings",
        )),
    }
}

/// The thinking budget for a `reasoning_effort`; `None` when reasoning is off.
pub(super) fn thinking_budget_for(effort: &Value) -> Result<Option<u64>, ProtocolError> {
    thinking_budget_named(effort, "reasoning_effort")
}

/// The thinking budget for a reasoning effort read from `field`; `None` when reasoning is off.
pub(super) fn thinking_budget_named(
    effort: &Value,
    field: &str,
) -> Result<Option<u64>, ProtocolError> {
    match effort.as_str() {
        Some("none") => Ok(None),
        // 1024 is Anthropic's smallest budget.
        Some("minimal" | "low") => Ok(Some(1024)),
        Some("medium") => Ok(Some(4096)),
        Some("high") => Ok(Some(16384)),
        Some("xhigh") => Ok(Some(32768)),
        _ => Err(ProtocolError::field(
            field,
            "must be one of none, minimal, low, medium, high, xhigh",
        )),
    }
}

/// A tool-call id Anthropic accepts (`^[a-zA-Z0-9_-]+$`): other characters become `_`, the same
/// way on the call and on its result so they still match.
pub(super) fn sanitize_tool_id(id: &str, path: &str) -> Result<String, ProtocolError> {
    if id.is_empty() {
        return Err(ProtocolError::field(path, "must not be empty"));
    }
    Ok(id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// The value of an optional field, with an explicit `null` read as absent.
fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

/// `v` as an object, or an error naming `path`.
fn as_object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, ProtocolError> {
    v.as_object()
        .ok_or_else(|| ProtocolError::field(path, "must be a JSON object"))
}

/// The array at `v`, or an error naming `path`.
fn array<'a>(v: Option<&'a Value>, path: &str) -> Result<&'a Vec<Value>, ProtocolError> {
    v.and_then(Value::as_array)
        .ok_or_else(|| ProtocolError::field(path, "must be an array"))
}

/// The string field `key` of the object at `path`.
fn string_field(v: &Value, key: &str, path: &str) -> Result<String, ProtocolError> {
    match v.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(ProtocolError::field(
            format!("{path}.{key}"),
            "must be a string",
        )),
        None => Err(ProtocolError::field(format!("{path}.{key}"), "is required")),
    }
}

/// The `type` of a block or part at `path`.
fn block_type<'a>(block: &'a Value, path: &str) -> Result<&'a str, ProtocolError> {
    block
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| ProtocolError::field(format!("{path}.type"), "must be a string"))
}

/// An `Unsupported` error.
pub(super) fn unsupported(field: impl Into<String>, reason: impl Into<String>) -> ProtocolError {
    ProtocolError::Unsupported {
        field: field.into(),
        reason: reason.into(),
    }
}
