//! The OpenAI Responses event stream: a decoder from its SSE events to canonical events, and an
//! encoder from canonical events back to events the official SDKs and Codex accept.
//!
//! A Responses stream is a list of output *items* (`message`, `reasoning`, `function_call`,
//! `custom_tool_call`, hosted-tool calls such as `web_search_call`), each announced by
//! `response.output_item.added`, filled by item-specific deltas and closed by
//! `response.output_item.done`, the whole framed by `response.created` and one terminal event
//! (`response.completed`, `response.incomplete` or `response.failed`). Every event carries a
//! `sequence_number` contiguous from 0 and, when it concerns an item, its `output_index`.
//!
//! Mapping onto canonical blocks (one block at a time, in stream order):
//! * each non-empty content part of a `message` (`output_text` or `refusal`) → a `Text` block;
//! * `reasoning` → a `Thinking` block: summary (or raw reasoning) text as `Thinking` deltas,
//!   summary parts separated by a blank line, `encrypted_content` as the `Signature` delta
//!   (both are the opaque state a client must send back for the model to keep its reasoning);
//! * `function_call` → `ToolUse {id: call_id, name}`, arguments as `InputJson` deltas;
//! * `custom_tool_call` → `CustomToolUse {id: call_id, name}`, input as `CustomInput` deltas;
//! * a call of a tool inside a `namespace` tool is named `namespace.name` (a `.` cannot occur in
//!   a Responses tool name, so the encoder can split it again);
//! * any other item type → an `Other` block holding the item as added; the item's own events
//!   (`response.web_search_call.searching`, …) travel as `Other` deltas of that block, the last
//!   one being its `response.output_item.done` event, so the encoder can write them back.
//!
//! The decoder takes the `.done` events and `response.completed`'s `output` as authoritative:
//! text they hold beyond what was streamed is emitted as a final delta, and items a server only
//! reported there are emitted whole. The encoder numbers events itself and gives items its own
//! output indices and ids, so a stream a policy rewrote (a call removed or replaced) is still
//! contiguous; ids of items it writes are derived from the response id (Codex never sends item
//! ids back, OpenAI's SDKs only echo them).

use bytes::Bytes;
use serde_json::{json, Map, Value};

use crate::error::ProtocolError;
use crate::errors::ErrorKind;
use crate::events::{
    BlockDelta, BlockStart, MessageDelta, MessageStart, StopReason, StreamError, StreamEvent, Usage,
};
use crate::sse::{self, SseFrame};

// ---------------------------------------------------------------------------------------------
// Decoder
// ---------------------------------------------------------------------------------------------

/// Turns an OpenAI Responses event stream into canonical events.
#[derive(Debug, Default)]
pub struct Decoder {
    phase: DecodePhase,
    /// `MessageStart` was emitted.
    started: bool,
    /// The canonical index the next block will get.
    next_index: usize,
    /// The block receiving deltas, if any.
    open: Option<OpenBlock>,
    /// Every item announced, in order of arrival.
    items: Vec<ItemState>,
    /// How many client tool calls (function and custom) were emitted: a completed response
    /// with one stopped for tool use.
    client_calls: usize,
    /// The last `sequence_number` seen, so a relay that must end the stream itself can number
    /// its own event after the upstream's.
    last_sequence: Option<u64>,
}

/// Where the decoder is in the response's life.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum DecodePhase {
    /// Events are being turned into canonical events.
    #[default]
    Streaming,
    /// `MessageDelta` and `MessageStop` were emitted.
    Closed,
    /// The response failed and `StreamEvent::Error` was emitted; nothing follows it.
    Failed,
}

/// The canonical block currently open.
#[derive(Debug)]
struct OpenBlock {
    index: usize,
    /// The upstream output item it belongs to.
    output_index: u64,
    /// The message content part a text block carries; `None` for whole-item blocks.
    part: Option<u64>,
    kind: BlockKind,
    /// Everything streamed into the block, to find what a `.done` event adds.
    streamed: String,
}

/// What kind of block is open, so deltas become the right canonical delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockKind {
    Text,
    Thinking,
    Function,
    Custom,
    Other,
}

/// What the decoder knows of one upstream output item.
#[derive(Debug)]
struct ItemState {
    output_index: u64,
    /// A whole-item block was opened for it.
    opened: bool,
    /// The message content parts a text block was opened for.
    opened_parts: Vec<u64>,
    /// `output_item.done` (or the terminal event) was handled for it.
    done: bool,
}

/// The item types the canonical model names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ItemKind {
    Message,
    FunctionCall,
    CustomToolCall,
    Reasoning,
    Other,
}

impl ItemKind {
    fn of(item: &Value) -> Self {
        match item.get("type").and_then(Value::as_str) {
            Some("message") => Self::Message,
            Some("function_call") => Self::FunctionCall,
            Some("custom_tool_call") => Self::CustomToolCall,
            Some("reasoning") => Self::Reasoning,
            _ => Self::Other,
        }
    }
}

/// How a response ended without failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Completed,
    Incomplete,
}

