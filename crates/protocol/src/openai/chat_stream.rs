//! The OpenAI Chat Completions chunk stream: a decoder from its `chat.completion.chunk` frames
//! to canonical events, and an encoder from canonical events back to chunks.
//!
//! OpenAI's stream is not block-structured: text, reasoning and tool-call fragments arrive as
//! fields of a flat `delta`, the finish reason may share a chunk with content, usage arrives in
//! a separate chunk after the finish, and `[DONE]` ends the stream. The decoder is a total state
//! machine over those chunks (every input has a defined outcome), written against the bugs the
//! predecessor's assembler had (reference §2.4 defects 1–7). The encoder keeps its own state so
//! its output has exactly one `finish_reason` followed by `[DONE]`, whatever it is given.

use bytes::Bytes;
use serde_json::{json, Map, Value};

use crate::error::ProtocolError;
use crate::errors::{openai_error_body, ErrorKind};
use crate::events::{
    BlockDelta, BlockStart, MessageDelta, MessageStart, StopReason, StreamError, StreamEvent, Usage,
};
use crate::sse::{self, SseFrame};

/// The frame that ends every OpenAI stream.
const DONE_FRAME: &[u8] = b"data: [DONE]\n\n";

// ---------------------------------------------------------------------------------------------
// Decoder
// ---------------------------------------------------------------------------------------------

/// Turns an OpenAI Chat Completions chunk stream into canonical events.
#[derive(Debug, Default)]
pub struct Decoder {
    phase: DecodePhase,
    /// `[DONE]` was seen; anything after it is ignored.
    saw_done: bool,
    /// `MessageStart` was emitted.
    started: bool,
    /// The canonical index the next block will get.
    next_index: usize,
    /// The block currently open, if any; OpenAI never says when a block ends, so the decoder
    /// closes it when a different kind of content (or a different tool call) begins.
    open: Option<OpenBlock>,
    /// Every tool call opened so far, in order.
    tools: Vec<ToolCall>,
    /// The first `finish_reason` seen; the message is closed only at `[DONE]` or `finish()`
    /// because a usage chunk may still follow it.
    finish: Option<StopReason>,
    /// The latest usage reported.
    usage: Usage,
}

/// Where the decoder is in the message's life.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum DecodePhase {
    /// Chunks are being turned into events.
    #[default]
    Streaming,
    /// `MessageDelta` and `MessageStop` were emitted.
    Closed,
    /// An error chunk was emitted as `StreamEvent::Error`; nothing follows it.
    Failed,
}

/// The canonical block currently receiving deltas.
#[derive(Debug, Clone, Copy)]
struct OpenBlock {
    index: usize,
    kind: OpenKind,
}

/// What kind of block is open; a tool block points into `Decoder::tools`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpenKind {
    Text,
    Thinking,
    Tool(usize),
}

/// A tool call as OpenAI identifies it: by its `index` in `tool_calls` and by its `id`.
#[derive(Debug)]
struct ToolCall {
    key: Option<u64>,
    id: String,
    /// A `custom` (free-form) call, whose fragments are text rather than JSON.
    custom: bool,
}

