//! The protocol crate's error type.

/// Why a message could not be parsed, validated or converted.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// The bytes are not valid JSON.
    #[error("invalid JSON in {context}: {source}")]
    InvalidJson {
        /// What was being parsed (e.g. "request body", "stream event").
        context: &'static str,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// A field is missing or has the wrong type or value; `field` is its JSON path (`messages.2.content`).
    #[error("{field}: {reason}")]
    InvalidField {
        /// The JSON path of the field.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The request uses something the target API cannot express.
    #[error("{field}: {reason}")]
    Unsupported {
        /// The JSON path of the field.
        field: String,
        /// Why it cannot be carried over.
        reason: String,
    },
    /// A stream broke one of the wire invariants or ended before it was complete.
    #[error("stream: {0}")]
    Stream(String),
}

impl ProtocolError {
    /// An `InvalidField` error.
    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidField {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The JSON path of the offending field, when the error names one.
    pub fn field_name(&self) -> Option<&str> {
        match self {
            Self::InvalidField { field, .. } | Self::Unsupported { field, .. } => Some(field),
            _ => None,
        }
    }
}