impl Decoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// True once the terminal event (or an error) was decoded.
    pub fn is_finished(&self) -> bool {
        self.phase != DecodePhase::Streaming
    }

    /// The last `sequence_number` the stream carried.
    pub fn last_sequence_number(&self) -> Option<u64> {
        self.last_sequence
    }

    /// Decodes one frame into the canonical events it implies, in order.
    pub fn push(&mut self, frame: &SseFrame) -> Result<Vec<StreamEvent>, ProtocolError> {
        let data = frame.data.trim();
        // Some compatible servers end with Chat's `[DONE]`; the terminal event already said it.
        if data.is_empty() || data == "[DONE]" || self.phase != DecodePhase::Streaming {
            return Ok(Vec::new());
        }
        let event: Value =
            serde_json::from_str(data).map_err(|source| ProtocolError::InvalidJson {
                context: "Responses stream event",
                source,
            })?;
        if !event.is_object() {
            return Err(ProtocolError::field("event", "not a JSON object"));
        }
        if let Some(n) = event.get("sequence_number").and_then(Value::as_u64) {
            self.last_sequence = Some(n);
        }
        // The JSON `type` is authoritative; the SSE event name is only a fallback.
        let kind = event
            .get("type")
            .and_then(Value::as_str)
            .or(frame.event.as_deref())
            .unwrap_or_default()
            .to_owned();
        let mut out = Vec::new();
        self.event(&kind, &event, &mut out)?;
        Ok(out)
    }

    /// Ends the input: an error when the stream stopped before its terminal event.
    pub fn finish(&mut self) -> Result<Vec<StreamEvent>, ProtocolError> {
        match self.phase {
            DecodePhase::Closed | DecodePhase::Failed => Ok(Vec::new()),
            DecodePhase::Streaming => Err(ProtocolError::Stream(
                "upstream stream ended before response.completed: the response is incomplete"
                    .into(),
            )),
        }
    }

    /// The events of a complete, non-streamed response object.
    pub(crate) fn decode_response(response: &Value) -> Result<Vec<StreamEvent>, ProtocolError> {
        let mut d = Self::new();
        let mut out = Vec::new();
        d.ensure_started(Some(response), &mut out);
        match response.get("status").and_then(Value::as_str) {
            Some("failed") => d.fail(response.get("error").unwrap_or(&Value::Null), &mut out),
            Some("incomplete") => d.terminal(Ending::Incomplete, response, &mut out)?,
            _ => d.terminal(Ending::Completed, response, &mut out)?,
        }
        Ok(out)
    }

    fn event(
        &mut self,
        kind: &str,
        ev: &Value,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), ProtocolError> {
        match kind {
            "response.created" | "response.in_progress" | "response.queued" => {
                self.ensure_started(ev.get("response"), out);
            }
            "response.output_item.added" => {
                self.ensure_started(None, out);
                let oi = output_index(ev, kind)?;
                let item = item_of(ev, kind)?;
                self.items.push(ItemState {
                    output_index: oi,
                    opened: false,
                    opened_parts: Vec::new(),
                    done: false,
                });
                // Message text opens per content part, on its first text: an empty part must
                // not become an empty text block.
                if ItemKind::of(item) != ItemKind::Message {
                    self.open_item_block(oi, item, out);
                }
            }
            "response.output_item.done" => {
                self.ensure_started(None, out);
                let oi = output_index(ev, kind)?;
                self.item_done(oi, item_of(ev, kind)?, out);
            }
            // See `response.output_item.added`: text blocks open lazily.
            "response.content_part.added" => {}
            "response.output_text.delta" | "response.refusal.delta" => {
                let delta = str_at(ev, "delta");
                self.text(ev, delta, false, out)?;
            }
            "response.output_text.done" => self.text(ev, str_at(ev, "text"), true, out)?,
            "response.refusal.done" => self.text(ev, str_at(ev, "refusal"), true, out)?,
            "response.content_part.done" => {
                let part = ev.get("part").unwrap_or(&Value::Null);
                let full = part
                    .get("text")
                    .or_else(|| part.get("refusal"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                self.text(ev, full, true, out)?;
                let key = (output_index(ev, kind)?, Some(content_index(ev)));
                if self.open_key() == Some(key) {
                    self.close_block(out);
                }
            }
            "response.function_call_arguments.delta" => {
                self.item_delta(ev, kind, BlockKind::Function, "delta", false, out)?;
            }
            "response.function_call_arguments.done" => {
                self.item_delta(ev, kind, BlockKind::Function, "arguments", true, out)?;
            }
            "response.custom_tool_call_input.delta" => {
                self.item_delta(ev, kind, BlockKind::Custom, "delta", false, out)?;
            }
            "response.custom_tool_call_input.done" => {
                self.item_delta(ev, kind, BlockKind::Custom, "input", true, out)?;
            }
            "response.reasoning_summary_part.added" => {
                let oi = output_index(ev, kind)?;
                let later_part = ev.get("summary_index").and_then(Value::as_u64) > Some(0);
                if let Some(b) = self.open.as_ref() {
                    if later_part
                        && b.kind == BlockKind::Thinking
                        && b.output_index == oi
                        && !b.streamed.is_empty()
                    {
                        // The canonical thinking is one text: parts are paragraphs of it.
                        self.push_delta("\n\n", out);
                    }
                }
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                self.item_delta(ev, kind, BlockKind::Thinking, "delta", false, out)?;
            }
            // The item's `output_item.done` carries the whole summary and is reconciled there.
            "response.reasoning_summary_text.done"
            | "response.reasoning_summary_part.done"
            | "response.reasoning_text.done" => {}
            "response.completed" => {
                self.terminal(
                    Ending::Completed,
                    ev.get("response").unwrap_or(&Value::Null),
                    out,
                )?;
            }
            "response.incomplete" => {
                let response = ev.get("response").unwrap_or(&Value::Null);
                self.terminal(Ending::Incomplete, response, out)?;
            }
            "response.failed" => {
                self.ensure_started(ev.get("response"), out);
                let error = ev
                    .get("response")
                    .and_then(|r| r.get("error"))
                    .unwrap_or(&Value::Null);
                self.fail(error, out);
            }
            "error" => {
                self.ensure_started(None, out);
                // OpenAI puts code and message at the top; some servers nest them in `error`.
                let error = ev.get("error").filter(|e| e.is_object()).unwrap_or(ev);
                self.fail(error, out);
            }
            _ => self.unknown(kind, ev, out),
        }
        Ok(())
    }

    fn ensure_started(&mut self, response: Option<&Value>, out: &mut Vec<StreamEvent>) {
        if self.started {
            return;
        }
        self.started = true;
        let response = response.unwrap_or(&Value::Null);
        out.push(StreamEvent::MessageStart(MessageStart {
            id: str_at(response, "id").to_owned(),
            model: str_at(response, "model").to_owned(),
            usage: Usage::default(),
        }));
    }

    /// The (output index, content part) of the open block.
    fn open_key(&self) -> Option<(u64, Option<u64>)> {
        self.open.as_ref().map(|b| (b.output_index, b.part))
    }

    fn item_mut(&mut self, oi: u64) -> Option<&mut ItemState> {
        self.items.iter_mut().rev().find(|s| s.output_index == oi)
    }

    fn open_block(
        &mut self,
        block: BlockStart,
        output_index: u64,
        part: Option<u64>,
        kind: BlockKind,
        out: &mut Vec<StreamEvent>,
    ) {
        self.close_block(out);
        let index = self.next_index;
        self.next_index += 1;
        if matches!(kind, BlockKind::Function | BlockKind::Custom) {
            self.client_calls += 1;
        }
        out.push(StreamEvent::BlockStart { index, block });
        self.open = Some(OpenBlock {
            index,
            output_index,
            part,
            kind,
            streamed: String::new(),
        });
    }

    fn close_block(&mut self, out: &mut Vec<StreamEvent>) {
        if let Some(b) = self.open.take() {
            out.push(StreamEvent::BlockStop { index: b.index });
        }
    }

    /// Appends text to the open block as the delta its kind takes.
    fn push_delta(&mut self, text: &str, out: &mut Vec<StreamEvent>) {
        let Some(b) = self.open.as_mut() else { return };
        if text.is_empty() {
            return;
        }
        b.streamed.push_str(text);
        let delta = match b.kind {
            BlockKind::Text => BlockDelta::Text(text.to_owned()),
            BlockKind::Thinking => BlockDelta::Thinking(text.to_owned()),
            BlockKind::Function => BlockDelta::InputJson(text.to_owned()),
            BlockKind::Custom => BlockDelta::CustomInput(text.to_owned()),
            BlockKind::Other => return,
        };
        out.push(StreamEvent::BlockDelta {
            index: b.index,
            delta,
        });
    }

    /// Emits what `full` (a `.done` event's complete text) holds beyond what was streamed.
    fn reconcile(&mut self, full: &str, out: &mut Vec<StreamEvent>) {
        let rest = match &self.open {
            Some(b) if full.len() > b.streamed.len() && full.starts_with(&b.streamed) => {
                full[b.streamed.len()..].to_owned()
            }
            _ => return,
        };
        self.push_delta(&rest, out);
    }

    /// Opens the block of a non-message item, with whatever content the item already holds.
    fn open_item_block(&mut self, oi: u64, item: &Value, out: &mut Vec<StreamEvent>) {
        let (block, kind, initial) = match ItemKind::of(item) {
            ItemKind::Message => return,
            ItemKind::FunctionCall => (
                BlockStart::ToolUse {
                    id: call_id_of(item, self.client_calls),
                    name: qualified_name(item),
                },
                BlockKind::Function,
                str_at(item, "arguments").to_owned(),
            ),
            ItemKind::CustomToolCall => (
                BlockStart::CustomToolUse {
                    id: call_id_of(item, self.client_calls),
                    name: qualified_name(item),
                },
                BlockKind::Custom,
                str_at(item, "input").to_owned(),
            ),
            ItemKind::Reasoning => (
                BlockStart::Thinking,
                BlockKind::Thinking,
                reasoning_text(item),
            ),
            ItemKind::Other => (
                BlockStart::Other(item.clone()),
                BlockKind::Other,
                String::new(),
            ),
        };
        self.open_block(block, oi, None, kind, out);
        if let Some(state) = self.item_mut(oi) {
            state.opened = true;
        }
        self.push_delta(&initial, out);
    }

    /// A message text fragment (`done`: the part's complete text, to reconcile).
    fn text(
        &mut self,
        ev: &Value,
        text: &str,
        done: bool,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), ProtocolError> {
        let oi = output_index(ev, "text event")?;
        let ci = content_index(ev);
        if self.open_key() == Some((oi, Some(ci))) {
            if done {
                self.reconcile(text, out);
            } else {
                self.push_delta(text, out);
            }
            return Ok(());
        }
        let opened_before = self
            .items
            .iter()
            .rev()
            .find(|s| s.output_index == oi)
            .is_some_and(|s| s.opened_parts.contains(&ci));
        // A part already closed gets no second block from its `.done` events.
        if text.is_empty() || (done && opened_before) {
            return Ok(());
        }
        self.open_block(BlockStart::Text, oi, Some(ci), BlockKind::Text, out);
        match self.item_mut(oi) {
            Some(state) => state.opened_parts.push(ci),
            None => self.items.push(ItemState {
                output_index: oi,
                opened: false,
                opened_parts: vec![ci],
                done: false,
            }),
        }
        self.push_delta(text, out);
        Ok(())
    }

    /// A fragment (or, with `done`, the complete text) of a whole-item block of `kind`.
    fn item_delta(
        &mut self,
        ev: &Value,
        event: &str,
        kind: BlockKind,
        key: &str,
        done: bool,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), ProtocolError> {
        let oi = output_index(ev, event)?;
        let text = str_at(ev, key);
        match &self.open {
            Some(b) if b.output_index == oi && b.part.is_none() && b.kind == kind => {
                if done {
                    self.reconcile(text, out);
                } else {
                    self.push_delta(text, out);
                }
                Ok(())
            }
            // Nothing to add, so nothing is lost.
            _ if text.is_empty() || done => Ok(()),
            _ => Err(ProtocolError::Stream(format!(
                "{event} for output item {oi}, which is not the open item: interleaved or \
                 unannounced items cannot be expressed as blocks"
            ))),
        }
    }

    /// `output_item.done`: completes the item's block(s) from the final item.
    fn item_done(&mut self, oi: u64, item: &Value, out: &mut Vec<StreamEvent>) {
        let state = match self.items.iter().rposition(|s| s.output_index == oi) {
            Some(pos) => pos,
            None => {
                self.items.push(ItemState {
                    output_index: oi,
                    opened: false,
                    opened_parts: Vec::new(),
                    done: false,
                });
                self.items.len() - 1
            }
        };
        if self.items[state].done {
            return;
        }
        match ItemKind::of(item) {
            ItemKind::Message => {
                let parts = item.get("content").and_then(Value::as_array);
                for (ci, part) in parts.into_iter().flatten().enumerate() {
                    let ci = ci as u64;
                    let full = part
                        .get("text")
                        .or_else(|| part.get("refusal"))
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if self.open_key() == Some((oi, Some(ci))) {
                        self.reconcile(full, out);
                        self.close_block(out);
                    } else if !self.items[state].opened_parts.contains(&ci) && !full.is_empty() {
                        self.open_block(BlockStart::Text, oi, Some(ci), BlockKind::Text, out);
                        self.items[state].opened_parts.push(ci);
                        self.push_delta(full, out);
                        self.close_block(out);
                    }
                }
            }
            kind => {
                let open_here = self.open_key() == Some((oi, None));
                let opened_now = !open_here && !self.items[state].opened;
                if opened_now {
                    // Reported only now (or its block was cut by another item): emitted whole.
                    self.open_item_block(oi, item, out);
                } else if open_here {
                    let full = match kind {
                        ItemKind::FunctionCall => str_at(item, "arguments").to_owned(),
                        ItemKind::CustomToolCall => str_at(item, "input").to_owned(),
                        ItemKind::Reasoning => reasoning_text(item),
                        ItemKind::Message | ItemKind::Other => String::new(),
                    };
                    self.reconcile(&full, out);
                }
                if open_here || opened_now {
                    if let Some(b) = self.open.as_ref() {
                        let index = b.index;
                        let encrypted = str_at(item, "encrypted_content");
                        if kind == ItemKind::Reasoning && !encrypted.is_empty() {
                            out.push(StreamEvent::BlockDelta {
                                index,
                                delta: BlockDelta::Signature(encrypted.to_owned()),
                            });
                        }
                        if kind == ItemKind::Other && open_here {
                            // The item's final state, for an encoder that writes it back.
                            out.push(StreamEvent::BlockDelta {
                                index,
                                delta: BlockDelta::Other(json!({
                                    "type": "response.output_item.done",
                                    "output_index": oi,
                                    "item": item,
                                })),
                            });
                        }
                    }
                    self.close_block(out);
                }
            }
        }
        if let Some(s) = self.items.get_mut(state) {
            s.done = true;
        }
    }

    /// `response.completed` / `response.incomplete` (or a non-streamed response object).
    fn terminal(
        &mut self,
        ending: Ending,
        response: &Value,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), ProtocolError> {
        self.ensure_started(Some(response), out);
        // The final `output` is authoritative: items never (completely) streamed are emitted
        // from it rather than lost.
        if let Some(output) = response.get("output").and_then(Value::as_array) {
            for (i, item) in output.iter().enumerate() {
                let oi = i as u64;
                let done = self
                    .items
                    .iter()
                    .rev()
                    .find(|s| s.output_index == oi)
                    .is_some_and(|s| s.done);
                if !done {
                    self.item_done(oi, item, out);
                }
            }
        }
        self.close_block(out);
        let stop_reason = match ending {
            Ending::Completed if self.client_calls > 0 => StopReason::ToolUse,
            Ending::Completed => StopReason::EndTurn,
            Ending::Incomplete => {
                let reason = response
                    .get("incomplete_details")
                    .and_then(|d| d.get("reason"))
                    .and_then(Value::as_str);
                match reason {
                    Some("max_output_tokens") => StopReason::MaxTokens,
                    Some("content_filter") => StopReason::Refusal,
                    Some(other) => StopReason::Other(other.to_owned()),
                    None => StopReason::Other("incomplete".to_owned()),
                }
            }
        };
        out.push(StreamEvent::MessageDelta(MessageDelta {
            stop_reason: Some(stop_reason),
            stop_sequence: None,
            usage: response
                .get("usage")
                .map(usage_from_responses)
                .unwrap_or_default(),
        }));
        out.push(StreamEvent::MessageStop);
        self.phase = DecodePhase::Closed;
        Ok(())
    }

    fn fail(&mut self, error: &Value, out: &mut Vec<StreamEvent>) {
        let message = error
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| "the response failed".to_owned());
        out.push(StreamEvent::Error(StreamError {
            kind: error_kind_from_code(error.get("code").and_then(Value::as_str)),
            message,
        }));
        self.phase = DecodePhase::Failed;
    }

    /// An event type this decoder does not name: a delta of the open block when it concerns
    /// that block's item, else an `Unknown` event; never dropped.
    fn unknown(&mut self, kind: &str, ev: &Value, out: &mut Vec<StreamEvent>) {
        self.ensure_started(None, out);
        let oi = ev.get("output_index").and_then(Value::as_u64);
        match &self.open {
            Some(b) if oi == Some(b.output_index) => {
                let mut data = ev.clone();
                if let Some(m) = data.as_object_mut() {
                    // The encoder numbers events itself.
                    m.remove("sequence_number");
                }
                out.push(StreamEvent::BlockDelta {
                    index: b.index,
                    delta: BlockDelta::Other(data),
                });
            }
            _ => out.push(StreamEvent::Unknown {
                event: kind.to_owned(),
                data: ev.clone(),
            }),
        }
    }
}

