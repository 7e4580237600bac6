//! The OpenAI Responses API request (`POST /v1/responses`): a typed, borrowed view of the
//! fields the gateway reads to validate and convert it.
//!
//! The view is for reading only: on a same-API route the gateway forwards the client's original
//! bytes, so fields this view does not name (Codex's `prompt_cache_key`, `client_metadata`,
//! future parameters) reach the upstream untouched; [`ResponsesRequest::body`] keeps them for
//! whoever needs them. Item, content-part and tool types this view does not know parse into an
//! `Other` variant carrying the raw JSON rather than failing: the upstream is the authority on
//! them. Known shapes are checked, and a malformed one is an `InvalidField` naming its path
//! (`input.3.call_id`). As everywhere in OpenAI's API, an explicit `null` counts as absent.

use serde_json::{Map, Value};

use crate::ProtocolError;

/// A Responses request, borrowed from its JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponsesRequest<'a> {
    /// The model asked for.
    pub model: &'a str,
    /// Instructions placed before the input (a system or developer message).
    pub instructions: Option<&'a str>,
    /// The conversation; a string `input` is one user message.
    pub input: Vec<InputItem<'a>>,
    /// The tools the model may call.
    pub tools: Vec<Tool<'a>>,
    /// How the model must choose among the tools.
    pub tool_choice: Option<ToolChoice<'a>>,
    /// Whether the model may call several tools in one turn.
    pub parallel_tool_calls: Option<bool>,
    /// The output limit, reasoning included.
    pub max_output_tokens: Option<u64>,
    /// Sampling temperature (0–2).
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    pub top_p: Option<f64>,
    /// Reasoning settings.
    pub reasoning: Option<ReasoningConfig<'a>>,
    /// `text.format`: plain text or structured output.
    pub text_format: Option<TextFormat<'a>>,
    /// The client wants server-sent events.
    pub stream: bool,
    /// Whether OpenAI should keep the response for later retrieval.
    pub store: Option<bool>,
    /// Extra output the client asked for (`reasoning.encrypted_content`, …).
    pub include: Vec<&'a str>,
    /// Key-value pairs attached to the response.
    pub metadata: Option<&'a Map<String, Value>>,
    /// The deprecated end-user identifier.
    pub user: Option<&'a str>,
    /// The end-user identifier that replaces `user`.
    pub safety_identifier: Option<&'a str>,
    /// A stored response this one continues (server-side conversation state).
    pub previous_response_id: Option<&'a str>,
    /// The whole body, including the fields this view does not name.
    pub body: &'a Map<String, Value>,
}