impl Decoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// True once the `[DONE]` frame was seen.
    pub fn is_done(&self) -> bool {
        self.saw_done
    }

    /// Decodes one frame into the canonical events it implies, in order.
    pub fn push(&mut self, frame: &SseFrame) -> Result<Vec<StreamEvent>, ProtocolError> {
        let data = frame.data.trim();
        if self.saw_done || data.is_empty() {
            return Ok(Vec::new());
        }
        if data == "[DONE]" {
            self.saw_done = true;
            return self.finish();
        }
        if self.phase != DecodePhase::Streaming {
            return Ok(Vec::new());
        }
        let chunk: Value =
            serde_json::from_str(data).map_err(|source| ProtocolError::InvalidJson {
                context: "OpenAI chat chunk",
                source,
            })?;
        let Some(chunk) = chunk.as_object() else {
            return Err(ProtocolError::field("chunk", "not a JSON object"));
        };
        let mut out = Vec::new();
        if let Some(error) = chunk.get("error").filter(|e| !e.is_null()) {
            self.phase = DecodePhase::Failed;
            out.push(StreamEvent::Error(decode_error(error)));
            return Ok(out);
        }
        if !self.started {
            self.started = true;
            out.push(StreamEvent::MessageStart(MessageStart {
                id: str_of(chunk.get("id")).unwrap_or_default().to_owned(),
                model: str_of(chunk.get("model")).unwrap_or_default().to_owned(),
                usage: Usage::default(),
            }));
        }
        if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
            self.usage = usage_from_openai(usage);
        }
        let choices = chunk.get("choices").and_then(Value::as_array);
        // The canonical model is one message; with `n > 1` only the first choice is decoded.
        for choice in choices.into_iter().flatten().filter(|c| is_first_choice(c)) {
            self.choice(choice, &mut out)?;
        }
        Ok(out)
    }

    /// Ends the input: the closing events still owed, or an error when the stream stopped
    /// before the upstream said it was complete.
    pub fn finish(&mut self) -> Result<Vec<StreamEvent>, ProtocolError> {
        match self.phase {
            DecodePhase::Closed | DecodePhase::Failed => Ok(Vec::new()),
            DecodePhase::Streaming => match self.finish.take() {
                Some(reason) => Ok(self.close_message(reason)),
                None => Err(ProtocolError::Stream(
                    "upstream stream ended before finish_reason: the response is incomplete".into(),
                )),
            },
        }
    }

    fn choice(&mut self, choice: &Value, out: &mut Vec<StreamEvent>) -> Result<(), ProtocolError> {
        if let Some(delta) = choice.get("delta") {
            // DeepSeek and vLLM say `reasoning_content`, Ollama and OpenRouter `reasoning`;
            // some send both with the same text, so only one is read.
            let reasoning = non_empty(delta.get("reasoning_content"))
                .or_else(|| non_empty(delta.get("reasoning")));
            if let Some(t) = reasoning {
                self.append(OpenKind::Thinking, BlockDelta::Thinking(t.to_owned()), out);
            }
            if let Some(t) = non_empty(delta.get("content")) {
                self.append(OpenKind::Text, BlockDelta::Text(t.to_owned()), out);
            }
            if let Some(t) = non_empty(delta.get("refusal")) {
                self.append(OpenKind::Text, BlockDelta::Text(t.to_owned()), out);
            }
            for entry in delta
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                self.tool_entry(entry, out)?;
            }
        }
        if let (None, Some(reason)) = (&self.finish, str_of(choice.get("finish_reason"))) {
            self.finish = Some(StopReason::from_openai(reason));
        }
        Ok(())
    }

    /// Appends a text or thinking fragment, opening a block of that kind if needed.
    fn append(&mut self, kind: OpenKind, delta: BlockDelta, out: &mut Vec<StreamEvent>) {
        let index = match self.open {
            Some(b) if b.kind == kind => b.index,
            _ => {
                let block = match kind {
                    OpenKind::Thinking => BlockStart::Thinking,
                    OpenKind::Text | OpenKind::Tool(_) => BlockStart::Text,
                };
                self.open_block(kind, block, out)
            }
        };
        out.push(StreamEvent::BlockDelta { index, delta });
    }

    /// Closes the open block, then opens a new one of `kind`; returns its index.
    fn open_block(
        &mut self,
        kind: OpenKind,
        block: BlockStart,
        out: &mut Vec<StreamEvent>,
    ) -> usize {
        self.close_block(out);
        let index = self.next_index;
        self.next_index += 1;
        out.push(StreamEvent::BlockStart { index, block });
        self.open = Some(OpenBlock { index, kind });
        index
    }

    fn close_block(&mut self, out: &mut Vec<StreamEvent>) {
        if let Some(b) = self.open.take() {
            out.push(StreamEvent::BlockStop { index: b.index });
        }
    }

    /// One entry of `delta.tool_calls`: the start of a call, a fragment of its arguments, or both.
    fn tool_entry(
        &mut self,
        entry: &Value,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), ProtocolError> {
        let key = entry.get("index").and_then(Value::as_u64);
        let id = non_empty(entry.get("id"));
        // A `custom` tool call carries `custom: {name, input}` (free-form text) instead of
        // `function: {name, arguments}`.
        let custom = str_of(entry.get("type")) == Some("custom")
            || entry.get("custom").is_some_and(Value::is_object);
        let (body, input_key) = if custom {
            (entry.get("custom"), "input")
        } else {
            (entry.get("function"), "arguments")
        };
        let name = non_empty(body.and_then(|f| f.get("name")));
        let args = str_of(body.and_then(|f| f.get(input_key))).unwrap_or_default();
        // LiteLLM (Anthropic upstream) sends entries with no id, no name and no arguments:
        // they say nothing, and must not open a block.
        if id.is_none() && name.is_none() && args.is_empty() {
            return Ok(());
        }
        let open_tool = match self.open {
            Some(OpenBlock {
                index,
                kind: OpenKind::Tool(slot),
            }) => Some((index, slot)),
            _ => None,
        };
        let belongs_to =
            |t: &ToolCall| key.is_none_or(|k| t.key == Some(k)) && id.is_none_or(|id| t.id == id);
        // The newest call matching wins: some servers reuse `index` 0 for every call and tell
        // calls apart only by `id`.
        let existing = if key.is_none() && id.is_none() {
            open_tool.map(|(_, slot)| slot)
        } else {
            self.tools.iter().rposition(belongs_to)
        };
        match (existing, open_tool) {
            (Some(slot), Some((index, open_slot))) if slot == open_slot => {
                if !args.is_empty() {
                    let custom = self.tools.get(slot).is_some_and(|t| t.custom);
                    out.push(StreamEvent::BlockDelta {
                        index,
                        delta: input_delta(custom, args),
                    });
                }
                Ok(())
            }
            (Some(slot), _) => Err(ProtocolError::Stream(format!(
                "tool call {} ({}) received arguments after another block started; \
                 interleaved tool calls cannot be expressed as blocks",
                key.map_or_else(|| "?".to_owned(), |k| k.to_string()),
                self.tools.get(slot).map_or("", |t| t.id.as_str()),
            ))),
            (None, _) => {
                let slot = self.tools.len();
                let id = id.map_or_else(|| format!("call_{slot}"), str::to_owned);
                self.tools.push(ToolCall {
                    key,
                    id: id.clone(),
                    custom,
                });
                let name = name.unwrap_or_default().to_owned();
                let block = if custom {
                    BlockStart::CustomToolUse { id, name }
                } else {
                    BlockStart::ToolUse { id, name }
                };
                let index = self.open_block(OpenKind::Tool(slot), block, out);
                if !args.is_empty() {
                    out.push(StreamEvent::BlockDelta {
                        index,
                        delta: input_delta(custom, args),
                    });
                }
                Ok(())
            }
        }
    }

    /// The events that end a complete message: the open block's stop, the stop reason and
    /// usage, and the message stop.
    fn close_message(&mut self, reason: StopReason) -> Vec<StreamEvent> {
        let mut out = Vec::new();
        self.close_block(&mut out);
        // `stop_reason: tool_use` must hold exactly when a tool call was emitted: a
        // `tool_calls` finish with no call would make the client wait for calls that do not
        // exist, and some OpenAI-compatible servers say `stop` after tool calls.
        let stop_reason = match reason {
            StopReason::ToolUse if self.tools.is_empty() => StopReason::EndTurn,
            StopReason::EndTurn if !self.tools.is_empty() => StopReason::ToolUse,
            other => other,
        };
        out.push(StreamEvent::MessageDelta(MessageDelta {
            stop_reason: Some(stop_reason),
            stop_sequence: None,
            usage: self.usage.clone(),
        }));
        out.push(StreamEvent::MessageStop);
        self.phase = DecodePhase::Closed;
        out
    }
}