fn str_at<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn output_index(ev: &Value, event: &str) -> Result<u64, ProtocolError> {
    ev.get("output_index")
        .and_then(Value::as_u64)
        .ok_or_else(|| {
            ProtocolError::field(
                "output_index",
                format!("missing or not a non-negative integer in {event}"),
            )
        })
}

fn content_index(ev: &Value) -> u64 {
    ev.get("content_index").and_then(Value::as_u64).unwrap_or(0)
}

fn item_of<'a>(ev: &'a Value, event: &str) -> Result<&'a Value, ProtocolError> {
    ev.get("item")
        .filter(|i| i.is_object())
        .ok_or_else(|| ProtocolError::field("item", format!("missing or not an object in {event}")))
}

/// The id a tool call's output refers to: `call_id`, else the item id, else a made-up one.
fn call_id_of(item: &Value, n: usize) -> String {
    let id = [str_at(item, "call_id"), str_at(item, "id")]
        .into_iter()
        .find(|s| !s.is_empty());
    id.map_or_else(|| format!("call_{n}"), str::to_owned)
}

/// A call's tool name, `namespace.name` for a tool inside a namespace.
fn qualified_name(item: &Value) -> String {
    match (str_at(item, "namespace"), str_at(item, "name")) {
        ("", name) => name.to_owned(),
        (namespace, name) => format!("{namespace}.{name}"),
    }
}

