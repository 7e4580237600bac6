//! The wire-invariant validator: checks a streamed response against the rules clients (Claude
//! Code, Codex, the official SDKs) rely on, and summarises its content for comparison.
//!
//! Every streamed response in the test suite goes through it (DESIGN §2, reference §2.6); each
//! rule exists because breaking it broke a real client (reference §2.7). The validators are
//! incremental so the gateway can also run them on a live stream; the byte functions wrap them.
//! They report every violation they find rather than stopping at the first, so one test failure
//! shows everything wrong with a stream.

use std::fmt;

use serde_json::Value;

use crate::sse::{SseDecoder, SseFrame};

/// One broken wire invariant, described for a human.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation(pub String);

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a valid stream said: its content, how it ended, and how many events it had.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ValidatedStream {
    /// All visible text, concatenated over blocks (Anthropic) or chunks (OpenAI).
    pub text: String,
    /// All thinking / reasoning text, concatenated.
    pub thinking: String,
    /// The tool calls, in order.
    pub tool_calls: Vec<ValidatedToolCall>,
    /// The stop reason in the stream's own vocabulary (`stop_reason` or `finish_reason`).
    pub stop_reason: Option<String>,
    /// The stream ended with a well-formed error event instead of a complete message.
    pub ended_with_error: bool,
    /// How many data events the stream had (comments and `[DONE]` excluded).
    pub events: usize,
}

/// A complete tool call as the client would assemble it.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedToolCall {
    /// The call id (`toolu_…`, `call_…`).
    pub id: String,
    /// The tool's name (`namespace.name` for a call of a namespaced Responses tool).
    pub name: String,
    /// The parsed arguments (a JSON object); for a custom (free-form) tool call, its input
    /// text as a JSON string.
    pub input: Value,
}

/// Validates a complete Anthropic Messages SSE body.
pub fn validate_anthropic_sse(bytes: &[u8]) -> Result<ValidatedStream, Vec<Violation>> {
    let mut decoder = SseDecoder::new();
    let mut v = AnthropicValidator::new();
    for frame in decoder.push(bytes) {
        v.push(&frame);
    }
    v.checker.incomplete_tail(decoder.pending());
    v.finish()
}

/// Validates a complete OpenAI Chat Completions SSE body.
pub fn validate_chat_sse(bytes: &[u8]) -> Result<ValidatedStream, Vec<Violation>> {
    let mut decoder = SseDecoder::new();
    let mut v = ChatValidator::new();
    for frame in decoder.push(bytes) {
        v.push(&frame);
    }
    v.checker.incomplete_tail(decoder.pending());
    v.finish()
}

/// What both validators share: the summary being built and the violations found.
#[derive(Debug, Default)]
struct Checker {
    summary: ValidatedStream,
    violations: Vec<Violation>,
    /// 1-based number of the frame being checked, for messages.
    frame: usize,
}

impl Checker {
    fn violation(&mut self, what: impl fmt::Display) {
        self.violations
            .push(Violation(format!("frame {}: {what}", self.frame)));
    }

    fn incomplete_tail(&mut self, pending: &[u8]) {
        if !pending.is_empty() {
            self.violations.push(Violation(format!(
                "the stream ends with an incomplete frame ({} bytes without a terminating blank line): truncated",
                pending.len()
            )));
        }
    }

    fn finish(self) -> Result<ValidatedStream, Vec<Violation>> {
        if self.violations.is_empty() {
            Ok(self.summary)
        } else {
            Err(self.violations)
        }
    }
}

/// Parses a tool call's concatenated arguments; no fragments at all means no arguments (`{}`).
fn parse_arguments(json: &str) -> Result<Value, serde_json::Error> {
    if json.trim().is_empty() {
        Ok(Value::Object(serde_json::Map::new()))
    } else {
        serde_json::from_str(json)
    }
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

// ---------------------------------------------------------------------------------------------
// Anthropic
// ---------------------------------------------------------------------------------------------

/// Incremental validator of an Anthropic Messages stream.
#[derive(Debug, Default)]
pub struct AnthropicValidator {
    checker: Checker,
    phase: AnthropicPhase,
    /// The index the next `content_block_start` must carry.
    next_index: usize,
    open: Option<AnthropicBlock>,
    /// How many tool_use blocks were started.
    tool_uses: usize,
}

/// Where the stream is in the message's grammar.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum AnthropicPhase {
    /// Nothing yet: only `message_start` (or `error`) may come.
    #[default]
    BeforeStart,
    /// Blocks may start, stream and stop.
    Blocks,
    /// `message_delta` was seen: only pings and `message_stop` may come.
    Delta,
    /// `message_stop` was seen: nothing may come.
    Stopped,
    /// An `error` event was seen: nothing may come.
    Errored,
}

/// The block currently open.
#[derive(Debug)]
struct AnthropicBlock {
    index: usize,
    kind: AnthropicBlockKind,
    /// A non-empty text delta (or initial text) was seen.
    has_text: bool,
}

