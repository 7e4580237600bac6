//! A recorded request as the conversation views read it: its system prompt and its history
//! by reference, from a request body or from a session read that shares the history between
//! turns (`store::SessionConversation`), so showing a long session copies nothing per turn.

use serde_json::Value;
use store::{RequestRef, SessionConversation, StoreError};

/// The parts of a request a conversation shows.
#[derive(Debug, Clone, Default)]
pub struct RequestParts<'a> {
    /// Anthropic's `system` (a string or text blocks).
    pub system: Option<&'a Value>,
    /// A Responses request's `instructions`.
    pub instructions: Option<&'a Value>,
    /// The history list: Chat/Messages `messages`, or a Responses `input` list.
    pub history: Vec<&'a Value>,
    /// Whether `history` is a `messages` list (else Responses `input` items).
    pub messages: bool,
    /// A Responses `input` given as a plain string.
    pub input_text: Option<&'a str>,
}

impl<'a> RequestParts<'a> {
    /// The parts of a whole request body.
    pub fn of_body(req: &'a Value) -> Self {
        let (history, messages) = match (req["messages"].as_array(), req["input"].as_array()) {
            (Some(m), _) => (m.iter().collect(), true),
            (None, Some(items)) => (items.iter().collect(), false),
            (None, None) => (Vec::new(), false),
        };
        Self {
            system: req.get("system"),
            instructions: req.get("instructions"),
            history,
            messages,
            input_text: req["input"].as_str(),
        }
    }

    /// The parts of the request of turn `i` of a session read (empty past its last turn).
    pub fn of_turn(session: &'a SessionConversation, i: usize) -> Result<Self, StoreError> {
        session
            .request(i)
            .map_or_else(|| Ok(Self::default()), Self::of_stored)
    }

    /// The parts of a request of a session read.
    pub fn of_stored(req: RequestRef<'a>) -> Result<Self, StoreError> {
        Ok(Self {
            system: req.field("system")?,
            instructions: req.field("instructions")?,
            history: req.history()?.unwrap_or_default(),
            messages: req.history_is_messages(),
            input_text: req.field("input")?.and_then(Value::as_str),
        })
    }
}