/// Splits a canonical tool name into its namespace and name: a namespaced call is named
/// `namespace.name`, and a `.` cannot occur in a Responses tool name.
pub fn split_tool_name(name: &str) -> (Option<&str>, &str) {
    match name.split_once('.') {
        Some((ns, n)) if !ns.is_empty() && !n.is_empty() => (Some(ns), n),
        _ => (None, name),
    }
}

/// A reasoning item's text: its summary parts (or, without a summary, its raw reasoning
/// parts) joined by a blank line.
pub(crate) fn reasoning_text(item: &Value) -> String {
    let texts = |key: &str| -> Vec<&str> {
        item.get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect()
    };
    let summary = texts("summary");
    if summary.is_empty() {
        texts("content").join("\n\n")
    } else {
        summary.join("\n\n")
    }
}

/// Responses usage in canonical terms: OpenAI counts cache reads and writes inside
/// `input_tokens`, Anthropic (and the canonical model) apart from them.
pub(crate) fn usage_from_responses(u: &Value) -> Usage {
    let n = |v: Option<&Value>| v.and_then(Value::as_u64);
    let input = n(u.get("input_tokens"));
    let details = u.get("input_tokens_details");
    let cached = n(details.and_then(|d| d.get("cached_tokens")));
    let written = n(details.and_then(|d| d.get("cache_write_tokens")));
    Usage {
        input_tokens: input.map(|i| {
            i.saturating_sub(cached.unwrap_or(0))
                .saturating_sub(written.unwrap_or(0))
        }),
        output_tokens: n(u.get("output_tokens")),
        cache_creation_input_tokens: written,
        cache_read_input_tokens: cached,
        reasoning_output_tokens: n(u
            .get("output_tokens_details")
            .and_then(|d| d.get("reasoning_tokens"))),
    }
}