/// One entry of `input`.
#[derive(Debug, Clone, PartialEq)]
pub enum InputItem<'a> {
    /// A message (`type: "message"`, or the short form with only `role` and `content`).
    Message(InputMessage<'a>),
    /// An earlier function call of the model.
    FunctionCall(ToolCallItem<'a>),
    /// The client's answer to a function call.
    FunctionCallOutput(ToolOutputItem<'a>),
    /// An earlier custom (free-form) tool call of the model.
    CustomToolCall(ToolCallItem<'a>),
    /// The client's answer to a custom tool call.
    CustomToolCallOutput(ToolOutputItem<'a>),
    /// An earlier reasoning item of the model.
    Reasoning(ReasoningItem<'a>),
    /// A reference to an item OpenAI stored (server-side state).
    ItemReference {
        /// The stored item's id.
        id: &'a str,
    },
    /// An item type this view does not name (hosted tool calls, `compaction`, …), kept whole.
    Other {
        /// Its `type`.
        kind: &'a str,
        /// The item as sent.
        item: &'a Value,
    },
}

/// A message of the conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct InputMessage<'a> {
    /// Who speaks.
    pub role: Role,
    /// What they said; string content is one text part.
    pub content: Vec<ContentPart<'a>>,
}

/// The author of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The end user.
    User,
    /// The model, in an earlier turn.
    Assistant,
    /// System instructions.
    System,
    /// Developer instructions (Codex sends its instructions this way).
    Developer,
}

/// A part of a message's content.
#[derive(Debug, Clone, PartialEq)]
pub enum ContentPart<'a> {
    /// Text from the user, system or developer.
    InputText(&'a str),
    /// Text the model wrote in an earlier turn.
    OutputText(&'a str),
    /// A refusal the model wrote in an earlier turn.
    Refusal(&'a str),
    /// An image, by URL (`data:` or http(s)) or by uploaded file id.
    InputImage {
        /// `image_url`, when given.
        image_url: Option<&'a str>,
        /// `file_id`, when given.
        file_id: Option<&'a str>,
        /// `detail` (`low`, `high`, `auto`), when given.
        detail: Option<&'a str>,
    },
    /// A file (PDF, …), kept whole.
    InputFile(&'a Value),
    /// A part type this view does not name (`input_audio`, …), kept whole.
    Other {
        /// Its `type`.
        kind: &'a str,
        /// The part as sent.
        part: &'a Value,
    },
}

/// An earlier tool call: a `function_call` (input = JSON `arguments`) or a `custom_tool_call`
/// (input = free-form `input`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCallItem<'a> {
    /// The id its output refers to.
    pub call_id: &'a str,
    /// The tool's name.
    pub name: &'a str,
    /// The namespace of a tool defined inside a `namespace` tool.
    pub namespace: Option<&'a str>,
    /// The arguments (JSON text) or the custom input (free-form text).
    pub input: &'a str,
}

/// The client's answer to a tool call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutputItem<'a> {
    /// The call answered.
    pub call_id: &'a str,
    /// What the tool returned.
    pub output: ToolOutput<'a>,
}

/// A tool's output: text, or content parts (text and images).
#[derive(Debug, Clone, PartialEq)]
pub enum ToolOutput<'a> {
    /// Plain text.
    Text(&'a str),
    /// Content parts.
    Parts(Vec<ContentPart<'a>>),
}

/// An earlier reasoning item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasoningItem<'a> {
    /// The summary texts, in order.
    pub summary: Vec<&'a str>,
    /// The raw reasoning texts (open-weight models), in order.
    pub content: Vec<&'a str>,
    /// The opaque reasoning state, when the client asked for it.
    pub encrypted_content: Option<&'a str>,
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq)]
pub enum Tool<'a> {
    /// A function taking JSON arguments.
    Function(FunctionTool<'a>),
    /// A tool taking free-form text, optionally constrained by a grammar.
    Custom(CustomTool<'a>),
    /// A group of function and custom tools called with a `namespace`.
    Namespace {
        /// The namespace, as calls name it.
        name: &'a str,
        /// What the namespace is for.
        description: Option<&'a str>,
        /// The tools inside it.
        tools: Vec<Tool<'a>>,
    },
    /// Search over tools whose definitions are deferred (`defer_loading`).
    ToolSearch,
    /// A tool OpenAI runs itself (`web_search`, `file_search`, `code_interpreter`, …).
    Hosted {
        /// Its `type`.
        kind: &'a str,
    },
}

/// A function tool.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionTool<'a> {
    /// Its name.
    pub name: &'a str,
    /// What it does.
    pub description: Option<&'a str>,
    /// The JSON schema of its arguments.
    pub parameters: Option<&'a Value>,
    /// Whether OpenAI enforces the schema.
    pub strict: Option<bool>,
}

/// A custom (free-form) tool.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomTool<'a> {
    /// Its name.
    pub name: &'a str,
    /// What it does.
    pub description: Option<&'a str>,
    /// `format`: unconstrained text, or a grammar (`{type:"grammar", syntax, definition}`).
    pub format: Option<&'a Value>,
}

/// `tool_choice`.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolChoice<'a> {
    /// The model decides.
    Auto,
    /// No tool.
    None,
    /// At least one tool.
    Required,
    /// This function.
    Function {
        /// Its name.
        name: &'a str,
    },
    /// This custom tool.
    Custom {
        /// Its name.
        name: &'a str,
    },
    /// Another form (`allowed_tools`, a hosted tool type, …), kept whole.
    Other(&'a Value),
}

/// `reasoning`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasoningConfig<'a> {
    /// `none`, `minimal`, `low`, `medium`, `high` or `xhigh`.
    pub effort: Option<&'a str>,
    /// `auto`, `concise` or `detailed`: whether summaries are returned.
    pub summary: Option<&'a str>,
}

/// `text.format`.
#[derive(Debug, Clone, PartialEq)]
pub enum TextFormat<'a> {
    /// Plain text (the default).
    Text,
    /// Output constrained by a JSON schema; the whole format object.
    JsonSchema(&'a Value),
    /// Any JSON object.
    JsonObject,
    /// A format type this view does not name, kept whole.
    Other(&'a Value),
}

/// Checks that `body` is a Responses request in shape; the error names the field.
pub fn validate(body: &Value) -> Result<(), ProtocolError> {
    ResponsesRequest::parse(body).map(|_| ())
}

/// The request fields a Response object repeats (`instructions`, `tools`, `tool_choice`, …),
/// for an encoder that builds the response itself; only those present are returned.
pub fn response_echo(body: &Value) -> Map<String, Value> {
    const ECHOED: [&str; 20] = [
        "background",
        "instructions",
        "max_output_tokens",
        "max_tool_calls",
        "metadata",
        "parallel_tool_calls",
        "previous_response_id",
        "prompt_cache_key",
        "reasoning",
        "safety_identifier",
        "service_tier",
        "store",
        "temperature",
        "text",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "truncation",
        "user",
    ];
    let mut out = Map::new();
    if let Some(obj) = body.as_object() {
        for key in ECHOED {
            if let Some(v) = obj.get(key) {
                out.insert(key.to_owned(), v.clone());
            }
        }
    }
    out
}

impl<'a> ResponsesRequest<'a> {
    /// Reads `body`; the error names the first malformed field.
    pub fn parse(body: &'a Value) -> Result<Self, ProtocolError> {
        let Some(obj) = body.as_object() else {
            return Err(ProtocolError::field("body", "must be a JSON object"));
        };
        let model = match present(obj.get("model")) {
            Some(Value::String(s)) if !s.is_empty() => s.as_str(),
            Some(Value::String(_)) => {
                return Err(ProtocolError::field("model", "must not be empty"))
            }
            Some(_) => return Err(ProtocolError::field("model", "must be a string")),
            // A stored prompt template may name the model instead.
            None if present(obj.get("prompt")).is_some() => "",
            None => return Err(ProtocolError::field("model", "is required")),
        };
        let input = match present(obj.get("input")) {
            None => Vec::new(),
            Some(Value::String(s)) => vec![InputItem::Message(InputMessage {
                role: Role::User,
                content: vec![ContentPart::InputText(s)],
            })],
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| parse_item(item, &format!("input.{i}")))
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(ProtocolError::field(
                    "input",
                    "must be a string or an array of items",
                ))
            }
        };
        let tools = match present(obj.get("tools")) {
            None => Vec::new(),
            Some(Value::Array(tools)) => tools
                .iter()
                .enumerate()
                .map(|(n, tool)| parse_tool(tool, &format!("tools.{n}")))
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(ProtocolError::field("tools", "must be an array")),
        };
        let include = match present(obj.get("include")) {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(k, v)| {
                    v.as_str().ok_or_else(|| {
                        ProtocolError::field(format!("include.{k}"), "must be a string")
                    })
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(ProtocolError::field(
                    "include",
                    "must be an array of strings",
                ))
            }
        };
        let metadata = match present(obj.get("metadata")) {
            None => None,
            Some(Value::Object(m)) => Some(m),
            Some(_) => return Err(ProtocolError::field("metadata", "must be an object")),
        };
        Ok(Self {
            model,
            instructions: opt_str(obj, "instructions", "instructions")?,
            input,
            tools,
            tool_choice: present(obj.get("tool_choice"))
                .map(parse_tool_choice)
                .transpose()?,
            parallel_tool_calls: opt_bool(obj, "parallel_tool_calls")?,
            max_output_tokens: opt_count(obj, "max_output_tokens")?,
            temperature: opt_number(obj, "temperature")?,
            top_p: opt_number(obj, "top_p")?,
            reasoning: present(obj.get("reasoning"))
                .map(parse_reasoning)
                .transpose()?,
            text_format: present(obj.get("text"))
                .map(parse_text_format)
                .transpose()?
                .flatten(),
            stream: opt_bool(obj, "stream")?.unwrap_or(false),
            store: opt_bool(obj, "store")?,
            include,
            metadata,
            user: opt_str(obj, "user", "user")?,
            safety_identifier: opt_str(obj, "safety_identifier", "safety_identifier")?,
            previous_response_id: opt_str(obj, "previous_response_id", "previous_response_id")?,
            body: obj,
        })
    }
}