/// The block kinds whose deltas the validator checks.
#[derive(Debug)]
enum AnthropicBlockKind {
    Text,
    Thinking,
    ToolUse {
        id: String,
        name: String,
        json: String,
    },
    /// redacted_thinking, server tools and future types: any delta is accepted.
    Other(String),
}

impl AnthropicBlockKind {
    fn name(&self) -> &str {
        match self {
            Self::Text => "text",
            Self::Thinking => "thinking",
            Self::ToolUse { .. } => "tool_use",
            Self::Other(t) => t,
        }
    }
}

impl AnthropicValidator {
    /// A validator at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// The violations found so far.
    pub fn violations(&self) -> &[Violation] {
        &self.checker.violations
    }

    /// Checks the next frame.
    pub fn push(&mut self, frame: &SseFrame) {
        self.checker.frame += 1;
        if matches!(
            self.phase,
            AnthropicPhase::Stopped | AnthropicPhase::Errored
        ) {
            let end = if self.phase == AnthropicPhase::Stopped {
                "message_stop"
            } else {
                "error"
            };
            self.checker
                .violation(format_args!("bytes after {end}: nothing may follow it"));
            return;
        }
        if frame.is_comment() {
            return;
        }
        let data: Value = match serde_json::from_str(&frame.data) {
            Ok(v) => v,
            Err(e) => {
                self.checker
                    .violation(format_args!("data is not JSON ({e}): {:?}", frame.data));
                return;
            }
        };
        let Some(ty) = str_at(&data, "type").map(str::to_owned) else {
            self.checker.violation("event data has no \"type\"");
            return;
        };
        // The SDKs dispatch on the `event:` line, so it must name the same event as the data.
        if frame.event.as_deref() != Some(ty.as_str()) {
            self.checker.violation(format_args!(
                "event: line {:?} does not match data type {ty:?}",
                frame.event
            ));
        }
        self.checker.summary.events += 1;
        if self.phase == AnthropicPhase::BeforeStart && ty != "message_start" && ty != "error" {
            self.checker.violation(format_args!(
                "the first event must be message_start, got {ty}"
            ));
            // Check the rest as if it had started, so later rules still report.
            self.phase = AnthropicPhase::Blocks;
        }
        match ty.as_str() {
            "message_start" => self.message_start(&data),
            "content_block_start" => self.block_start(&data),
            "content_block_delta" => self.block_delta(&data),
            "content_block_stop" => self.block_stop(&data),
            "message_delta" => self.message_delta(&data),
            "message_stop" => self.message_stop(),
            "error" => {
                let error = data.get("error").unwrap_or(&Value::Null);
                if str_at(error, "type").is_none() || str_at(error, "message").is_none() {
                    self.checker
                        .violation("error event without error.type and error.message");
                }
                self.checker.summary.ended_with_error = true;
                self.phase = AnthropicPhase::Errored;
            }
            // Pings and event types added after this validator was written may come anywhere
            // after message_start.
            _ => {}
        }
    }

    /// Ends the stream: the summary if every invariant held, else every violation found.
    pub fn finish(mut self) -> Result<ValidatedStream, Vec<Violation>> {
        match self.phase {
            AnthropicPhase::Stopped | AnthropicPhase::Errored => {}
            AnthropicPhase::BeforeStart => {
                self.checker
                    .violations
                    .push(Violation("empty stream: no message_start".into()));
            }
            AnthropicPhase::Blocks | AnthropicPhase::Delta => {
                if let Some(b) = &self.open {
                    self.checker.violations.push(Violation(format!(
                        "block {} was never stopped (content_block_stop missing)",
                        b.index
                    )));
                }
                self.checker.violations.push(Violation(
                    "the stream ended without message_stop: truncated or falsely complete".into(),
                ));
            }
        }
        self.checker.finish()
    }

    fn index(&mut self, data: &Value) -> Option<usize> {
        let index = data
            .get("index")
            .and_then(Value::as_u64)
            .and_then(|i| usize::try_from(i).ok());
        if index.is_none() {
            self.checker
                .violation("block event without a numeric index");
        }
        index
    }

    fn message_start(&mut self, data: &Value) {
        if self.phase != AnthropicPhase::BeforeStart {
            self.checker
                .violation("a second message_start: exactly one is allowed, first");
            return;
        }
        self.phase = AnthropicPhase::Blocks;
        let message = data.get("message").unwrap_or(&Value::Null);
        if str_at(message, "type") != Some("message")
            || str_at(message, "role") != Some("assistant")
        {
            self.checker.violation(
                "message_start.message must have type \"message\" and role \"assistant\"",
            );
        }
        if str_at(message, "id").is_none_or(str::is_empty) {
            self.checker.violation("message_start.message.id is empty");
        }
    }