/// Canonical usage as a Responses `usage` object; every counter is present, because Codex
/// and the SDKs' models reject a usage object missing one.
pub(crate) fn usage_to_responses(u: &Usage) -> Value {
    let input = u
        .input_tokens
        .unwrap_or(0)
        .saturating_add(u.cache_read_input_tokens.unwrap_or(0))
        .saturating_add(u.cache_creation_input_tokens.unwrap_or(0));
    let output = u.output_tokens.unwrap_or(0);
    json!({
        "input_tokens": input,
        "input_tokens_details": {
            "cache_write_tokens": u.cache_creation_input_tokens.unwrap_or(0),
            "cached_tokens": u.cache_read_input_tokens.unwrap_or(0),
        },
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": u.reasoning_output_tokens.unwrap_or(0)},
        "total_tokens": input.saturating_add(output),
    })
}

/// A Responses error `code` as a kind.
pub(crate) fn error_kind_from_code(code: Option<&str>) -> ErrorKind {
    match code.unwrap_or_default() {
        "rate_limit_exceeded" | "insufficient_quota" => ErrorKind::RateLimit,
        "vector_store_timeout" => ErrorKind::Timeout,
        c if c.starts_with("invalid_")
            || c.starts_with("image_")
            || c == "context_length_exceeded"
            || c == "unsupported_image_media_type"
            || c == "empty_image_file"
            || c == "failed_to_download_image" =>
        {
            ErrorKind::InvalidRequest
        }
        _ => ErrorKind::Api,
    }
}

/// The Responses error `code` for a kind (`response.error.code` has a closed vocabulary).
fn error_code_for(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::RateLimit => "rate_limit_exceeded",
        ErrorKind::InvalidRequest => "invalid_prompt",
        _ => "server_error",
    }
}

// ---------------------------------------------------------------------------------------------
// Encoder
// ---------------------------------------------------------------------------------------------

/// What the encoded response says about itself.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EncoderOptions {
    /// The response id (`resp_…`); `None` keeps the one `MessageStart` carries, which is right
    /// when the upstream speaks Responses (a client may refer to it later).
    pub id: Option<String>,
    /// The model reported; `None` keeps `MessageStart`'s.
    pub model: Option<String>,
    /// Unix seconds of the response's creation.
    pub created_at: u64,
    /// Request fields the response object repeats (see
    /// [`response_echo`](crate::openai::responses_request::response_echo)).
    pub echo: Map<String, Value>,
}

/// Turns canonical events into Responses SSE frames.
#[derive(Debug)]
pub struct Encoder {
    opts: EncoderOptions,
    phase: EncodePhase,
    /// The next `sequence_number`.
    seq: u64,
    id: String,
    model: String,
    /// Usage from `MessageStart`: Anthropic reports input tokens there.
    start_usage: Usage,
    /// The completed output items, in output order.
    output: Vec<Value>,
    /// The ids of the completed items, to re-point events that name them.
    item_ids: Vec<String>,
    open: Option<OpenItem>,
    /// The final response object, once the terminal event was written.
    terminal: Option<Value>,
}

/// Where the encoder is; each phase only moves forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EncodePhase {
    /// Nothing written yet.
    Idle,
    /// `response.created` was written; items may follow.
    Streaming,
    /// The terminal event was written; nothing follows.
    Ended,
}

/// The item being written.
#[derive(Debug)]
struct OpenItem {
    /// The canonical block it comes from.
    block: usize,
    output_index: usize,
    id: String,
    body: ItemBody,
}

/// What an open item has accumulated, per item type.
#[derive(Debug)]
enum ItemBody {
    Message {
        text: String,
        annotations: Vec<Value>,
    },
    Reasoning {
        summary: String,
        encrypted: String,
        /// `response.reasoning_summary_part.added` was written.
        part_open: bool,
    },
    Function {
        call_id: String,
        name: String,
        namespace: Option<String>,
        arguments: String,
    },
    Custom {
        call_id: String,
        name: String,
        namespace: Option<String>,
        input: String,
    },
    /// An item kept whole (hosted tool calls); replaced by its final state when one arrives.
    Whole(Value),
    /// A block with no Responses form (Anthropic's redacted thinking and server-tool blocks).
    Skipped,
}

impl Encoder {
    /// An encoder for one response.
    pub fn new(opts: EncoderOptions) -> Self {
        Self {
            opts,
            phase: EncodePhase::Idle,
            seq: 0,
            id: String::new(),
            model: String::new(),
            start_usage: Usage::default(),
            output: Vec::new(),
            item_ids: Vec::new(),
            open: None,
            terminal: None,
        }
    }

    /// The final response object, once the stream ended (completed, incomplete or failed).
    pub fn response(&self) -> Option<&Value> {
        self.terminal.as_ref()
    }