/// Reads one input item at `path`.
fn parse_item<'a>(item: &'a Value, path: &str) -> Result<InputItem<'a>, ProtocolError> {
    let Some(obj) = item.as_object() else {
        return Err(ProtocolError::field(path, "must be an object"));
    };
    let kind = match present(obj.get("type")) {
        Some(Value::String(t)) => t.as_str(),
        Some(_) => {
            return Err(ProtocolError::field(
                format!("{path}.type"),
                "must be a string",
            ))
        }
        // The short message form `{role, content}` has no type.
        None if obj.contains_key("role") => "message",
        None => return Err(ProtocolError::field(format!("{path}.type"), "is required")),
    };
    Ok(match kind {
        "message" => InputItem::Message(parse_message(obj, path)?),
        "function_call" => InputItem::FunctionCall(parse_call(obj, path, "arguments")?),
        "custom_tool_call" => InputItem::CustomToolCall(parse_call(obj, path, "input")?),
        "function_call_output" => InputItem::FunctionCallOutput(parse_output(obj, path)?),
        "custom_tool_call_output" => InputItem::CustomToolCallOutput(parse_output(obj, path)?),
        "reasoning" => InputItem::Reasoning(parse_reasoning_item(obj, path)?),
        "item_reference" => InputItem::ItemReference {
            id: req_str(obj, "id", path)?,
        },
        other => InputItem::Other { kind: other, item },
    })
}

