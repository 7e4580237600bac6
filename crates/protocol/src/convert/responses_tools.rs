//! How the client tools of a Responses request reach an upstream that has neither custom
//! (free-form) nor namespaced tools (Anthropic Messages, OpenAI-compatible Chat servers), and
//! how that upstream's calls are turned back into what the client defined.
//!
//! * A custom tool becomes a function taking one string argument, `input` (its grammar, if
//!   any, goes into the argument's description). A call `{"input": "<text>"}` of it becomes a
//!   `CustomToolUse` with that text again, so Codex receives the `custom_tool_call` it expects
//!   for `apply_patch`, and policies see the same block whatever the upstream.
//! * A tool inside a `namespace` tool becomes a function named `<namespace>__<name>` (Anthropic
//!   and OpenAI tool names allow only `[A-Za-z0-9_-]`); its calls come back named
//!   `<namespace>.<name>`, the canonical form the Responses encoder splits into `namespace` and
//!   `name`.
//!
//! [`ToolMapping::for_request`] derives the naming from the client's request; the request
//! converters use the same rules, so the gateway only keeps the mapping for the response side.

use serde_json::{json, Value};

use crate::events::{BlockDelta, BlockStart, StreamEvent};
use crate::openai::responses_request::{CustomTool, ResponsesRequest, Tool};
use crate::ProtocolError;

/// What joins a namespace and a tool name in the upstream's tool name.
pub const NAMESPACE_SEPARATOR: &str = "__";

/// The kind of a client tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolKind {
    /// Takes JSON arguments.
    Function,
    /// Takes free-form text; carried upstream as a function with one `input` string.
    Custom,
}

/// One client tool as the upstream sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedTool {
    /// The name the upstream sees and calls: `name`, or `namespace__name`.
    pub upstream_name: String,
    /// The name canonical events carry: `name`, or `namespace.name`.
    pub client_name: String,
    /// Function or custom.
    pub kind: ToolKind,
}

/// The client tools of one Responses request, by their upstream names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolMapping {
    tools: Vec<MappedTool>,
}

impl ToolMapping {
    /// The mapping of a Responses request body's `tools`.
    pub fn for_request(request: &Value) -> Result<Self, ProtocolError> {
        let parsed = ResponsesRequest::parse(request)?;
        Self::from_tools(&parsed.tools)
    }

    /// The mapping of parsed `tools`; hosted and tool-search tools have no client calls.
    pub fn from_tools(tools: &[Tool<'_>]) -> Result<Self, ProtocolError> {
        let mut mapping = Self::default();
        for (n, tool) in tools.iter().enumerate() {
            match tool {
                Tool::Function(f) => mapping.add(None, f.name, ToolKind::Function, n)?,
                Tool::Custom(c) => mapping.add(None, c.name, ToolKind::Custom, n)?,
                Tool::Namespace { name, tools, .. } => {
                    for inner in tools {
                        match inner {
                            Tool::Function(f) => {
                                mapping.add(Some(name), f.name, ToolKind::Function, n)?
                            }
                            Tool::Custom(c) => {
                                mapping.add(Some(name), c.name, ToolKind::Custom, n)?
                            }
                            // The request converters refuse these; nothing to map back.
                            _ => {}
                        }
                    }
                }
                Tool::ToolSearch | Tool::Hosted { .. } => {}
            }
        }
        Ok(mapping)
    }

    fn add(
        &mut self,
        namespace: Option<&str>,
        name: &str,
        kind: ToolKind,
        n: usize,
    ) -> Result<(), ProtocolError> {
        let upstream_name = upstream_tool_name(namespace, name);
        if self.tools.iter().any(|t| t.upstream_name == upstream_name) {
            return Err(ProtocolError::field(
                format!("tools.{n}"),
                format!("two tools would both be named `{upstream_name}` upstream"),
            ));
        }
        let client_name = match namespace {
            Some(ns) => format!("{ns}.{name}"),
            None => name.to_owned(),
        };
        self.tools.push(MappedTool {
            upstream_name,
            client_name,
            kind,
        });
        Ok(())
    }

    /// A mapping of these tools, as given.
    pub fn from_mapped(tools: Vec<MappedTool>) -> Self {
        Self { tools }
    }

    /// Every mapped tool, in request order.
    pub fn tools(&self) -> &[MappedTool] {
        &self.tools
    }

    /// The tool the upstream calls `name`, if the request defined one.
    pub fn by_upstream(&self, name: &str) -> Option<&MappedTool> {
        self.tools.iter().find(|t| t.upstream_name == name)
    }

    /// True when no call needs restoring (no custom and no namespaced tool).
    pub fn is_identity(&self) -> bool {
        self.tools
            .iter()
            .all(|t| t.kind == ToolKind::Function && t.upstream_name == t.client_name)
    }
}

/// The name an upstream without namespaces gives a (possibly namespaced) tool.
pub fn upstream_tool_name(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{ns}{NAMESPACE_SEPARATOR}{name}"),
        None => name.to_owned(),
    }
}