    /// The frames `ev` becomes (possibly none).
    pub fn encode(&mut self, ev: &StreamEvent) -> Vec<Bytes> {
        let mut out = Vec::new();
        if self.phase == EncodePhase::Ended {
            return out;
        }
        match ev {
            StreamEvent::MessageStart(m) => {
                if self.phase == EncodePhase::Idle {
                    self.start_usage = m.usage.clone();
                    self.start(Some(m), &mut out);
                }
            }
            StreamEvent::BlockStart { index, block } => {
                self.start(None, &mut out);
                self.close_item(&mut out);
                self.open_item(*index, block, &mut out);
            }
            StreamEvent::BlockDelta { index, delta } => {
                if self.open.as_ref().is_some_and(|o| o.block == *index) {
                    self.delta(delta, &mut out);
                }
            }
            StreamEvent::BlockStop { index } => {
                if self.open.as_ref().is_some_and(|o| o.block == *index) {
                    self.close_item(&mut out);
                }
            }
            StreamEvent::MessageDelta(d) => self.end(d, &mut out),
            // A stream that ends without a `MessageDelta` still gets its terminal event.
            StreamEvent::MessageStop => self.end(&MessageDelta::default(), &mut out),
            StreamEvent::Ping => out.push(sse::comment("ping")),
            StreamEvent::Error(e) => self.fail(e, &mut out),
            StreamEvent::Unknown { event, data } => {
                self.start(None, &mut out);
                self.reemit(event, data, &mut out);
            }
        }
        out
    }

    /// Writes `response.created` and `response.in_progress` once.
    fn start(&mut self, m: Option<&MessageStart>, out: &mut Vec<Bytes>) {
        if self.phase != EncodePhase::Idle {
            return;
        }
        self.phase = EncodePhase::Streaming;
        let from_start = |f: fn(&MessageStart) -> &String| m.map(f).cloned().unwrap_or_default();
        self.id = self
            .opts
            .id
            .clone()
            .unwrap_or_else(|| from_start(|m| &m.id));
        if self.id.is_empty() {
            self.id = "resp_unknown".to_owned();
        }
        self.model = self
            .opts
            .model
            .clone()
            .unwrap_or_else(|| from_start(|m| &m.model));
        let response = self.response_object("in_progress", None, None, None);
        out.push(self.frame(
            "response.created",
            obj(json!({"response": response.clone()})),
        ));
        out.push(self.frame("response.in_progress", obj(json!({"response": response}))));
    }

    /// An id for the item at `output_index`, unique within the response.
    fn item_id(&self, prefix: &str, output_index: usize) -> String {
        let base = self.id.strip_prefix("resp_").unwrap_or(&self.id);
        format!("{prefix}_{base}_{output_index}")
    }

    fn open_item(&mut self, block: usize, start: &BlockStart, out: &mut Vec<Bytes>) {
        let output_index = self.output.len();
        let (id, body, item) = match start {
            BlockStart::Text => {
                let id = self.item_id("msg", output_index);
                let item = json!({"id": id, "type": "message", "status": "in_progress",
                    "content": [], "role": "assistant"});
                let body = ItemBody::Message {
                    text: String::new(),
                    annotations: Vec::new(),
                };
                (id, body, item)
            }
            BlockStart::Thinking => {
                let id = self.item_id("rs", output_index);
                let item = json!({"id": id, "type": "reasoning", "summary": []});
                let body = ItemBody::Reasoning {
                    summary: String::new(),
                    encrypted: String::new(),
                    part_open: false,
                };
                (id, body, item)
            }
            BlockStart::ToolUse { id: call_id, name } => {
                let id = self.item_id("fc", output_index);
                let (namespace, name) = split_tool_name(name);
                let body = ItemBody::Function {
                    call_id: call_id.clone(),
                    name: name.to_owned(),
                    namespace: namespace.map(str::to_owned),
                    arguments: String::new(),
                };
                let item = self.item_json(&id, &body, "in_progress");
                (id, body, item)
            }
            BlockStart::CustomToolUse { id: call_id, name } => {
                let id = self.item_id("ctc", output_index);
                let (namespace, name) = split_tool_name(name);
                let body = ItemBody::Custom {
                    call_id: call_id.clone(),
                    name: name.to_owned(),
                    namespace: namespace.map(str::to_owned),
                    input: String::new(),
                };
                let item = self.item_json(&id, &body, "in_progress");
                (id, body, item)
            }
            BlockStart::Other(v) if is_responses_item(v) => {
                let id = match v.get("id").and_then(Value::as_str) {
                    Some(id) => id.to_owned(),
                    None => self.item_id("item", output_index),
                };
                (id, ItemBody::Whole(v.clone()), v.clone())
            }
            BlockStart::RedactedThinking { .. } | BlockStart::Other(_) => {
                self.open = Some(OpenItem {
                    block,
                    output_index,
                    id: String::new(),
                    body: ItemBody::Skipped,
                });
                return;
            }
        };
        out.push(self.frame(
            "response.output_item.added",
            obj(json!({"output_index": output_index, "item": item})),
        ));
        if matches!(body, ItemBody::Message { .. }) {
            out.push(self.frame(
                "response.content_part.added",
                obj(json!({"item_id": id, "output_index": output_index, "content_index": 0,
                    "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}})),
            ));
        }
        self.open = Some(OpenItem {
            block,
            output_index,
            id,
            body,
        });
    }

    fn delta(&mut self, delta: &BlockDelta, out: &mut Vec<Bytes>) {
        let Some(mut open) = self.open.take() else {
            return;
        };
        let (id, oi) = (open.id.clone(), open.output_index);
        match (&mut open.body, delta) {
            (ItemBody::Message { text, .. }, BlockDelta::Text(t)) if !t.is_empty() => {
                text.push_str(t);
                out.push(self.frame(
                    "response.output_text.delta",
                    obj(
                        json!({"item_id": id, "output_index": oi, "content_index": 0,
                        "delta": t, "logprobs": []}),
                    ),
                ));
            }
            (
                ItemBody::Reasoning {
                    summary, part_open, ..
                },
                BlockDelta::Thinking(t),
            ) if !t.is_empty() => {
                if !*part_open {
                    *part_open = true;
                    out.push(self.frame(
                        "response.reasoning_summary_part.added",
                        obj(
                            json!({"item_id": id, "output_index": oi, "summary_index": 0,
                            "part": {"type": "summary_text", "text": ""}}),
                        ),
                    ));
                }
                summary.push_str(t);
                out.push(self.frame(
                    "response.reasoning_summary_text.delta",
                    obj(json!({"item_id": id, "output_index": oi, "summary_index": 0, "delta": t})),
                ));
            }
            // The encrypted state is not streamed: it appears in the item's done event.
            (ItemBody::Reasoning { encrypted, .. }, BlockDelta::Signature(s)) => {
                encrypted.push_str(s);
            }
            (ItemBody::Function { arguments, .. }, BlockDelta::InputJson(j)) if !j.is_empty() => {
                arguments.push_str(j);
                out.push(self.frame(
                    "response.function_call_arguments.delta",
                    obj(json!({"item_id": id, "output_index": oi, "delta": j})),
                ));
            }
            (ItemBody::Custom { input, .. }, BlockDelta::CustomInput(t)) if !t.is_empty() => {
                input.push_str(t);
                out.push(self.frame(
                    "response.custom_tool_call_input.delta",
                    obj(json!({"item_id": id, "output_index": oi, "delta": t})),
                ));
            }
            (ItemBody::Whole(item), BlockDelta::Other(v))
                if v.get("type").and_then(Value::as_str) == Some("response.output_item.done") =>
            {
                if let Some(done) = v.get("item").filter(|i| i.is_object()) {
                    *item = done.clone();
                }
            }
            (ItemBody::Skipped, _) => {}
            // An event of this item the canonical model does not name (an annotation, a hosted
            // tool's progress): written back, pointed at this item.
            (body, BlockDelta::Other(v)) => {
                if let Some(mut fields) = responses_event_fields(v) {
                    let ty = str_at(v, "type").to_owned();
                    if fields.contains_key("item_id") {
                        fields.insert("item_id".into(), Value::String(id.clone()));
                    }
                    fields.insert("output_index".into(), oi.into());
                    if let ItemBody::Message { annotations, .. } = body {
                        if fields.contains_key("content_index") {
                            fields.insert("content_index".into(), 0.into());
                        }
                        if ty == "response.output_text.annotation.added" {
                            if let Some(a) = fields.get("annotation") {
                                annotations.push(a.clone());
                                fields.insert(
                                    "annotation_index".into(),
                                    (annotations.len() - 1).into(),
                                );
                            }
                        }
                    }
                    out.push(self.frame(&ty, fields));
                }
            }
            // A delta that does not fit its block (the executor never sends one) or an empty one.
            _ => {}
        }
        self.open = Some(open);
    }

    /// The JSON of a tool-call item in `status`.
    fn item_json(&self, id: &str, body: &ItemBody, status: &str) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), id.into());
        match body {
            ItemBody::Function {
                call_id,
                name,
                namespace,
                arguments,
            } => {
                m.insert("type".into(), "function_call".into());
                m.insert("status".into(), status.into());
                m.insert("arguments".into(), arguments.clone().into());
                m.insert("call_id".into(), call_id.clone().into());
                m.insert("name".into(), name.clone().into());
                if let Some(ns) = namespace {
                    m.insert("namespace".into(), ns.clone().into());
                }
            }
            ItemBody::Custom {
                call_id,
                name,
                namespace,
                input,
            } => {
                m.insert("type".into(), "custom_tool_call".into());
                m.insert("status".into(), status.into());
                m.insert("call_id".into(), call_id.clone().into());
                m.insert("input".into(), input.clone().into());
                m.insert("name".into(), name.clone().into());
                if let Some(ns) = namespace {
                    m.insert("namespace".into(), ns.clone().into());
                }
            }
            _ => {}
        }
        Value::Object(m)
    }