    fn block_start(&mut self, data: &Value) {
        if self.phase == AnthropicPhase::Delta {
            self.checker
                .violation("content_block_start after message_delta: content after the end");
        }
        let Some(index) = self.index(data) else {
            return;
        };
        if let Some(open) = &self.open {
            let open_index = open.index;
            self.checker.violation(format_args!(
                "block {index} started while block {open_index} is still open: blocks must not interleave"
            ));
        }
        if index != self.next_index {
            let expected = self.next_index;
            self.checker.violation(format_args!(
                "block index {index} where {expected} was expected: indices start at 0, \
                 increase by 1 and each block starts once"
            ));
        }
        self.next_index = self.next_index.max(index + 1);
        let block = data.get("content_block").unwrap_or(&Value::Null);
        let ty = str_at(block, "type").unwrap_or_default();
        let mut has_text = false;
        let kind = match ty {
            "text" => {
                if self.tool_uses > 0 {
                    self.checker.violation(format_args!(
                        "text block {index} after a tool_use block: no text may follow a tool call"
                    ));
                }
                let initial = str_at(block, "text").unwrap_or_default();
                has_text = !initial.is_empty();
                self.checker.summary.text.push_str(initial);
                AnthropicBlockKind::Text
            }
            "thinking" => AnthropicBlockKind::Thinking,
            "tool_use" => {
                self.tool_uses += 1;
                let id = str_at(block, "id").unwrap_or_default().to_owned();
                let name = str_at(block, "name").unwrap_or_default().to_owned();
                if id.is_empty() || name.is_empty() {
                    self.checker.violation(format_args!(
                        "tool_use block {index} needs a non-empty id and name (id {id:?}, name {name:?})"
                    ));
                }
                AnthropicBlockKind::ToolUse {
                    id,
                    name,
                    json: String::new(),
                }
            }
            other => AnthropicBlockKind::Other(other.to_owned()),
        };
        self.open = Some(AnthropicBlock {
            index,
            kind,
            has_text,
        });
    }

    fn block_delta(&mut self, data: &Value) {
        let Some(index) = self.index(data) else {
            return;
        };
        let Some(block) = self.open.as_mut().filter(|b| b.index == index) else {
            self.checker.violation(format_args!(
                "content_block_delta to block {index}, which is not open"
            ));
            return;
        };
        let delta = data.get("delta").unwrap_or(&Value::Null);
        let delta_type = str_at(delta, "type").unwrap_or_default();
        let summary = &mut self.checker.summary;
        let fits = match (delta_type, &mut block.kind) {
            ("text_delta", AnthropicBlockKind::Text) => {
                let t = str_at(delta, "text").unwrap_or_default();
                block.has_text |= !t.is_empty();
                summary.text.push_str(t);
                true
            }
            ("thinking_delta", AnthropicBlockKind::Thinking) => {
                summary
                    .thinking
                    .push_str(str_at(delta, "thinking").unwrap_or_default());
                true
            }
            ("signature_delta", AnthropicBlockKind::Thinking) => true,
            ("input_json_delta", AnthropicBlockKind::ToolUse { json, .. }) => {
                json.push_str(str_at(delta, "partial_json").unwrap_or_default());
                true
            }
            ("text_delta" | "thinking_delta" | "signature_delta" | "input_json_delta", _) => false,
            // Delta types this validator does not know cannot be matched to a block type.
            _ => true,
        };
        if !fits {
            let block_type = block.kind.name().to_owned();
            self.checker.violation(format_args!(
                "{delta_type} sent to block {index}, a {block_type} block: delta and block types must match"
            ));
        }
    }

    fn block_stop(&mut self, data: &Value) {
        let Some(index) = self.index(data) else {
            return;
        };
        let Some(block) = self.open.take_if(|b| b.index == index) else {
            self.checker.violation(format_args!(
                "content_block_stop for block {index}, which is not open: each block stops once"
            ));
            return;
        };
        match block.kind {
            AnthropicBlockKind::Text if !block.has_text => {
                self.checker.violation(format_args!(
                    "text block {index} is empty: Anthropic rejects empty text blocks in history"
                ));
            }
            AnthropicBlockKind::ToolUse { id, name, json } => {
                let input = match parse_arguments(&json) {
                    Ok(v) if v.is_object() => v,
                    Ok(v) => {
                        self.checker.violation(format_args!(
                            "tool_use block {index} input is not a JSON object: {v}"
                        ));
                        v
                    }
                    Err(e) => {
                        self.checker.violation(format_args!(
                            "tool_use block {index} partial_json does not parse as a JSON object ({e}): {json:?}"
                        ));
                        Value::Null
                    }
                };
                self.checker
                    .summary
                    .tool_calls
                    .push(ValidatedToolCall { id, name, input });
            }
            _ => {}
        }
    }

    fn message_delta(&mut self, data: &Value) {
        match self.phase {
            AnthropicPhase::Delta => {
                self.checker
                    .violation("a second message_delta: exactly one is allowed");
                return;
            }
            _ => self.phase = AnthropicPhase::Delta,
        }
        if let Some(b) = &self.open {
            let i = b.index;
            self.checker.violation(format_args!(
                "message_delta while block {i} is still open: it must follow every block's stop"
            ));
        }
        let stop_reason = data
            .get("delta")
            .and_then(|d| str_at(d, "stop_reason"))
            .map(str::to_owned);
        match (stop_reason.as_deref(), self.tool_uses) {
            (Some("tool_use"), 0) => self
                .checker
                .violation("stop_reason is tool_use but the message has no tool_use block"),
            // A tool call cut off by max_tokens is legitimately not a tool_use stop.
            (Some("tool_use" | "max_tokens"), _) | (_, 0) => {}
            (other, n) => self.checker.violation(format_args!(
                "the message has {n} tool_use block(s) but stop_reason is {other:?}, not tool_use"
            )),
        }
        self.checker.summary.stop_reason = stop_reason;
    }

