//! Request conversion from the OpenAI Responses API to Anthropic Messages and to Chat
//! Completions, for a Responses client (Codex) whose upstream speaks only one of those.
//!
//! Both converters read the request through [`ResponsesRequest`], then rebuild the body field
//! by field following the mapping tables in the [module documentation](super). Custom and
//! namespaced tools are carried as described in [`responses_tools`](super::responses_tools);
//! keep its [`ToolMapping`](super::responses_tools::ToolMapping) to restore the upstream's calls.

use serde_json::{json, Map, Value};

use super::request::{
    input_schema, merge_turns, sanitize_tool_id, thinking_budget_named, unsupported, Turn,
    OPENAI_USER_MAX_CHARS,
};
use super::responses_tools::{custom_tool_parameters, upstream_tool_name};
use crate::openai::responses_request::{
    ContentPart, InputItem, InputMessage, ReasoningItem, ResponsesRequest, Role, TextFormat, Tool,
    ToolCallItem, ToolChoice, ToolOutput, ToolOutputItem,
};
use crate::ProtocolError;

/// What to do with tools OpenAI runs itself (`web_search`, `file_search`, `code_interpreter`,
/// `image_generation`, `mcp`, …) when the upstream cannot run them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostedTools {
    /// Refuse the request (`Unsupported` naming the tool): the client asked for a capability
    /// the upstream does not have.
    #[default]
    Reject,
    /// Leave them out: the model answers without them. For clients that offer them on every
    /// request whether the task needs them or not (Codex always sends `web_search`).
    Drop,
}

/// How to build an Anthropic Messages request from a Responses one.
#[derive(Debug, Clone)]
pub struct ResponsesToAnthropicOptions {
    /// The upstream model name after routing.
    pub model: String,
    /// The `max_tokens` to send when the client gave no `max_output_tokens`.
    pub default_max_tokens: u64,
    /// What to do with hosted tools.
    pub hosted_tools: HostedTools,
}

/// How to build a Chat Completions request from a Responses one.
#[derive(Debug, Clone)]
pub struct ResponsesToChatOptions {
    /// The upstream model name after routing.
    pub model: String,
    /// Send the limit as `max_completion_tokens` (the real OpenAI API) instead of `max_tokens`
    /// (OpenAI-compatible servers).
    pub use_max_completion_tokens: bool,
    /// What to do with hosted tools.
    pub hosted_tools: HostedTools,
}

/// A function-shaped tool after custom tools were wrapped and namespaces flattened.
struct FlatTool {
    name: String,
    description: Option<String>,
    parameters: Option<Value>,
    strict: Option<bool>,
    /// Where it came from, for error messages.
    path: String,
}

