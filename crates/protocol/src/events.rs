//! The canonical, block-structured model of an assistant response stream.
//!
//! Every upstream format is decoded into these events and every client format is encoded
//! from them. The shape follows Anthropic's Messages stream because it is the block-structured
//! one; OpenAI streams are mapped onto it by a state machine. Anything a format carries that
//! this model does not name is kept as raw JSON in an `Other` variant, never dropped.

use serde_json::Value;

/// One event of an assistant response.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// The response began.
    MessageStart(MessageStart),
    /// A content block opened at `index` (indices start at 0 and are contiguous).
    BlockStart { index: usize, block: BlockStart },
    /// A piece of the content of the open block at `index`.
    BlockDelta { index: usize, delta: BlockDelta },
    /// The block at `index` is complete.
    BlockStop { index: usize },
    /// Every block is complete: why the model stopped, and the final usage.
    MessageDelta(MessageDelta),
    /// The response is complete.
    MessageStop,
    /// A keep-alive carrying no content.
    Ping,
    /// The response failed; nothing follows.
    Error(StreamError),
    /// A top-level event type this model does not know: its SSE event name and JSON data.
    Unknown { event: String, data: Value },
}

/// The fields known at the start of a response.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MessageStart {
    /// The provider's response id (`msg_…`, `chatcmpl-…`).
    pub id: String,
    /// The model that answers.
    pub model: String,
    /// Usage known at the start (input tokens on Anthropic).
    pub usage: Usage,
}

/// The first event of a content block.
#[derive(Debug, Clone, PartialEq)]
pub enum BlockStart {
    /// Visible text.
    Text,
    /// Extended thinking; its text arrives as `Thinking` deltas, its signature as a `Signature` delta.
    Thinking,
    /// Thinking the provider encrypted; `data` must round-trip unchanged.
    RedactedThinking { data: String },
    /// A call of a client-side tool; the input arrives as `InputJson` fragments.
    ToolUse { id: String, name: String },
    /// A call of a client-side tool that takes free-form text instead of JSON (an OpenAI
    /// `custom` tool, such as Codex's `apply_patch`); the input arrives as `CustomInput`
    /// fragments. Kept apart from `ToolUse` because its input is not JSON: a client API without
    /// free-form tools must refuse it rather than receive a call it cannot run.
    CustomToolUse { id: String, name: String },
    /// A block type this model does not know (server tools, future types), kept whole.
    Other(Value),
}

/// A piece of a content block.
#[derive(Debug, Clone, PartialEq)]
pub enum BlockDelta {
    /// A fragment of visible text.
    Text(String),
    /// A fragment of thinking text.
    Thinking(String),
    /// The thinking block's signature.
    Signature(String),
    /// A fragment of a tool call's JSON input.
    InputJson(String),
    /// A fragment of a custom tool call's free-form input.
    CustomInput(String),
    /// A delta type this model does not know, kept whole.
    Other(Value),
}

/// The end of a response: why it stopped and the final usage.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MessageDelta {
    /// Why the model stopped.
    pub stop_reason: Option<StopReason>,
    /// The stop sequence that matched, when `stop_reason` is `StopSequence`.
    pub stop_sequence: Option<String>,
    /// Usage at the end of the response.
    pub usage: Usage,
}

/// Why the model stopped, in Anthropic's vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// The model finished its turn.
    EndTurn,
    /// The output hit `max_tokens`.
    MaxTokens,
    /// A stop sequence matched.
    StopSequence,
    /// The model wants tool results.
    ToolUse,
    /// A long-running server tool paused the turn.
    PauseTurn,
    /// The model refused (OpenAI's `content_filter`).
    Refusal,
    /// A value this model does not know, kept verbatim.
    Other(String),
}

impl StopReason {
    /// Parses Anthropic's `stop_reason` string.
    pub fn from_anthropic(s: &str) -> Self {
        match s {
            "end_turn" => Self::EndTurn,
            "max_tokens" => Self::MaxTokens,
            "stop_sequence" => Self::StopSequence,
            "tool_use" => Self::ToolUse,
            "pause_turn" => Self::PauseTurn,
            "refusal" => Self::Refusal,
            other => Self::Other(other.to_owned()),
        }
    }

    /// Anthropic's `stop_reason` string. An unknown value becomes `end_turn` rather than an
    /// invalid stop reason clients would reject.
    pub fn as_anthropic(&self) -> &str {
        match self {
            Self::EndTurn | Self::Other(_) => "end_turn",
            Self::MaxTokens => "max_tokens",
            Self::StopSequence => "stop_sequence",
            Self::ToolUse => "tool_use",
            Self::PauseTurn => "pause_turn",
            Self::Refusal => "refusal",
        }
    }

    /// Parses OpenAI Chat's `finish_reason`.
    pub fn from_openai(s: &str) -> Self {
        match s {
            "stop" => Self::EndTurn,
            "length" => Self::MaxTokens,
            "tool_calls" | "function_call" => Self::ToolUse,
            "content_filter" => Self::Refusal,
            other => Self::Other(other.to_owned()),
        }
    }

    /// OpenAI Chat's `finish_reason`. An unknown value becomes `stop`.
    pub fn as_openai(&self) -> &str {
        match self {
            Self::EndTurn | Self::StopSequence | Self::PauseTurn | Self::Other(_) => "stop",
            Self::MaxTokens => "length",
            Self::ToolUse => "tool_calls",
            Self::Refusal => "content_filter",
        }
    }
}

/// Token usage; a field a provider did not report is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Usage {
    /// Input tokens not read from or written to the prompt cache.
    pub input_tokens: Option<u64>,
    /// Output tokens.
    pub output_tokens: Option<u64>,
    /// Input tokens written to the prompt cache.
    pub cache_creation_input_tokens: Option<u64>,
    /// Input tokens read from the prompt cache.
    pub cache_read_input_tokens: Option<u64>,
    /// Output tokens spent on reasoning, already counted in `output_tokens` (OpenAI reports
    /// them; Anthropic does not).
    pub reasoning_output_tokens: Option<u64>,
}

impl Usage {
    /// Field by field, this usage's counter or else `earlier`'s: a stream may report some
    /// counters at its start (Anthropic's input tokens) and the rest at its end.
    pub fn or(&self, earlier: &Usage) -> Usage {
        Usage {
            input_tokens: self.input_tokens.or(earlier.input_tokens),
            output_tokens: self.output_tokens.or(earlier.output_tokens),
            cache_creation_input_tokens: self
                .cache_creation_input_tokens
                .or(earlier.cache_creation_input_tokens),
            cache_read_input_tokens: self
                .cache_read_input_tokens
                .or(earlier.cache_read_input_tokens),
            reasoning_output_tokens: self
                .reasoning_output_tokens
                .or(earlier.reasoning_output_tokens),
        }
    }
}

/// A failure reported inside a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamError {
    /// The kind of failure.
    pub kind: crate::errors::ErrorKind,
    /// A readable explanation.
    pub message: String,
}