    fn message_stop(&mut self) {
        if self.phase != AnthropicPhase::Delta {
            self.checker.violation(
                "message_stop without a preceding message_delta: exactly one message_delta \
                 must come after the blocks",
            );
        }
        self.phase = AnthropicPhase::Stopped;
    }
}

// ---------------------------------------------------------------------------------------------
// OpenAI Chat Completions
// ---------------------------------------------------------------------------------------------

/// Incremental validator of an OpenAI Chat Completions chunk stream.
#[derive(Debug, Default)]
pub struct ChatValidator {
    checker: Checker,
    phase: ChatPhase,
    /// A chunk (other than an error chunk) was seen.
    saw_chunk: bool,
    /// Tool calls by their index.
    tools: Vec<ChatToolCall>,
}

/// A tool call being assembled from chunks.
#[derive(Debug)]
struct ChatToolCall {
    id: String,
    name: String,
    /// A `custom` call: its input is free-form text, not JSON.
    custom: bool,
    /// The concatenated arguments (or custom input).
    input: String,
}

/// Where the stream is.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ChatPhase {
    /// Content chunks may come.
    #[default]
    Streaming,
    /// The finish chunk was seen: only a usage chunk and `[DONE]` may come.
    Finished,
    /// An error chunk was seen: only `[DONE]` may come.
    Errored,
    /// `[DONE]` was seen: nothing may come.
    Done,
}

impl ChatValidator {
    /// A validator at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// The violations found so far.
    pub fn violations(&self) -> &[Violation] {
        &self.checker.violations
    }