/// A fragment of a tool call's input: free-form text for a custom call, JSON otherwise.
fn input_delta(custom: bool, fragment: &str) -> BlockDelta {
    if custom {
        BlockDelta::CustomInput(fragment.to_owned())
    } else {
        BlockDelta::InputJson(fragment.to_owned())
    }
}

fn is_first_choice(choice: &Value) -> bool {
    choice.get("index").and_then(Value::as_u64).unwrap_or(0) == 0
}

fn str_of(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str)
}

fn non_empty(v: Option<&Value>) -> Option<&str> {
    str_of(v).filter(|s| !s.is_empty())
}

/// OpenAI's usage in canonical terms: Anthropic counts cached prompt tokens separately from
/// `input_tokens`, OpenAI includes them in `prompt_tokens`.
fn usage_from_openai(u: &Value) -> Usage {
    let n = |v: Option<&Value>| v.and_then(Value::as_u64);
    let prompt = n(u.get("prompt_tokens"));
    let cached = n(u
        .get("prompt_tokens_details")
        .and_then(|d| d.get("cached_tokens")));
    Usage {
        input_tokens: prompt.map(|p| p.saturating_sub(cached.unwrap_or(0))),
        output_tokens: n(u.get("completion_tokens")),
        cache_creation_input_tokens: None,
        cache_read_input_tokens: cached,
        reasoning_output_tokens: n(u
            .get("completion_tokens_details")
            .and_then(|d| d.get("reasoning_tokens"))),
    }
}