/// Converts a Responses request into an Anthropic Messages request for `opts.model`.
pub fn responses_to_anthropic(
    req: &Value,
    opts: &ResponsesToAnthropicOptions,
) -> Result<Value, ProtocolError> {
    let r = ResponsesRequest::parse(req)?;
    reject_stateful(&r)?;

    let mut system: Vec<String> = Vec::new();
    if let Some(instructions) = r.instructions {
        system.push(instructions.to_owned());
    }
    let mut turns: Vec<Turn> = Vec::new();
    for (i, item) in r.input.iter().enumerate() {
        item_to_anthropic(item, &format!("input.{i}"), &mut system, &mut turns)?;
    }
    let messages = merge_turns(turns);
    if messages.is_empty() {
        return Err(ProtocolError::field(
            "input",
            "no user or assistant content (system and developer messages become `system`)",
        ));
    }

    let thinking_budget = match r.reasoning.as_ref().and_then(|c| c.effort) {
        Some(effort) => thinking_budget_named(&Value::from(effort), "reasoning.effort")?,
        None => None,
    };
    let mut max_tokens = match r.max_output_tokens {
        Some(0) => {
            return Err(ProtocolError::field(
                "max_output_tokens",
                "must be a positive integer",
            ))
        }
        Some(n) => n,
        None => opts.default_max_tokens,
    };
    if let Some(budget) = thinking_budget {
        // Anthropic requires max_tokens > budget_tokens; OpenAI's limit also covered reasoning.
        if max_tokens <= budget {
            max_tokens = max_tokens.saturating_add(budget);
        }
    }

    let mut out = Map::new();
    out.insert("model".into(), opts.model.clone().into());
    out.insert("max_tokens".into(), max_tokens.into());
    let system: Vec<String> = system.into_iter().filter(|s| !s.is_empty()).collect();
    if !system.is_empty() {
        out.insert("system".into(), system.join("\n\n").into());
    }
    out.insert("messages".into(), Value::Array(messages));
    if let Some(user) = r.user.or(r.safety_identifier).filter(|u| !u.is_empty()) {
        out.insert("metadata".into(), json!({"user_id": user}));
    }
    if let Some(t) = r.temperature {
        // OpenAI's range is 0–2, Anthropic's 0–1: anything hotter than 1 becomes 1.
        out.insert("temperature".into(), t.min(1.0).into());
    }
    if let Some(p) = r.top_p {
        out.insert("top_p".into(), p.into());
    }
    reject_structured_output(&r, "Anthropic")?;

    let tools = flatten_tools(&r.tools, opts.hosted_tools, "Anthropic")?;
    if !tools.is_empty() {
        let mut converted = Vec::with_capacity(tools.len());
        for t in &tools {
            let mut tool = Map::new();
            tool.insert("name".into(), t.name.clone().into());
            if let Some(d) = &t.description {
                tool.insert("description".into(), d.clone().into());
            }
            tool.insert(
                "input_schema".into(),
                input_schema(t.parameters.as_ref(), &t.path)?,
            );
            converted.push(Value::Object(tool));
        }
        out.insert("tools".into(), Value::Array(converted));
        let choice = match &r.tool_choice {
            None => None,
            Some(ToolChoice::Auto) => Some(json!({"type": "auto"})),
            Some(ToolChoice::Required) => Some(json!({"type": "any"})),
            Some(ToolChoice::None) => Some(json!({"type": "none"})),
            Some(ToolChoice::Function { name } | ToolChoice::Custom { name }) => {
                Some(json!({"type": "tool", "name": name}))
            }
            Some(ToolChoice::Other(v)) => return Err(other_tool_choice(v, "Anthropic")),
        };
        let serial = r.parallel_tool_calls == Some(false);
        let choice = match choice {
            Some(mut c) => {
                // Anthropic's `none` takes no parallelism flag.
                if serial && c.get("type").and_then(Value::as_str) != Some("none") {
                    if let Some(m) = c.as_object_mut() {
                        m.insert("disable_parallel_tool_use".into(), true.into());
                    }
                }
                Some(c)
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
    if r.stream {
        out.insert("stream".into(), true.into());
    }
    Ok(Value::Object(out))
}

/// Converts a Responses request into a Chat Completions request for `opts.model`.
pub fn responses_to_chat(
    req: &Value,
    opts: &ResponsesToChatOptions,
) -> Result<Value, ProtocolError> {
    let r = ResponsesRequest::parse(req)?;
    reject_stateful(&r)?;

    let mut messages: Vec<Value> = Vec::new();
    if let Some(instructions) = r.instructions.filter(|s| !s.is_empty()) {
        messages.push(json!({"role": "system", "content": instructions}));
    }
    for (i, item) in r.input.iter().enumerate() {
        item_to_chat(item, &format!("input.{i}"), &mut messages)?;
    }
    if messages.is_empty() {
        return Err(ProtocolError::field(
            "input",
            "every item is empty once converted",
        ));
    }

    let mut out = Map::new();
    out.insert("model".into(), opts.model.clone().into());
    out.insert("messages".into(), Value::Array(messages));
    if let Some(max) = r.max_output_tokens {
        let key = if opts.use_max_completion_tokens {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        out.insert(key.into(), max.into());
    }
    if let Some(t) = r.temperature {
        out.insert("temperature".into(), t.into());
    }
    if let Some(p) = r.top_p {
        out.insert("top_p".into(), p.into());
    }

    let tools = flatten_tools(&r.tools, opts.hosted_tools, "Chat Completions")?;
    if !tools.is_empty() {
        let converted: Vec<Value> = tools
            .iter()
            .map(|t| {
                let mut f = Map::new();
                f.insert("name".into(), t.name.clone().into());
                if let Some(d) = &t.description {
                    f.insert("description".into(), d.clone().into());
                }
                f.insert(
                    "parameters".into(),
                    t.parameters
                        .clone()
                        .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
                );
                if let Some(strict) = t.strict {
                    f.insert("strict".into(), strict.into());
                }
                json!({"type": "function", "function": Value::Object(f)})
            })
            .collect();
        out.insert("tools".into(), Value::Array(converted));
        let choice = match &r.tool_choice {
            None => None,
            Some(ToolChoice::Auto) => Some(json!("auto")),
            Some(ToolChoice::Required) => Some(json!("required")),
            Some(ToolChoice::None) => Some(json!("none")),
            Some(ToolChoice::Function { name } | ToolChoice::Custom { name }) => {
                Some(json!({"type": "function", "function": {"name": name}}))
            }
            Some(ToolChoice::Other(v)) => return Err(other_tool_choice(v, "Chat Completions")),
        };
        if let Some(choice) = choice {
            out.insert("tool_choice".into(), choice);
        }
        // OpenAI rejects `parallel_tool_calls` without tools.
        if let Some(parallel) = r.parallel_tool_calls {
            out.insert("parallel_tool_calls".into(), parallel.into());
        }
    }

    if let Some(effort) = r.reasoning.as_ref().and_then(|c| c.effort) {
        // Same vocabulary; checked so a typo fails here rather than upstream.
        thinking_budget_named(&Value::from(effort), "reasoning.effort")?;
        out.insert("reasoning_effort".into(), effort.into());
    }
    match &r.text_format {
        None | Some(TextFormat::Text) => {}
        Some(TextFormat::JsonObject) => {
            out.insert("response_format".into(), json!({"type": "json_object"}));
        }
        Some(TextFormat::JsonSchema(format)) => {
            // Responses flattens what Chat nests under `json_schema`.
            let mut schema = Map::new();
            for key in ["name", "description", "schema", "strict"] {
                if let Some(v) = format.get(key).filter(|v| !v.is_null()) {
                    schema.insert(key.into(), v.clone());
                }
            }
            out.insert(
                "response_format".into(),
                json!({"type": "json_schema", "json_schema": Value::Object(schema)}),
            );
        }
        Some(TextFormat::Other(v)) => {
            let kind = v.get("type").and_then(Value::as_str).unwrap_or_default();
            return Err(unsupported(
                "text.format",
                format!("`{kind}` output has no Chat Completions equivalent"),
            ));
        }
    }
    if let Some(user) = r.user.or(r.safety_identifier) {
        if !user.is_empty() && user.chars().count() <= OPENAI_USER_MAX_CHARS {
            out.insert("user".into(), user.into());
        }
    }
    if r.stream {
        out.insert("stream".into(), true.into());
        // Without it an OpenAI stream carries no usage, and the Responses client needs it.
        out.insert("stream_options".into(), json!({"include_usage": true}));
    }
    Ok(Value::Object(out))
}

// ---------------------------------------------------------------------------------------------
// Shared
// ---------------------------------------------------------------------------------------------

/// Refuses what needs OpenAI's server-side state or changes what the client gets back in a way
/// no other upstream can honour.
fn reject_stateful(r: &ResponsesRequest<'_>) -> Result<(), ProtocolError> {
    if r.previous_response_id.is_some() {
        return Err(unsupported(
            "previous_response_id",
            "continues a conversation OpenAI stored; another upstream has no record of it \
             (send the whole conversation in `input` instead)",
        ));
    }
    let present = |k: &str| r.body.get(k).is_some_and(|v| !v.is_null());
    if present("conversation") {
        return Err(unsupported(
            "conversation",
            "refers to a conversation OpenAI stored; another upstream has no record of it",
        ));
    }
    if present("prompt") {
        return Err(unsupported(
            "prompt",
            "refers to a prompt template stored by OpenAI",
        ));
    }
    if r.body.get("background") == Some(&Value::Bool(true)) {
        return Err(unsupported(
            "background",
            "background responses are polled from OpenAI's storage",
        ));
    }
    if r.body
        .get("top_logprobs")
        .and_then(Value::as_u64)
        .is_some_and(|n| n > 0)
    {
        return Err(unsupported(
            "top_logprobs",
            "log probabilities are not carried back from this upstream",
        ));
    }
    Ok(())
}

/// Refuses structured output for an upstream that would not enforce it.
fn reject_structured_output(r: &ResponsesRequest<'_>, target: &str) -> Result<(), ProtocolError> {
    match &r.text_format {
        None | Some(TextFormat::Text) => Ok(()),
        Some(TextFormat::JsonSchema(_)) => Err(unsupported(
            "text.format",
            format!("`json_schema` output is not enforced by the {target} API"),
        )),
        Some(TextFormat::JsonObject) => Err(unsupported(
            "text.format",
            format!("`json_object` output is not enforced by the {target} API"),
        )),
        Some(TextFormat::Other(v)) => {
            let kind = v.get("type").and_then(Value::as_str).unwrap_or_default();
            Err(unsupported(
                "text.format",
                format!("`{kind}` output has no {target} equivalent"),
            ))
        }
    }
}

fn other_tool_choice(choice: &Value, target: &str) -> ProtocolError {
    let kind = choice
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    unsupported(
        "tool_choice",
        format!("`{kind}` tool choice has no {target} equivalent"),
    )
}

/// The request's client tools as functions: custom tools wrapped, namespaces flattened, tool
/// search left out (every deferred tool is sent, so there is nothing to search), hosted tools
/// refused or left out per `hosted`.
fn flatten_tools(
    tools: &[Tool<'_>],
    hosted: HostedTools,
    target: &str,
) -> Result<Vec<FlatTool>, ProtocolError> {
    let mut out = Vec::new();
    for (n, tool) in tools.iter().enumerate() {
        let path = format!("tools.{n}");
        match tool {
            Tool::Namespace {
                name: ns,
                description,
                tools: inner,
            } => {
                for (k, t) in inner.iter().enumerate() {
                    let ipath = format!("{path}.tools.{k}");
                    let Some(mut flat) = flat_tool(t, Some(ns), &ipath) else {
                        return Err(unsupported(
                            ipath,
                            "only function and custom tools can be carried inside a namespace",
                        ));
                    };
                    // The namespace's description is what tells the model what the group is for.
                    flat.description = match (description, flat.description) {
                        (Some(d), Some(own)) => Some(format!("{d}\n\n{own}")),
                        (Some(d), None) => Some((*d).to_owned()),
                        (None, own) => own,
                    };
                    out.push(flat);
                }
            }
            Tool::ToolSearch => {}
            Tool::Hosted { kind } => {
                if hosted == HostedTools::Reject {
                    return Err(unsupported(
                        path,
                        format!(
                            "`{kind}` is a tool OpenAI runs itself; a {target} upstream cannot run it"
                        ),
                    ));
                }
            }
            t => {
                if let Some(flat) = flat_tool(t, None, &path) {
                    out.push(flat);
                }
            }
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for t in &out {
        if seen.contains(&t.name.as_str()) {
            return Err(ProtocolError::field(
                t.path.clone(),
                format!("two tools would both be named `{}` upstream", t.name),
            ));
        }
        seen.push(&t.name);
    }
    Ok(out)
}

/// A function or custom tool as a function; `None` for other tool types.
fn flat_tool(tool: &Tool<'_>, namespace: Option<&str>, path: &str) -> Option<FlatTool> {
    match tool {
        Tool::Function(f) => Some(FlatTool {
            name: upstream_tool_name(namespace, f.name),
            description: f.description.map(str::to_owned),
            parameters: f.parameters.cloned(),
            strict: f.strict,
            path: path.to_owned(),
        }),
        Tool::Custom(c) => Some(FlatTool {
            name: upstream_tool_name(namespace, c.name),
            description: c.description.map(str::to_owned),
            parameters: Some(custom_tool_parameters(c)),
            strict: None,
            path: path.to_owned(),
        }),
        _ => None,
    }
}

/// The text of a system or developer message.
fn instruction_text(m: &InputMessage<'_>, path: &str) -> Result<String, ProtocolError> {
    let mut texts = Vec::new();
    for (j, part) in m.content.iter().enumerate() {
        match part {
            ContentPart::InputText(t) | ContentPart::OutputText(t) => {
                if !t.is_empty() {
                    texts.push(*t);
                }
            }
            _ => {
                return Err(ProtocolError::field(
                    format!("{path}.content.{j}"),
                    "system and developer messages may only hold text",
                ))
            }
        }
    }
    Ok(texts.join("\n\n"))
}

/// Whether an `encrypted_content` was issued by OpenAI: OpenAI's are Fernet tokens
/// (`gAAAAA…`), which no other upstream can read; anything else came from a converted
/// Anthropic thinking signature.
fn is_openai_encrypted(content: &str) -> bool {
    content.starts_with("gAAAAA")
}

// ---------------------------------------------------------------------------------------------
// → Anthropic
// ---------------------------------------------------------------------------------------------

/// Appends input item `item` to the system text or the turns.
fn item_to_anthropic(
    item: &InputItem<'_>,
    path: &str,
    system: &mut Vec<String>,
    turns: &mut Vec<Turn>,
) -> Result<(), ProtocolError> {
    match item {
        InputItem::Message(m) => match m.role {
            // Anthropic takes instructions only up front, so they are gathered in order.
            Role::System | Role::Developer => system.push(instruction_text(m, path)?),
            Role::User => {
                let mut blocks = Vec::new();
                for (j, part) in m.content.iter().enumerate() {
                    if let Some(b) = part_to_anthropic(part, &format!("{path}.content.{j}"))? {
                        blocks.push(b);
                    }
                }
                turns.push(Turn {
                    role: "user",
                    blocks,
                });
            }
            Role::Assistant => {
                let mut blocks = Vec::new();
                for (j, part) in m.content.iter().enumerate() {
                    match part {
                        ContentPart::OutputText(t)
                        | ContentPart::Refusal(t)
                        | ContentPart::InputText(t) => {
                            if !t.is_empty() {
                                blocks.push(json!({"type": "text", "text": t}));
                            }
                        }
                        _ => {
                            return Err(unsupported(
                                format!("{path}.content.{j}"),
                                "an assistant message may only carry text to Anthropic",
                            ))
                        }
                    }
                }
                turns.push(Turn {
                    role: "assistant",
                    blocks,
                });
            }
        },
        InputItem::FunctionCall(c) => {
            let input = arguments_object(c.input, &format!("{path}.arguments"))?;
            turns.push(Turn {
                role: "assistant",
                blocks: vec![tool_use(c, input, path)?],
            });
        }
        InputItem::CustomToolCall(c) => {
            turns.push(Turn {
                role: "assistant",
                blocks: vec![tool_use(c, json!({"input": c.input}), path)?],
            });
        }
        InputItem::FunctionCallOutput(o) | InputItem::CustomToolCallOutput(o) => {
            turns.push(Turn {
                role: "user",
                blocks: vec![tool_result(o, path)?],
            });
        }
        InputItem::Reasoning(r) => {
            if let Some(block) = reasoning_to_thinking(r) {
                turns.push(Turn {
                    role: "assistant",
                    blocks: vec![block],
                });
            }
        }
        InputItem::ItemReference { .. } => {
            return Err(unsupported(
                path,
                "refers to an item OpenAI stored; another upstream has no record of it",
            ))
        }
        InputItem::Other { kind, .. } => {
            return Err(unsupported(
                path,
                format!("`{kind}` items have no Anthropic equivalent"),
            ))
        }
    }
    Ok(())
}

/// A thinking block from a reasoning item that came from Anthropic (its `encrypted_content` is
/// the thinking signature); `None` for OpenAI's own reasoning, which Anthropic cannot read and
/// the visible turn does not need.
fn reasoning_to_thinking(r: &ReasoningItem<'_>) -> Option<Value> {
    let signature = r
        .encrypted_content
        .filter(|s| !s.is_empty() && !is_openai_encrypted(s))?;
    let texts = if r.summary.is_empty() {
        &r.content
    } else {
        &r.summary
    };
    // Anthropic checks the signature against this exact text, joined as the encoder split it.
    Some(json!({"type": "thinking", "thinking": texts.join("\n\n"), "signature": signature}))
}

fn tool_use(c: &ToolCallItem<'_>, input: Value, path: &str) -> Result<Value, ProtocolError> {
    Ok(json!({
        "type": "tool_use",
        "id": sanitize_tool_id(c.call_id, &format!("{path}.call_id"))?,
        "name": upstream_tool_name(c.namespace, c.name),
        "input": input,
    }))
}

/// A function call's JSON arguments as an object; empty arguments are `{}`.
fn arguments_object(arguments: &str, path: &str) -> Result<Value, ProtocolError> {
    if arguments.trim().is_empty() {
        return Ok(json!({}));
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(ProtocolError::field(path, "must encode a JSON object")),
        Err(e) => Err(ProtocolError::field(
            path,
            format!("is not valid JSON: {e}"),
        )),
    }
}

fn tool_result(o: &ToolOutputItem<'_>, path: &str) -> Result<Value, ProtocolError> {
    let mut block = Map::new();
    block.insert("type".into(), "tool_result".into());
    block.insert(
        "tool_use_id".into(),
        sanitize_tool_id(o.call_id, &format!("{path}.call_id"))?.into(),
    );
    match &o.output {
        // Anthropic accepts a tool_result without content, not with empty text.
        ToolOutput::Text("") => {}
        ToolOutput::Text(t) => {
            block.insert("content".into(), (*t).into());
        }
        ToolOutput::Parts(parts) => {
            let mut blocks = Vec::new();
            for (j, part) in parts.iter().enumerate() {
                if let Some(b) = part_to_anthropic(part, &format!("{path}.output.{j}"))? {
                    blocks.push(b);
                }
            }
            if !blocks.is_empty() {
                block.insert("content".into(), Value::Array(blocks));
            }
        }
    }
    Ok(Value::Object(block))
}

/// A user (or tool output) content part as an Anthropic block; `None` for empty text.
fn part_to_anthropic(part: &ContentPart<'_>, path: &str) -> Result<Option<Value>, ProtocolError> {
    match part {
        ContentPart::InputText(t) | ContentPart::OutputText(t) | ContentPart::Refusal(t) => {
            Ok((!t.is_empty()).then(|| json!({"type": "text", "text": t})))
        }
        ContentPart::InputImage {
            image_url: Some(url),
            ..
        } => {
            if let Some(rest) = url.strip_prefix("data:") {
                let Some((media_type, data)) = rest.split_once(";base64,") else {
                    return Err(ProtocolError::field(
                        format!("{path}.image_url"),
                        "a data URL must have the form data:<media type>;base64,<data>",
                    ));
                };
                return Ok(Some(json!({"type": "image", "source":
                    {"type": "base64", "media_type": media_type, "data": data}})));
            }
            if url.starts_with("https://") || url.starts_with("http://") {
                return Ok(Some(
                    json!({"type": "image", "source": {"type": "url", "url": url}}),
                ));
            }
            Err(unsupported(
                format!("{path}.image_url"),
                "only data: and http(s) image URLs can be carried to Anthropic",
            ))
        }
        ContentPart::InputImage { .. } => Err(unsupported(
            format!("{path}.file_id"),
            "an image uploaded to OpenAI's Files API cannot be read by Anthropic",
        )),
        ContentPart::InputFile(_) => Err(unsupported(
            path,
            "input_file parts cannot be carried to Anthropic by this gateway",
        )),
        ContentPart::Other { kind, .. } => Err(unsupported(
            path,
            format!("`{kind}` parts have no Anthropic equivalent"),
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// → Chat Completions
// ---------------------------------------------------------------------------------------------

/// Appends the Chat messages for input item `item`.
fn item_to_chat(
    item: &InputItem<'_>,
    path: &str,
    messages: &mut Vec<Value>,
) -> Result<(), ProtocolError> {
    match item {
        InputItem::Message(m) => match m.role {
            // Compatible servers' chat templates know `system`, not always `developer`.
            Role::System | Role::Developer => {
                let text = instruction_text(m, path)?;
                if !text.is_empty() {
                    messages.push(json!({"role": "system", "content": text}));
                }
            }
            Role::User => {
                let mut parts = Vec::new();
                for (j, part) in m.content.iter().enumerate() {
                    if let Some(p) = part_to_chat(part, &format!("{path}.content.{j}"))? {
                        parts.push(p);
                    }
                }
                if let Some(content) = chat_content(parts) {
                    messages.push(json!({"role": "user", "content": content}));
                }
            }
            Role::Assistant => {
                let mut text = String::new();
                for (j, part) in m.content.iter().enumerate() {
                    match part {
                        // One output split into parts; concatenated as the model wrote it.
                        ContentPart::OutputText(t)
                        | ContentPart::Refusal(t)
                        | ContentPart::InputText(t) => text.push_str(t),
                        _ => {
                            return Err(unsupported(
                                format!("{path}.content.{j}"),
                                "an assistant message may only carry text to Chat Completions",
                            ))
                        }
                    }
                }
                if !text.is_empty() {
                    messages.push(json!({"role": "assistant", "content": text}));
                }
            }
        },
        InputItem::FunctionCall(c) => {
            // Checked here so a malformed call fails with its own path, not upstream.
            arguments_object(c.input, &format!("{path}.arguments"))?;
            let arguments = if c.input.trim().is_empty() {
                "{}"
            } else {
                c.input
            };
            push_tool_call(messages, chat_tool_call(c, arguments.to_owned()));
        }
        InputItem::CustomToolCall(c) => {
            let arguments = json!({"input": c.input}).to_string();
            push_tool_call(messages, chat_tool_call(c, arguments));
        }
        InputItem::FunctionCallOutput(o) | InputItem::CustomToolCallOutput(o) => {
            let content = match &o.output {
                ToolOutput::Text(t) => (*t).to_owned(),
                ToolOutput::Parts(parts) => {
                    let mut texts = Vec::new();
                    for (j, part) in parts.iter().enumerate() {
                        match part {
                            ContentPart::InputText(t) | ContentPart::OutputText(t) => {
                                texts.push(*t)
                            }
                            _ => {
                                return Err(unsupported(
                                    format!("{path}.output.{j}"),
                                    "Chat Completions tool messages carry only text",
                                ))
                            }
                        }
                    }
                    texts.join("\n\n")
                }
            };
            // A tool message must answer every call, so it is kept even when empty.
            messages.push(json!({"role": "tool", "tool_call_id": o.call_id, "content": content}));
        }
        // OpenAI-compatible servers take no reasoning input (DeepSeek rejects it); the visible
        // turn is whole without it.
        InputItem::Reasoning(_) => {}
        InputItem::ItemReference { .. } => {
            return Err(unsupported(
                path,
                "refers to an item OpenAI stored; another upstream has no record of it",
            ))
        }
        InputItem::Other { kind, .. } => {
            return Err(unsupported(
                path,
                format!("`{kind}` items have no Chat Completions equivalent"),
            ))
        }
    }
    Ok(())
}

fn chat_tool_call(c: &ToolCallItem<'_>, arguments: String) -> Value {
    json!({
        "id": c.call_id,
        "type": "function",
        "function": {"name": upstream_tool_name(c.namespace, c.name), "arguments": arguments},
    })
}

/// Adds a tool call to the assistant message just before it, or to a new one: Chat wants
/// parallel calls (and the text before them) in one assistant message.
fn push_tool_call(messages: &mut Vec<Value>, call: Value) {
    if let Some(last) = messages.last_mut() {
        if last.get("role").and_then(Value::as_str) == Some("assistant") {
            if let Some(m) = last.as_object_mut() {
                match m.get_mut("tool_calls").and_then(Value::as_array_mut) {
                    Some(calls) => calls.push(call),
                    None => {
                        m.insert("tool_calls".into(), json!([call]));
                    }
                }
                return;
            }
        }
    }
    messages.push(json!({"role": "assistant", "content": null, "tool_calls": [call]}));
}

/// A user content part as a Chat part; `None` for empty text.
fn part_to_chat(part: &ContentPart<'_>, path: &str) -> Result<Option<Value>, ProtocolError> {
    match part {
        ContentPart::InputText(t) | ContentPart::OutputText(t) | ContentPart::Refusal(t) => {
            Ok((!t.is_empty()).then(|| json!({"type": "text", "text": t})))
        }
        ContentPart::InputImage {
            image_url: Some(url),
            detail,
            ..
        } => {
            let mut image = Map::new();
            image.insert("url".into(), (*url).into());
            if let Some(d) = detail {
                image.insert("detail".into(), (*d).into());
            }
            Ok(Some(
                json!({"type": "image_url", "image_url": Value::Object(image)}),
            ))
        }
        ContentPart::InputImage { .. } => Err(unsupported(
            format!("{path}.file_id"),
            "Chat Completions takes images by URL, not by uploaded file id",
        )),
        ContentPart::InputFile(v) => {
            if v.get("file_url").is_some_and(|u| !u.is_null()) {
                return Err(unsupported(
                    format!("{path}.file_url"),
                    "Chat Completions takes files as data or file ids, not URLs",
                ));
            }
            let mut file = Map::new();
            for key in ["file_id", "file_data", "filename"] {
                if let Some(x) = v.get(key).filter(|x| !x.is_null()) {
                    file.insert(key.into(), x.clone());
                }
            }
            Ok(Some(json!({"type": "file", "file": Value::Object(file)})))
        }
        ContentPart::Other { kind, .. } => Err(unsupported(
            path,
            format!("`{kind}` parts have no Chat Completions equivalent"),
        )),
    }
}

/// User content from parts: one string when every part is text, else the parts; `None` when
/// empty.
fn chat_content(parts: Vec<Value>) -> Option<Value> {
    if parts.is_empty() {
        return None;
    }
    let texts: Option<Vec<&str>> = parts
        .iter()
        .map(|p| {
            (p.get("type").and_then(Value::as_str) == Some("text"))
                .then(|| p.get("text").and_then(Value::as_str))
                .flatten()
        })
        .collect();
    Some(match texts {
        // Separate parts are separate pieces of input (Codex sends several).
        Some(texts) => Value::String(texts.join("\n\n")),
        None => Value::Array(parts),
    })
}