fn parse_message<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
) -> Result<InputMessage<'a>, ProtocolError> {
    let role = match req_str(obj, "role", path)? {
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "system" => Role::System,
        "developer" => Role::Developer,
        _ => {
            return Err(ProtocolError::field(
                format!("{path}.role"),
                "must be one of user, assistant, system, developer",
            ))
        }
    };
    let content = match obj.get("content") {
        Some(Value::String(s)) if role == Role::Assistant => vec![ContentPart::OutputText(s)],
        Some(Value::String(s)) => vec![ContentPart::InputText(s)],
        Some(Value::Array(parts)) => parts
            .iter()
            .enumerate()
            .map(|(j, part)| parse_part(part, &format!("{path}.content.{j}")))
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(ProtocolError::field(
                format!("{path}.content"),
                "must be a string or an array of content parts",
            ))
        }
        None => {
            return Err(ProtocolError::field(
                format!("{path}.content"),
                "is required",
            ))
        }
    };
    Ok(InputMessage { role, content })
}

fn parse_part<'a>(part: &'a Value, path: &str) -> Result<ContentPart<'a>, ProtocolError> {
    let Some(obj) = part.as_object() else {
        return Err(ProtocolError::field(path, "must be an object"));
    };
    Ok(match req_str(obj, "type", path)? {
        "input_text" => ContentPart::InputText(req_str(obj, "text", path)?),
        "output_text" => ContentPart::OutputText(req_str(obj, "text", path)?),
        "refusal" => ContentPart::Refusal(req_str(obj, "refusal", path)?),
        "input_image" => ContentPart::InputImage {
            image_url: opt_str(obj, "image_url", &format!("{path}.image_url"))?,
            file_id: opt_str(obj, "file_id", &format!("{path}.file_id"))?,
            detail: opt_str(obj, "detail", &format!("{path}.detail"))?,
        },
        "input_file" => ContentPart::InputFile(part),
        other => ContentPart::Other { kind: other, part },
    })
}