/// A mid-stream error chunk's `error` object as a canonical error.
fn decode_error(error: &Value) -> StreamError {
    let message = str_of(error.get("message"))
        .map(str::to_owned)
        .unwrap_or_else(|| error.to_string());
    StreamError {
        kind: error_kind_from_openai(error),
        message,
    }
}

/// OpenAI's `error.type` (or, failing that, a numeric `code` as an HTTP status) as a kind.
fn error_kind_from_openai(error: &Value) -> ErrorKind {
    let by_type = match str_of(error.get("type")).unwrap_or_default() {
        "invalid_request_error" => Some(ErrorKind::InvalidRequest),
        "authentication_error" => Some(ErrorKind::Authentication),
        "permission_error" => Some(ErrorKind::Permission),
        "rate_limit_exceeded" | "rate_limit_error" | "insufficient_quota" => {
            Some(ErrorKind::RateLimit)
        }
        "server_error" => Some(ErrorKind::Api),
        "api_connection_error" => Some(ErrorKind::UpstreamConnection),
        "timeout" | "timeout_error" => Some(ErrorKind::Timeout),
        "overloaded_error" => Some(ErrorKind::Overloaded),
        _ => None,
    };
    let by_code = || {
        let code = error.get("code")?;
        let status = code
            .as_u64()
            .or_else(|| code.as_str().and_then(|s| s.parse().ok()))?;
        u16::try_from(status).ok().map(ErrorKind::from_status)
    };
    by_type.or_else(by_code).unwrap_or(ErrorKind::Api)
}

// ---------------------------------------------------------------------------------------------
// Encoder
// ---------------------------------------------------------------------------------------------

/// What every chunk of an encoded response carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncoderOptions {
    /// The response id (`chatcmpl-…`).
    pub id: String,
    /// The model name reported to the client.
    pub model: String,
    /// Unix seconds of the response's creation.
    pub created: u64,
    /// The client asked for `stream_options.include_usage`: every chunk gets `"usage": null`
    /// and a usage chunk with empty `choices` follows the finish chunk.
    pub include_usage: bool,
}

/// Turns canonical events into OpenAI Chat Completions chunk frames.
#[derive(Debug)]
pub struct Encoder {
    opts: EncoderOptions,
    phase: EncodePhase,
    /// Usage from `MessageStart`: Anthropic reports input tokens there and only output tokens
    /// at the end, while OpenAI reports both in one usage chunk.
    start_usage: Usage,
    /// Canonical block index → OpenAI tool-call index, for each tool call emitted.
    tool_blocks: Vec<(usize, usize)>,
    /// Top-level fields of the upstream's chunks repeated on every chunk (see
    /// [`Encoder::adopt_identity`]), in the upstream's order.
    extra: Map<String, Value>,
}

/// Where the encoder is in the response; each phase only moves forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum EncodePhase {
    /// Nothing written yet.
    Idle,
    /// The role chunk was written; content may follow.
    Streaming,
    /// The finish chunk was written; only usage and `[DONE]` may follow.
    Finished,
    /// `[DONE]` was written; nothing follows.
    Ended,
}

impl Encoder {
    /// An encoder for one response.
    pub fn new(opts: EncoderOptions) -> Self {
        Self {
            opts,
            phase: EncodePhase::Idle,
            start_usage: Usage::default(),
            tool_blocks: Vec::new(),
            extra: Map::new(),
        }
    }

