//! The Anthropic Messages API: its stream events (and, beside them, its request types).

pub mod message;
pub mod request;
pub mod stream;