    /// Checks the next frame.
    pub fn push(&mut self, frame: &SseFrame) {
        self.checker.frame += 1;
        if self.phase == ChatPhase::Done {
            self.checker
                .violation("bytes after data: [DONE]: nothing may follow it");
            return;
        }
        if let Some(event) = &frame.event {
            let event = event.clone();
            self.checker.violation(format_args!(
                "event: line {event:?}: OpenAI chat streams carry no event names"
            ));
        }
        if frame.is_comment() {
            return;
        }
        if frame.data.trim() == "[DONE]" {
            if self.phase == ChatPhase::Streaming {
                self.checker
                    .violation("data: [DONE] before any finish_reason or error chunk");
            }
            self.phase = ChatPhase::Done;
            return;
        }
        let chunk: Value = match serde_json::from_str(&frame.data) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) | Err(_) => {
                self.checker
                    .violation(format_args!("data is not a JSON object: {:?}", frame.data));
                return;
            }
        };
        self.checker.summary.events += 1;
        if self.phase == ChatPhase::Errored {
            self.checker
                .violation("a chunk after the error chunk: only data: [DONE] may follow it");
            return;
        }
        if let Some(error) = chunk.get("error") {
            if str_at(error, "message").is_none() {
                self.checker.violation("error chunk without error.message");
            }
            self.checker.summary.ended_with_error = true;
            self.phase = ChatPhase::Errored;
            return;
        }
        if str_at(&chunk, "object") != Some("chat.completion.chunk") {
            self.checker.violation(format_args!(
                "object is {:?}, not \"chat.completion.chunk\"",
                chunk.get("object")
            ));
        }
        let Some(choices) = chunk.get("choices").and_then(Value::as_array) else {
            self.checker.violation("chunk without a choices array");
            return;
        };
        if !self.saw_chunk {
            self.saw_chunk = true;
            let role = choices
                .first()
                .and_then(|c| c.get("delta"))
                .and_then(|d| str_at(d, "role"));
            if role != Some("assistant") {
                self.checker
                    .violation("the first chunk's delta must carry role \"assistant\"");
            }
        }
        if self.phase == ChatPhase::Finished && !choices.is_empty() {
            self.checker.violation(
                "a chunk with choices after the finish_reason chunk: only a usage chunk \
                 with empty choices may follow it",
            );
            return;
        }
        for choice in choices {
            self.choice(choice);
        }
    }

    /// Ends the stream: the summary if every invariant held, else every violation found.
    pub fn finish(mut self) -> Result<ValidatedStream, Vec<Violation>> {
        if self.phase != ChatPhase::Done {
            self.checker.violations.push(Violation(
                "the stream does not end with data: [DONE]: truncated".into(),
            ));
        }
        for (k, call) in std::mem::take(&mut self.tools).into_iter().enumerate() {
            let ChatToolCall {
                id,
                name,
                custom,
                input: args,
            } = call;
            let input = if custom {
                Value::String(args)
            } else {
                parse_arguments(&args).unwrap_or_else(|e| {
                    self.checker.violations.push(Violation(format!(
                        "tool call {k} arguments do not parse as JSON ({e}): {args:?}"
                    )));
                    Value::Null
                })
            };
            self.checker
                .summary
                .tool_calls
                .push(ValidatedToolCall { id, name, input });
        }
        self.checker.finish()
    }

    fn choice(&mut self, choice: &Value) {
        if choice.get("index").and_then(Value::as_u64) != Some(0) {
            self.checker.violation("choices[].index must be 0");
        }
        let delta = choice.get("delta").unwrap_or(&Value::Null);
        if let Some(t) = str_at(delta, "content") {
            self.checker.summary.text.push_str(t);
        }
        if let Some(t) = str_at(delta, "reasoning_content") {
            self.checker.summary.thinking.push_str(t);
        }
        for entry in delta
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.tool_entry(entry);
        }
        if let Some(reason) = str_at(choice, "finish_reason") {
            if self.phase == ChatPhase::Finished {
                self.checker
                    .violation("a second finish_reason: exactly one chunk may carry it");
            }
            if reason == "tool_calls" && self.tools.is_empty() {
                self.checker
                    .violation("finish_reason tool_calls but no tool call was sent");
            }
            self.checker.summary.stop_reason = Some(reason.to_owned());
            self.phase = ChatPhase::Finished;
        }
    }

    fn tool_entry(&mut self, entry: &Value) {
        let Some(k) = entry
            .get("index")
            .and_then(Value::as_u64)
            .and_then(|k| usize::try_from(k).ok())
        else {
            self.checker.violation("tool call entry without an index");
            return;
        };
        // A custom (free-form) call carries `custom: {name, input}` instead of `function`.
        let custom_body = entry.get("custom").filter(|c| c.is_object());
        let (body, input_key) = match custom_body {
            Some(c) => (c, "input"),
            None => (entry.get("function").unwrap_or(&Value::Null), "arguments"),
        };
        let args = str_at(body, input_key).unwrap_or_default();
        if k == self.tools.len() {
            let id = str_at(entry, "id").unwrap_or_default().to_owned();
            let name = str_at(body, "name").unwrap_or_default().to_owned();
            let custom = custom_body.is_some();
            let expected_type = if custom { "custom" } else { "function" };
            if id.is_empty() || name.is_empty() || str_at(entry, "type") != Some(expected_type) {
                self.checker.violation(format_args!(
                    "tool call {k} must first appear with an id, type \"function\" and a name \
                     (or type \"custom\" and custom.name)"
                ));
            }
            self.tools.push(ChatToolCall {
                id,
                name,
                custom,
                input: args.to_owned(),
            });
        } else if let Some(call) = self.tools.get_mut(k) {
            if custom_body.is_some() != call.custom {
                self.checker.violation(format_args!(
                    "tool call {k} changes between function and custom fragments"
                ));
            }
            call.input.push_str(args);
        } else {
            let expected = self.tools.len();
            self.checker.violation(format_args!(
                "tool call index {k} where {expected} was expected: tool calls are numbered from 0"
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// OpenAI Responses
// ---------------------------------------------------------------------------------------------

/// Validates a complete OpenAI Responses SSE body.
pub fn validate_responses_sse(bytes: &[u8]) -> Result<ValidatedStream, Vec<Violation>> {
    let mut decoder = SseDecoder::new();
    let mut v = ResponsesValidator::new();
    for frame in decoder.push(bytes) {
        v.push(&frame);
    }
    v.checker.incomplete_tail(decoder.pending());
    v.finish()
}

/// Incremental validator of an OpenAI Responses event stream: `response.created` first,
/// `sequence_number` contiguous, every item event aimed at an added and not yet done item of
/// the right type, output indices contiguous from 0, exactly one terminal event with nothing
/// after it, and a final `output` that matches the items streamed.
#[derive(Debug, Default)]
pub struct ResponsesValidator {
    checker: Checker,
    phase: ResponsesPhase,
    /// The `sequence_number` the next event must carry.
    next_seq: Option<u64>,
    /// The items by output index.
    items: Vec<ResponsesItem>,
}

/// Where the stream is.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ResponsesPhase {
    /// Nothing yet: `response.created` must come first.
    #[default]
    BeforeCreated,
    /// Items may come.
    Streaming,
    /// A terminal event (or `error`) was seen: nothing may follow.
    Ended,
}

/// What the validator tracks of one output item.
#[derive(Debug)]
struct ResponsesItem {
    kind: String,
    id: String,
    done: bool,
    /// Streamed text per content part of a message (`None`: part not added).
    parts: Vec<Option<String>>,
    /// Streamed arguments (function call) or input (custom call).
    input: String,
    /// The item as `output_item.done` gave it.
    final_item: Option<Value>,
}

impl ResponsesValidator {
    /// A validator at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// The violations found so far.
    pub fn violations(&self) -> &[Violation] {
        &self.checker.violations
    }

    /// Checks the next frame.
    pub fn push(&mut self, frame: &SseFrame) {
        self.checker.frame += 1;
        if self.phase == ResponsesPhase::Ended {
            self.checker
                .violation("bytes after the terminal event: nothing may follow it");
            return;
        }
        if frame.is_comment() {
            return;
        }
        let data: Value = match serde_json::from_str(&frame.data) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                self.checker
                    .violation(format_args!("data is not a JSON object: {:?}", frame.data));
                return;
            }
        };
        let Some(ty) = str_at(&data, "type").map(str::to_owned) else {
            self.checker.violation("event data has no \"type\"");
            return;
        };
        if let Some(event) = &frame.event {
            if event != &ty {
                let event = event.clone();
                self.checker.violation(format_args!(
                    "event: line {event:?} does not match data type {ty:?}"
                ));
            }
        }
        self.checker.summary.events += 1;
        self.sequence(&data, &ty);
        if self.phase == ResponsesPhase::BeforeCreated {
            if ty != "response.created" {
                self.checker.violation(format_args!(
                    "the first event must be response.created, got {ty}"
                ));
            }
            self.phase = ResponsesPhase::Streaming;
        } else if ty == "response.created" {
            self.checker
                .violation("a second response.created: exactly one is allowed, first");
        }
        match ty.as_str() {
            "response.created" => self.created(&data),
            "response.output_item.added" => self.item_added(&data),
            "response.output_item.done" => self.item_done(&data),
            "response.content_part.added" => {
                if let Some(i) = self.item_for(&data, &ty, Some("message")) {
                    let ci = content_index_of(&data);
                    let parts = &mut self.items[i].parts;
                    if parts.len() <= ci {
                        parts.resize(ci + 1, None);
                    }
                    parts[ci] = Some(String::new());
                }
            }
            "response.output_text.delta" | "response.refusal.delta" => {
                if let Some(i) = self.item_for(&data, &ty, Some("message")) {
                    let ci = content_index_of(&data);
                    match self.items[i].parts.get_mut(ci) {
                        Some(Some(text)) => text.push_str(str_at(&data, "delta").unwrap_or("")),
                        _ => self.checker.violation(format_args!(
                            "{ty} for content part {ci}, which was never added"
                        )),
                    }
                }
            }
            "response.output_text.done"
            | "response.refusal.done"
            | "response.content_part.done" => {
                if let Some(i) = self.item_for(&data, &ty, Some("message")) {
                    let ci = content_index_of(&data);
                    let full = match ty.as_str() {
                        "response.output_text.done" => str_at(&data, "text"),
                        "response.refusal.done" => str_at(&data, "refusal"),
                        _ => data
                            .get("part")
                            .and_then(|p| str_at(p, "text").or_else(|| str_at(p, "refusal"))),
                    };
                    match self.items[i].parts.get(ci) {
                        Some(Some(streamed)) => {
                            if full.is_some_and(|f| f != streamed) {
                                let streamed = streamed.clone();
                                self.checker.violation(format_args!(
                                    "{ty} text {full:?} differs from the streamed deltas {streamed:?}"
                                ));
                            }
                        }
                        _ => self.checker.violation(format_args!(
                            "{ty} for content part {ci}, which was never added"
                        )),
                    }
                }
            }
            "response.function_call_arguments.delta" | "response.custom_tool_call_input.delta" => {
                let kind = if ty.starts_with("response.function_call") {
                    "function_call"
                } else {
                    "custom_tool_call"
                };
                if let Some(i) = self.item_for(&data, &ty, Some(kind)) {
                    let delta = str_at(&data, "delta").unwrap_or("").to_owned();
                    self.items[i].input.push_str(&delta);
                }
            }
            "response.function_call_arguments.done" | "response.custom_tool_call_input.done" => {
                let (kind, key) = if ty.starts_with("response.function_call") {
                    ("function_call", "arguments")
                } else {
                    ("custom_tool_call", "input")
                };
                if let Some(i) = self.item_for(&data, &ty, Some(kind)) {
                    let full = str_at(&data, key).unwrap_or("");
                    if full != self.items[i].input {
                        let streamed = self.items[i].input.clone();
                        self.checker.violation(format_args!(
                            "{ty} {key} {full:?} differ from the streamed deltas {streamed:?}"
                        ));
                    }
                }
            }
            t if t.starts_with("response.reasoning_summary")
                || t.starts_with("response.reasoning_text") =>
            {
                self.item_for(&data, &ty, Some("reasoning"));
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                self.terminal(&data, &ty);
            }
            "error" => {
                if str_at(&data, "message").is_none() {
                    self.checker.violation("error event without a message");
                }
                self.checker.summary.ended_with_error = true;
                self.phase = ResponsesPhase::Ended;
            }
            // Other events (hosted-tool progress, annotations, future types) may come anywhere,
            // but one that names an item must name a live one.
            _ => {
                if data.get("output_index").is_some() {
                    self.item_for(&data, &ty, None);
                }
            }
        }
    }

    /// Ends the stream: the summary if every invariant held, else every violation found.
    pub fn finish(mut self) -> Result<ValidatedStream, Vec<Violation>> {
        match self.phase {
            ResponsesPhase::Ended => {}
            ResponsesPhase::BeforeCreated => self
                .checker
                .violations
                .push(Violation("empty stream: no response.created".into())),
            ResponsesPhase::Streaming => self.checker.violations.push(Violation(
                "the stream ended without response.completed, response.incomplete or \
                 response.failed: truncated or falsely complete"
                    .into(),
            )),
        }
        self.checker.finish()
    }

    fn sequence(&mut self, data: &Value, ty: &str) {
        let Some(seq) = data.get("sequence_number").and_then(Value::as_u64) else {
            self.checker
                .violation(format_args!("{ty} has no integer sequence_number"));
            return;
        };
        match self.next_seq {
            None if ty == "response.created" && seq != 0 => self.checker.violation(format_args!(
                "response.created has sequence_number {seq}: a stream starts at 0"
            )),
            Some(expected) if seq != expected => self.checker.violation(format_args!(
                "sequence_number {seq} where {expected} was expected: numbers are contiguous"
            )),
            _ => {}
        }
        self.next_seq = Some(seq + 1);
    }

    fn created(&mut self, data: &Value) {
        let response = data.get("response").unwrap_or(&Value::Null);
        if str_at(response, "object") != Some("response") {
            self.checker
                .violation("response.created.response.object must be \"response\"");
        }
        if str_at(response, "id").is_none_or(str::is_empty) {
            self.checker
                .violation("response.created.response.id is empty");
        }
    }

    fn item_added(&mut self, data: &Value) {
        let Some(oi) = index_of(data) else {
            self.checker
                .violation("response.output_item.added without an integer output_index");
            return;
        };
        if oi != self.items.len() {
            let expected = self.items.len();
            self.checker.violation(format_args!(
                "output item added at output_index {oi} where {expected} was expected: \
                 indices start at 0 and increase by 1"
            ));
            if oi < self.items.len() {
                return;
            }
        }
        let item = data.get("item").unwrap_or(&Value::Null);
        let kind = str_at(item, "type").unwrap_or_default().to_owned();
        if kind.is_empty() {
            self.checker
                .violation(format_args!("output item {oi} has no type"));
        }
        let id = str_at(item, "id").unwrap_or_default().to_owned();
        while self.items.len() < oi {
            // Indices skipped: placeholders, already reported.
            self.items.push(ResponsesItem {
                kind: String::new(),
                id: String::new(),
                done: true,
                parts: Vec::new(),
                input: String::new(),
                final_item: None,
            });
        }
        self.items.push(ResponsesItem {
            kind,
            id,
            done: false,
            parts: Vec::new(),
            input: String::new(),
            final_item: None,
        });
    }

    /// The live item an item event names, checking its output index, item id and type.
    fn item_for(&mut self, data: &Value, ty: &str, kind: Option<&str>) -> Option<usize> {
        let Some(oi) = index_of(data) else {
            self.checker
                .violation(format_args!("{ty} without an integer output_index"));
            return None;
        };
        let Some(item) = self.items.get(oi) else {
            self.checker.violation(format_args!(
                "{ty} for output_index {oi}, an item that was never added"
            ));
            return None;
        };
        if item.done {
            self.checker.violation(format_args!(
                "{ty} for output_index {oi}, an item that is already done"
            ));
            return None;
        }
        if let Some(item_id) = str_at(data, "item_id") {
            if item_id != item.id {
                let id = item.id.clone();
                self.checker.violation(format_args!(
                    "{ty} names item {item_id:?} at output_index {oi}, where item {id:?} is"
                ));
            }
        }
        if let Some(kind) = kind {
            if item.kind != kind {
                let actual = item.kind.clone();
                self.checker.violation(format_args!(
                    "{ty} sent to output item {oi}, a {actual} item: event and item types must match"
                ));
                return None;
            }
        }
        Some(oi)
    }

    fn item_done(&mut self, data: &Value) {
        let Some(i) = self.item_for(data, "response.output_item.done", None) else {
            return;
        };
        let item = data.get("item").cloned().unwrap_or(Value::Null);
        let tracked = &self.items[i];
        let (kind, id) = (tracked.kind.clone(), tracked.id.clone());
        if str_at(&item, "type") != Some(kind.as_str())
            || str_at(&item, "id").unwrap_or_default() != id
        {
            self.checker.violation(format_args!(
                "output item {i} is done as a different item than was added (type or id changed)"
            ));
        }
        let streamed = tracked.input.clone();
        match kind.as_str() {
            "function_call" | "custom_tool_call" => {
                let key = if kind == "function_call" {
                    "arguments"
                } else {
                    "input"
                };
                let full = str_at(&item, key).unwrap_or_default();
                if !streamed.is_empty() && full != streamed {
                    self.checker.violation(format_args!(
                        "output item {i}: the done {key} {full:?} differ from the streamed deltas {streamed:?}"
                    ));
                }
                if kind == "function_call" {
                    if let Err(e) = parse_arguments(full) {
                        self.checker.violation(format_args!(
                            "function call {i} arguments do not parse as JSON ({e}): {full:?}"
                        ));
                    }
                }
            }
            "message" => {
                let parts = item.get("content").and_then(Value::as_array);
                for (ci, part) in parts.into_iter().flatten().enumerate() {
                    let full = str_at(part, "text").or_else(|| str_at(part, "refusal"));
                    if let (Some(Some(s)), Some(full)) = (self.items[i].parts.get(ci), full) {
                        if s != full {
                            let s = s.clone();
                            self.checker.violation(format_args!(
                                "output item {i} part {ci}: done text {full:?} differs from the streamed deltas {s:?}"
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
        self.items[i].done = true;
        self.items[i].final_item = Some(item);
    }

    fn terminal(&mut self, data: &Value, ty: &str) {
        self.phase = ResponsesPhase::Ended;
        let response = data.get("response").unwrap_or(&Value::Null);
        let expected_status = match ty {
            "response.completed" => "completed",
            "response.incomplete" => "incomplete",
            _ => "failed",
        };
        let status = str_at(response, "status");
        if status != Some(expected_status) {
            self.checker.violation(format_args!(
                "{ty} carries status {status:?}, not {expected_status:?}"
            ));
        }
        let summary = &mut self.checker.summary;
        summary.stop_reason = Some(match ty {
            "response.incomplete" => response
                .get("incomplete_details")
                .and_then(|d| str_at(d, "reason"))
                .unwrap_or("incomplete")
                .to_owned(),
            _ => expected_status.to_owned(),
        });
        if ty == "response.failed" {
            summary.ended_with_error = true;
            if response
                .get("error")
                .and_then(|e| str_at(e, "message"))
                .is_none()
            {
                self.checker
                    .violation("response.failed without response.error.message");
            }
            return;
        }
        if let Some(open) = self.items.iter().position(|i| !i.done) {
            self.checker.violation(format_args!(
                "{ty} while output item {open} is not done: every item must be done first"
            ));
        }
        match response.get("usage") {
            None | Some(Value::Null) => {}
            Some(u) => {
                for key in ["input_tokens", "output_tokens", "total_tokens"] {
                    if u.get(key).and_then(Value::as_u64).is_none() {
                        self.checker.violation(format_args!(
                            "{ty}.response.usage.{key} is missing (Codex rejects the usage without it)"
                        ));
                    }
                }
            }
        }
        let output: &[Value] = response
            .get("output")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        if output.len() != self.items.len() {
            let (n, m) = (output.len(), self.items.len());
            self.checker.violation(format_args!(
                "{ty}.response.output has {n} items but {m} were streamed"
            ));
        }
        for (i, item) in output.iter().enumerate() {
            let Some(streamed) = self.items.get(i).and_then(|s| s.final_item.as_ref()) else {
                continue;
            };
            if !same_item(item, streamed) {
                self.checker.violation(format_args!(
                    "{ty}.response.output.{i} differs from the item streamed at that index"
                ));
            }
        }
        // The summary comes from the final items: they are what the client keeps.
        let items: Vec<Value> = self
            .items
            .iter()
            .filter_map(|i| i.final_item.clone())
            .collect();
        for item in &items {
            self.summarise(item);
        }
    }

    fn summarise(&mut self, item: &Value) {
        let summary = &mut self.checker.summary;
        match str_at(item, "type") {
            Some("message") => {
                for part in item
                    .get("content")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if str_at(part, "type") == Some("output_text") {
                        summary
                            .text
                            .push_str(str_at(part, "text").unwrap_or_default());
                    }
                }
            }
            Some("reasoning") => {
                let texts: Vec<&str> = item
                    .get("summary")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|p| str_at(p, "text"))
                    .collect();
                summary.thinking.push_str(&texts.join("\n\n"));
            }
            Some(kind @ ("function_call" | "custom_tool_call")) => {
                let name = match (str_at(item, "namespace"), str_at(item, "name")) {
                    (Some(ns), Some(n)) => format!("{ns}.{n}"),
                    (_, n) => n.unwrap_or_default().to_owned(),
                };
                let input = if kind == "function_call" {
                    parse_arguments(str_at(item, "arguments").unwrap_or_default())
                        .unwrap_or(Value::Null)
                } else {
                    Value::String(str_at(item, "input").unwrap_or_default().to_owned())
                };
                summary.tool_calls.push(ValidatedToolCall {
                    id: str_at(item, "call_id").unwrap_or_default().to_owned(),
                    name,
                    input,
                });
            }
            _ => {}
        }
    }
}

fn index_of(data: &Value) -> Option<usize> {
    data.get("output_index")
        .and_then(Value::as_u64)
        .and_then(|i| usize::try_from(i).ok())
}

fn content_index_of(data: &Value) -> usize {
    data.get("content_index")
        .and_then(Value::as_u64)
        .and_then(|i| usize::try_from(i).ok())
        .unwrap_or(0)
}

/// Whether a final `output` item is the item streamed: same type and id, and the same call or
/// text content.
fn same_item(a: &Value, b: &Value) -> bool {
    let keys: &[&str] = match str_at(a, "type") {
        Some("function_call") => &["type", "id", "call_id", "name", "arguments"],
        Some("custom_tool_call") => &["type", "id", "call_id", "name", "input"],
        Some("message") => &["type", "id", "content"],
        Some("reasoning") => &["type", "id", "summary", "encrypted_content"],
        _ => &["type", "id"],
    };
    keys.iter().all(|k| a.get(*k) == b.get(*k))
}