    /// Writes the open item's done events and records it in the output.
    fn close_item(&mut self, out: &mut Vec<Bytes>) {
        let Some(open) = self.open.take() else {
            return;
        };
        let (id, oi) = (open.id, open.output_index);
        let item = match open.body {
            ItemBody::Skipped => return,
            ItemBody::Message { text, annotations } => {
                let part = json!({"type": "output_text", "annotations": annotations,
                    "logprobs": [], "text": text});
                out.push(self.frame(
                    "response.output_text.done",
                    obj(
                        json!({"item_id": id, "output_index": oi, "content_index": 0,
                        "text": text, "logprobs": []}),
                    ),
                ));
                out.push(self.frame(
                    "response.content_part.done",
                    obj(
                        json!({"item_id": id, "output_index": oi, "content_index": 0,
                        "part": part.clone()}),
                    ),
                ));
                json!({"id": id, "type": "message", "status": "completed", "content": [part],
                    "role": "assistant"})
            }
            ItemBody::Reasoning {
                summary,
                encrypted,
                part_open,
            } => {
                if part_open {
                    out.push(self.frame(
                        "response.reasoning_summary_text.done",
                        obj(
                            json!({"item_id": id, "output_index": oi, "summary_index": 0,
                            "text": summary}),
                        ),
                    ));
                    out.push(self.frame(
                        "response.reasoning_summary_part.done",
                        obj(
                            json!({"item_id": id, "output_index": oi, "summary_index": 0,
                            "part": {"type": "summary_text", "text": summary}}),
                        ),
                    ));
                }
                let parts: Vec<Value> = if summary.is_empty() {
                    Vec::new()
                } else {
                    vec![json!({"type": "summary_text", "text": summary})]
                };
                let mut item = json!({"id": id, "type": "reasoning", "summary": parts});
                if !encrypted.is_empty() {
                    if let Some(m) = item.as_object_mut() {
                        m.insert("encrypted_content".into(), encrypted.into());
                    }
                }
                item
            }
            body @ ItemBody::Function { .. } => {
                if let ItemBody::Function { arguments, .. } = &body {
                    out.push(self.frame(
                        "response.function_call_arguments.done",
                        obj(json!({"item_id": id, "output_index": oi, "arguments": arguments})),
                    ));
                }
                self.item_json(&id, &body, "completed")
            }
            body @ ItemBody::Custom { .. } => {
                if let ItemBody::Custom { input, .. } = &body {
                    out.push(self.frame(
                        "response.custom_tool_call_input.done",
                        obj(json!({"item_id": id, "output_index": oi, "input": input})),
                    ));
                }
                self.item_json(&id, &body, "completed")
            }
            ItemBody::Whole(item) => item,
        };
        out.push(self.frame(
            "response.output_item.done",
            obj(json!({"output_index": oi, "item": item.clone()})),
        ));
        self.output.push(item);
        self.item_ids.push(id);
    }