    /// Takes the identity of a Chat Completions upstream from its first chunk: its `id`,
    /// `created` and `model`, and the top-level fields this encoder does not write itself
    /// (`service_tier`, `system_fingerprint`, …), which every chunk then repeats. For a Chat
    /// upstream whose stream is re-encoded (a policy looks at it): the client sees the
    /// upstream's own chunk identity rather than the gateway's. Only before the first chunk
    /// was written; returns whether it was taken.
    pub fn adopt_identity(&mut self, chunk: &Value) -> bool {
        let Some(chunk) = chunk.as_object() else {
            return false;
        };
        if self.phase != EncodePhase::Idle || chunk.get("id").is_none() {
            return false;
        }
        for (key, value) in chunk {
            match (key.as_str(), value) {
                ("id", Value::String(id)) => self.opts.id.clone_from(id),
                ("model", Value::String(model)) => self.opts.model.clone_from(model),
                ("created", v) if v.as_u64().is_some() => {
                    self.opts.created = v.as_u64().unwrap_or(self.opts.created);
                }
                ("id" | "model" | "created" | "object" | "choices" | "usage" | "error", _) => {}
                _ => {
                    self.extra.insert(key.clone(), value.clone());
                }
            }
        }
        true
    }

    /// The frames `ev` becomes (possibly none: some events cannot be carried by this format).
    pub fn encode(&mut self, ev: &StreamEvent) -> Vec<Bytes> {
        let mut out = Vec::new();
        if self.phase == EncodePhase::Ended {
            return out;
        }
        match ev {
            StreamEvent::MessageStart(m) => {
                if self.phase == EncodePhase::Idle {
                    self.start_usage = m.usage.clone();
                    self.ensure_started(&mut out);
                }
            }
            StreamEvent::BlockStart {
                index,
                block: BlockStart::ToolUse { id, name },
            } => {
                if self.accepts_content() {
                    self.ensure_started(&mut out);
                    let k = self.tool_blocks.len();
                    self.tool_blocks.push((*index, k));
                    out.push(self.chunk(json!({"tool_calls": [{
                        "index": k,
                        "id": id,
                        "type": "function",
                        "function": {"name": name, "arguments": ""},
                    }]})));
                }
            }
            // Chat Completions streams custom (free-form) tool calls natively.
            StreamEvent::BlockStart {
                index,
                block: BlockStart::CustomToolUse { id, name },
            } => {
                if self.accepts_content() {
                    self.ensure_started(&mut out);
                    let k = self.tool_blocks.len();
                    self.tool_blocks.push((*index, k));
                    out.push(self.chunk(json!({"tool_calls": [{
                        "index": k,
                        "id": id,
                        "type": "custom",
                        "custom": {"name": name, "input": ""},
                    }]})));
                }
            }
            StreamEvent::BlockDelta { index, delta } => {
                if let Some(d) = self.delta_json(*index, delta) {
                    if self.accepts_content() {
                        self.ensure_started(&mut out);
                        out.push(self.chunk(d));
                    }
                }
            }
            StreamEvent::MessageDelta(d) => self.finish_chunks(d, &mut out),
            StreamEvent::MessageStop => {
                // A stream that ends without a `MessageDelta` still gets its one finish chunk.
                self.finish_chunks(&MessageDelta::default(), &mut out);
                out.push(Bytes::from_static(DONE_FRAME));
                self.phase = EncodePhase::Ended;
            }
            StreamEvent::Ping => out.push(sse::comment("ping")),
            StreamEvent::Error(e) => {
                let body = openai_error_body(e.kind, &e.message, None);
                out.push(data_frame(&body));
                out.push(Bytes::from_static(DONE_FRAME));
                self.phase = EncodePhase::Ended;
            }
            // Thinking signatures, redacted thinking, unknown blocks and events have no
            // Chat Completions form.
            StreamEvent::BlockStart { .. }
            | StreamEvent::BlockStop { .. }
            | StreamEvent::Unknown { .. } => {}
        }
        out
    }

    /// Content may be written until the finish chunk; after it, clients would see content
    /// belonging to a response they consider complete.
    fn accepts_content(&self) -> bool {
        self.phase < EncodePhase::Finished
    }