fn parse_call<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
    input_key: &str,
) -> Result<ToolCallItem<'a>, ProtocolError> {
    Ok(ToolCallItem {
        call_id: req_str(obj, "call_id", path)?,
        name: req_str(obj, "name", path)?,
        namespace: opt_str(obj, "namespace", &format!("{path}.namespace"))?,
        input: req_str(obj, input_key, path)?,
    })
}

fn parse_output<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
) -> Result<ToolOutputItem<'a>, ProtocolError> {
    let output = match obj.get("output") {
        Some(Value::String(s)) => ToolOutput::Text(s),
        Some(Value::Array(parts)) => ToolOutput::Parts(
            parts
                .iter()
                .enumerate()
                .map(|(j, part)| parse_part(part, &format!("{path}.output.{j}")))
                .collect::<Result<_, _>>()?,
        ),
        Some(_) => {
            return Err(ProtocolError::field(
                format!("{path}.output"),
                "must be a string or an array of content parts",
            ))
        }
        None => {
            return Err(ProtocolError::field(
                format!("{path}.output"),
                "is required",
            ))
        }
    };
    Ok(ToolOutputItem {
        call_id: req_str(obj, "call_id", path)?,
        output,
    })
}

fn parse_reasoning_item<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
) -> Result<ReasoningItem<'a>, ProtocolError> {
    let texts = |key: &str| -> Result<Vec<&'a str>, ProtocolError> {
        match present(obj.get(key)) {
            None => Ok(Vec::new()),
            Some(Value::Array(parts)) => parts
                .iter()
                .enumerate()
                .map(|(j, part)| {
                    part.get("text").and_then(Value::as_str).ok_or_else(|| {
                        ProtocolError::field(format!("{path}.{key}.{j}.text"), "must be a string")
                    })
                })
                .collect(),
            Some(_) => Err(ProtocolError::field(
                format!("{path}.{key}"),
                "must be an array",
            )),
        }
    };
    Ok(ReasoningItem {
        summary: texts("summary")?,
        content: texts("content")?,
        encrypted_content: opt_str(
            obj,
            "encrypted_content",
            &format!("{path}.encrypted_content"),
        )?,
    })
}

fn parse_tool<'a>(tool: &'a Value, path: &str) -> Result<Tool<'a>, ProtocolError> {
    let Some(obj) = tool.as_object() else {
        return Err(ProtocolError::field(path, "must be an object"));
    };
    Ok(match req_str(obj, "type", path)? {
        "function" => Tool::Function(FunctionTool {
            name: req_str(obj, "name", path)?,
            description: opt_str(obj, "description", &format!("{path}.description"))?,
            parameters: present(obj.get("parameters")),
            strict: opt_bool(obj, "strict")
                .map_err(|_| ProtocolError::field(format!("{path}.strict"), "must be a boolean"))?,
        }),
        "custom" => Tool::Custom(CustomTool {
            name: req_str(obj, "name", path)?,
            description: opt_str(obj, "description", &format!("{path}.description"))?,
            format: present(obj.get("format")),
        }),
        "namespace" => {
            let Some(Value::Array(inner)) = obj.get("tools") else {
                return Err(ProtocolError::field(
                    format!("{path}.tools"),
                    "must be an array",
                ));
            };
            Tool::Namespace {
                name: req_str(obj, "name", path)?,
                description: opt_str(obj, "description", &format!("{path}.description"))?,
                tools: inner
                    .iter()
                    .enumerate()
                    .map(|(k, t)| parse_tool(t, &format!("{path}.tools.{k}")))
                    .collect::<Result<_, _>>()?,
            }
        }
        "tool_search" => Tool::ToolSearch,
        other => Tool::Hosted { kind: other },
    })
}