/// The JSON schema of the one-argument function a custom tool becomes upstream.
pub(super) fn custom_tool_parameters(tool: &CustomTool<'_>) -> Value {
    let mut description = "The tool's complete free-form input, as one string.".to_owned();
    if let Some(format) = tool.format {
        if format.get("type").and_then(Value::as_str) == Some("grammar") {
            let syntax = format
                .get("syntax")
                .and_then(Value::as_str)
                .unwrap_or("lark");
            if let Some(definition) = format.get("definition").and_then(Value::as_str) {
                // Without the grammar the model would not know the input's form.
                description.push_str(&format!(
                    " It must match this {syntax} grammar:\n{definition}"
                ));
            }
        }
    }
    json!({
        "type": "object",
        "properties": {"input": {"type": "string", "description": description}},
        "required": ["input"],
        "additionalProperties": false,
    })
}

/// The text of a call of a wrapped custom tool: the `input` string of its JSON arguments. Input
/// that is not that shape (a call cut off by the output limit) is kept as its raw text, so the
/// client sees the malformed call instead of losing it.
pub fn unwrap_custom_input(arguments: &str) -> String {
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(mut obj)) => match obj.remove("input") {
            Some(Value::String(s)) => s,
            Some(other) => other.to_string(),
            None => arguments.to_owned(),
        },
        _ => arguments.to_owned(),
    }
}

/// Turns an upstream's calls of mapped tools back into the client's: namespaced names are
/// restored, and calls of custom tools become `CustomToolUse` blocks. A custom call is buffered
/// until its block stops, because its text is inside a JSON string that must be complete to be
/// read.
#[derive(Debug)]
pub struct ToolCallRestorer {
    mapping: ToolMapping,
    pending: Option<PendingCustom>,
}

/// A custom call whose JSON arguments are being gathered.
#[derive(Debug)]
struct PendingCustom {
    index: usize,
    id: String,
    name: String,
    json: String,
}

impl ToolCallRestorer {
    /// A restorer for the tools of one request.
    pub fn new(mapping: ToolMapping) -> Self {
        Self {
            mapping,
            pending: None,
        }
    }

    /// The events `ev` becomes (none while a custom call is being gathered).
    pub fn push(&mut self, ev: StreamEvent) -> Vec<StreamEvent> {
        match ev {
            StreamEvent::BlockStart {
                index,
                block: BlockStart::ToolUse { id, name },
            } => match self.mapping.by_upstream(&name) {
                Some(t) if t.kind == ToolKind::Custom => {
                    self.pending = Some(PendingCustom {
                        index,
                        id,
                        name: t.client_name.clone(),
                        json: String::new(),
                    });
                    Vec::new()
                }
                Some(t) => vec![StreamEvent::BlockStart {
                    index,
                    block: BlockStart::ToolUse {
                        id,
                        name: t.client_name.clone(),
                    },
                }],
                None => vec![StreamEvent::BlockStart {
                    index,
                    block: BlockStart::ToolUse { id, name },
                }],
            },
            StreamEvent::BlockDelta {
                index,
                delta: BlockDelta::InputJson(j),
            } if self.pending.as_ref().is_some_and(|p| p.index == index) => {
                if let Some(p) = self.pending.as_mut() {
                    p.json.push_str(&j);
                }
                Vec::new()
            }
            StreamEvent::BlockStop { index }
                if self.pending.as_ref().is_some_and(|p| p.index == index) =>
            {
                self.flush()
            }
            // A stream that ends inside a custom call still delivers what it had.
            ev @ (StreamEvent::MessageDelta(_) | StreamEvent::MessageStop) => {
                let mut out = self.flush();
                out.push(ev);
                out
            }
            ev @ StreamEvent::Error(_) => {
                self.pending = None;
                vec![ev]
            }
            ev => vec![ev],
        }
    }

    /// The restored custom call, if one was being gathered.
    fn flush(&mut self) -> Vec<StreamEvent> {
        let Some(p) = self.pending.take() else {
            return Vec::new();
        };
        let input = unwrap_custom_input(&p.json);
        let mut out = vec![StreamEvent::BlockStart {
            index: p.index,
            block: BlockStart::CustomToolUse {
                id: p.id,
                name: p.name,
            },
        }];
        if !input.is_empty() {
            out.push(StreamEvent::BlockDelta {
                index: p.index,
                delta: BlockDelta::CustomInput(input),
            });
        }
        out.push(StreamEvent::BlockStop { index: p.index });
        out
    }
}

/// [`ToolCallRestorer`] over a complete list of events.
pub fn restore_tool_calls(mapping: &ToolMapping, events: Vec<StreamEvent>) -> Vec<StreamEvent> {
    let mut restorer = ToolCallRestorer::new(mapping.clone());
    events
        .into_iter()
        .flat_map(|ev| restorer.push(ev))
        .collect()
}