    /// Writes the terminal event: `response.incomplete` when the output was cut
    /// (`max_tokens`, `refusal`), else `response.completed`.
    fn end(&mut self, d: &MessageDelta, out: &mut Vec<Bytes>) {
        self.start(None, out);
        self.close_item(out);
        let (event, status, reason) = match d.stop_reason {
            Some(StopReason::MaxTokens) => (
                "response.incomplete",
                "incomplete",
                Some("max_output_tokens"),
            ),
            Some(StopReason::Refusal) => {
                ("response.incomplete", "incomplete", Some("content_filter"))
            }
            _ => ("response.completed", "completed", None),
        };
        let usage = d.usage.or(&self.start_usage);
        let response = self.response_object(status, reason, None, Some(&usage));
        out.push(self.frame(event, obj(json!({"response": response.clone()}))));
        self.terminal = Some(response);
        self.phase = EncodePhase::Ended;
    }

    /// Writes `response.failed`: Codex reads the failure from it (a bare `error` event would
    /// leave it waiting for a terminal event). An item still open is left out of `output`.
    fn fail(&mut self, e: &StreamError, out: &mut Vec<Bytes>) {
        self.start(None, out);
        self.open = None;
        let error = json!({"code": error_code_for(e.kind), "message": e.message});
        let response = self.response_object("failed", None, Some(error), None);
        out.push(self.frame(
            "response.failed",
            obj(json!({"response": response.clone()})),
        ));
        self.terminal = Some(response);
        self.phase = EncodePhase::Ended;
    }

    /// Writes an event the canonical model does not name, renumbered, and pointed at its item
    /// when it names one this encoder wrote.
    fn reemit(&mut self, event: &str, data: &Value, out: &mut Vec<Bytes>) {
        let Some(mut fields) = responses_event_fields(data) else {
            return;
        };
        let ty = match data.get("type").and_then(Value::as_str) {
            Some(t) => t.to_owned(),
            None => event.to_owned(),
        };
        if let Some(item_id) = fields.get("item_id").and_then(Value::as_str) {
            let index = self
                .item_ids
                .iter()
                .position(|id| id == item_id)
                .or_else(|| {
                    self.open
                        .as_ref()
                        .filter(|o| o.id == item_id)
                        .map(|o| o.output_index)
                });
            if let Some(index) = index {
                fields.insert("output_index".into(), index.into());
            }
        }
        out.push(self.frame(&ty, fields));
    }

    /// The response object in `status`.
    fn response_object(
        &self,
        status: &str,
        incomplete_reason: Option<&str>,
        error: Option<Value>,
        usage: Option<&Usage>,
    ) -> Value {
        let mut r = Map::new();
        r.insert("id".into(), self.id.clone().into());
        r.insert("object".into(), "response".into());
        r.insert("created_at".into(), self.opts.created_at.into());
        r.insert("status".into(), status.into());
        r.insert("error".into(), error.unwrap_or(Value::Null));
        r.insert(
            "incomplete_details".into(),
            incomplete_reason.map_or(Value::Null, |reason| json!({"reason": reason})),
        );
        // The fields the SDKs require, with the API's defaults, overridden by the request's.
        r.insert("instructions".into(), Value::Null);
        r.insert("max_output_tokens".into(), Value::Null);
        r.insert("model".into(), self.model.clone().into());
        r.insert("output".into(), Value::Array(self.output.clone()));
        r.insert("parallel_tool_calls".into(), true.into());
        r.insert("previous_response_id".into(), Value::Null);
        r.insert("reasoning".into(), json!({"effort": null, "summary": null}));
        r.insert("temperature".into(), Value::Null);
        r.insert("text".into(), json!({"format": {"type": "text"}}));
        r.insert("tool_choice".into(), "auto".into());
        r.insert("tools".into(), json!([]));
        r.insert("top_p".into(), Value::Null);
        r.insert("truncation".into(), "disabled".into());
        r.insert(
            "usage".into(),
            usage.map_or(Value::Null, usage_to_responses),
        );
        r.insert("user".into(), Value::Null);
        r.insert("metadata".into(), json!({}));
        const OWN: [&str; 9] = [
            "id",
            "object",
            "created_at",
            "status",
            "error",
            "incomplete_details",
            "model",
            "output",
            "usage",
        ];
        for (k, v) in &self.opts.echo {
            if !OWN.contains(&k.as_str()) {
                r.insert(k.clone(), v.clone());
            }
        }
        Value::Object(r)
    }

    /// One frame: `event: <type>` and data starting with `type` and `sequence_number`, as
    /// OpenAI writes them.
    fn frame(&mut self, ty: &str, fields: Map<String, Value>) -> Bytes {
        let mut m = Map::with_capacity(fields.len() + 2);
        m.insert("type".into(), ty.into());
        m.insert("sequence_number".into(), self.seq.into());
        self.seq += 1;
        for (k, v) in fields {
            if k != "type" && k != "sequence_number" {
                m.insert(k, v);
            }
        }
        sse::encode(Some(ty), &Value::Object(m).to_string())
    }
}

/// The fields of a Responses event kept whole (minus `type` and `sequence_number`, which the
/// encoder writes); `None` when it is not a Responses event (an Anthropic `citations_delta`),
/// which has no Responses form.
fn responses_event_fields(v: &Value) -> Option<Map<String, Value>> {
    let ty = v.get("type").and_then(Value::as_str)?;
    if !(ty.starts_with("response.") || ty == "error") {
        return None;
    }
    let mut m = v.as_object()?.clone();
    m.remove("type");
    m.remove("sequence_number");
    Some(m)
}

/// Whether an `Other` block holds a Responses output item rather than an Anthropic block:
/// Anthropic's server-tool blocks (`server_tool_use`, `web_search_tool_result`, …) were run by
/// Anthropic and have no Responses form.
fn is_responses_item(v: &Value) -> bool {
    match v.get("type").and_then(Value::as_str) {
        Some(t) => {
            !(t.ends_with("_tool_use") || t.ends_with("_tool_result") || t == "container_upload")
        }
        None => false,
    }
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}