fn parse_tool_choice(choice: &Value) -> Result<ToolChoice<'_>, ProtocolError> {
    match choice {
        Value::String(s) => match s.as_str() {
            "auto" => Ok(ToolChoice::Auto),
            "none" => Ok(ToolChoice::None),
            "required" => Ok(ToolChoice::Required),
            _ => Err(ProtocolError::field(
                "tool_choice",
                "must be auto, none, required or an object",
            )),
        },
        Value::Object(obj) => match obj.get("type").and_then(Value::as_str) {
            Some("function") => Ok(ToolChoice::Function {
                name: req_str(obj, "name", "tool_choice")?,
            }),
            Some("custom") => Ok(ToolChoice::Custom {
                name: req_str(obj, "name", "tool_choice")?,
            }),
            Some(_) => Ok(ToolChoice::Other(choice)),
            None => Err(ProtocolError::field("tool_choice.type", "is required")),
        },
        _ => Err(ProtocolError::field(
            "tool_choice",
            "must be a string or an object",
        )),
    }
}

fn parse_reasoning(reasoning: &Value) -> Result<ReasoningConfig<'_>, ProtocolError> {
    let Some(obj) = reasoning.as_object() else {
        return Err(ProtocolError::field("reasoning", "must be an object"));
    };
    Ok(ReasoningConfig {
        effort: opt_str(obj, "effort", "reasoning.effort")?,
        // `generate_summary` is the deprecated spelling.
        summary: match opt_str(obj, "summary", "reasoning.summary")? {
            Some(s) => Some(s),
            None => opt_str(obj, "generate_summary", "reasoning.generate_summary")?,
        },
    })
}

fn parse_text_format(text: &Value) -> Result<Option<TextFormat<'_>>, ProtocolError> {
    let Some(obj) = text.as_object() else {
        return Err(ProtocolError::field("text", "must be an object"));
    };
    let Some(format) = present(obj.get("format")) else {
        return Ok(None);
    };
    Ok(Some(match format.get("type").and_then(Value::as_str) {
        Some("text") => TextFormat::Text,
        Some("json_schema") => TextFormat::JsonSchema(format),
        Some("json_object") => TextFormat::JsonObject,
        Some(_) => TextFormat::Other(format),
        None => return Err(ProtocolError::field("text.format.type", "is required")),
    }))
}

/// The value of an optional field, with an explicit `null` read as absent.
fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

/// The required string `key` of the object at `path`.
fn req_str<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a str, ProtocolError> {
    match obj.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(ProtocolError::field(
            format!("{path}.{key}"),
            "must be a string",
        )),
        None => Err(ProtocolError::field(format!("{path}.{key}"), "is required")),
    }
}

/// An optional string field; `field` is its full path for the error.
fn opt_str<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<Option<&'a str>, ProtocolError> {
    match present(obj.get(key)) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ProtocolError::field(field, "must be a string")),
    }
}

fn opt_bool(obj: &Map<String, Value>, key: &str) -> Result<Option<bool>, ProtocolError> {
    match present(obj.get(key)) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ProtocolError::field(key, "must be a boolean")),
    }
}

fn opt_number(obj: &Map<String, Value>, key: &str) -> Result<Option<f64>, ProtocolError> {
    match present(obj.get(key)) {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| ProtocolError::field(key, "must be a number")),
    }
}

fn opt_count(obj: &Map<String, Value>, key: &str) -> Result<Option<u64>, ProtocolError> {
    match present(obj.get(key)) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| ProtocolError::field(key, "must be a non-negative integer")),
    }
}
