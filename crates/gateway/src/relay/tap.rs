//! What the recorder keeps of a stream: the canonical events the upstream sent, the ones the
//! client received (when a policy changed them), the raw frames up to a cap, and when the first
//! byte went out. Handed to a completion callback when the stream ends, fails, or the client leaves.

use std::time::Instant;

use protocol::events::StreamEvent;

/// Raw frames kept per stream at most; past it the record says the list was truncated.
const MAX_RAW_EVENTS: usize = 4_000;
/// Raw bytes kept per stream at most.
const MAX_RAW_BYTES: usize = 2 * 1024 * 1024;

/// How a stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEnd {
    /// The stream completed.
    Completed,
    /// The stream ended with an error event (the message says why).
    Failed(String),
    /// The client went away before the end.
    ClientGone,
}

/// The record of one stream.
#[derive(Debug, Default)]
pub struct Tap {
    /// Upstream events, decoded.
    pub received: Vec<StreamEvent>,
    /// Events the client received, when they differ from `received` (a policy touched them).
    pub delivered: Option<Vec<StreamEvent>>,
    /// Raw upstream frames, up to the cap.
    pub raw: Vec<String>,
    raw_bytes: usize,
    /// True when raw frames were dropped at the cap.
    pub raw_truncated: bool,
    /// When the first byte was written to the client.
    pub first_byte_at: Option<Instant>,
    /// The error that ended the stream, if any.
    pub error: Option<String>,
    /// Why the canonical record of a passthrough stream is incomplete, if it is.
    pub record_note: Option<String>,
}

impl Tap {
    /// Keeps a raw upstream frame, within the caps.
    pub fn raw_frame(&mut self, raw: &[u8]) {
        if self.raw.len() >= MAX_RAW_EVENTS || self.raw_bytes + raw.len() > MAX_RAW_BYTES {
            self.raw_truncated = true;
            return;
        }
        self.raw_bytes += raw.len();
        self.raw.push(String::from_utf8_lossy(raw).into_owned());
    }

    /// Keeps an event the client received from a policy relay.
    pub fn delivered(&mut self, ev: &StreamEvent) {
        self.delivered.get_or_insert_with(Vec::new).push(ev.clone());
    }
}

/// Called once when a stream is over, with what was recorded and how it ended.
pub type OnComplete = Box<dyn FnOnce(Tap, StreamEnd, Vec<policy::executor::DecisionRecord>) + Send>;