    /// Writes the role chunk OpenAI starts every stream with, once.
    fn ensure_started(&mut self, out: &mut Vec<Bytes>) {
        if self.phase == EncodePhase::Idle {
            out.push(self.chunk(json!({"role": "assistant", "content": ""})));
            self.phase = EncodePhase::Streaming;
        }
    }

    /// The chunk delta for a block delta, or `None` when this format cannot carry it.
    fn delta_json(&self, index: usize, delta: &BlockDelta) -> Option<Value> {
        match delta {
            BlockDelta::Text(t) if !t.is_empty() => Some(json!({"content": t})),
            BlockDelta::Thinking(t) if !t.is_empty() => Some(json!({"reasoning_content": t})),
            BlockDelta::InputJson(j) if !j.is_empty() => {
                let &(_, k) = self.tool_blocks.iter().rev().find(|(i, _)| *i == index)?;
                Some(json!({"tool_calls": [{"index": k, "function": {"arguments": j}}]}))
            }
            BlockDelta::CustomInput(t) if !t.is_empty() => {
                let &(_, k) = self.tool_blocks.iter().rev().find(|(i, _)| *i == index)?;
                Some(json!({"tool_calls": [{"index": k, "custom": {"input": t}}]}))
            }
            _ => None,
        }
    }

    /// The one finish chunk (and the usage chunk, when asked for); a no-op once written.
    fn finish_chunks(&mut self, d: &MessageDelta, out: &mut Vec<Bytes>) {
        if !self.accepts_content() {
            return;
        }
        self.ensure_started(out);
        let reason = match &d.stop_reason {
            // A tool_calls finish with no tool call would make the client wait for calls.
            Some(StopReason::ToolUse) if self.tool_blocks.is_empty() => "stop",
            Some(r) => r.as_openai(),
            None => "stop",
        };
        out.push(self.chunk_with(json!({}), Value::from(reason)));
        if self.opts.include_usage {
            let usage = openai_usage(&d.usage.or(&self.start_usage));
            let mut c = self.envelope();
            c.insert("choices".into(), json!([]));
            c.insert("usage".into(), usage);
            out.push(data_frame(&Value::Object(c)));
        }
        self.phase = EncodePhase::Finished;
    }

    /// The fields every chunk starts with, in OpenAI's order.
    fn envelope(&self) -> Map<String, Value> {
        let mut c = Map::new();
        c.insert("id".into(), self.opts.id.clone().into());
        c.insert("object".into(), "chat.completion.chunk".into());
        c.insert("created".into(), self.opts.created.into());
        c.insert("model".into(), self.opts.model.clone().into());
        for (key, value) in &self.extra {
            c.insert(key.clone(), value.clone());
        }
        c
    }

    fn chunk(&self, delta: Value) -> Bytes {
        self.chunk_with(delta, Value::Null)
    }

    fn chunk_with(&self, delta: Value, finish_reason: Value) -> Bytes {
        let mut c = self.envelope();
        c.insert(
            "choices".into(),
            json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}]),
        );
        if self.opts.include_usage {
            c.insert("usage".into(), Value::Null);
        }
        data_frame(&Value::Object(c))
    }
}

/// Canonical usage in OpenAI's terms: cached and cache-written tokens are part of the prompt.
fn openai_usage(u: &Usage) -> Value {
    let cache_read = u.cache_read_input_tokens;
    let prompt = u.input_tokens.unwrap_or(0)
        + cache_read.unwrap_or(0)
        + u.cache_creation_input_tokens.unwrap_or(0);
    let completion = u.output_tokens.unwrap_or(0);
    let mut m = Map::new();
    m.insert("prompt_tokens".into(), prompt.into());
    m.insert("completion_tokens".into(), completion.into());
    m.insert("total_tokens".into(), (prompt + completion).into());
    if let Some(cached) = cache_read {
        m.insert(
            "prompt_tokens_details".into(),
            json!({"cached_tokens": cached}),
        );
    }
    if let Some(reasoning) = u.reasoning_output_tokens {
        m.insert(
            "completion_tokens_details".into(),
            json!({"reasoning_tokens": reasoning}),
        );
    }
    Value::Object(m)
}

fn data_frame(v: &Value) -> Bytes {
    sse::encode(None, &v.to_string())
}
