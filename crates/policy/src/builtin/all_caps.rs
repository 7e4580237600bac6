//! `all_caps`: upper-cases text as it streams, a demonstration of the `stream` need.

use async_trait::async_trait;

use crate::policy::{BlockKind, DeltaTransform, Need, Policy};

/// Upper-cases every text delta; tool calls, thinking and the request are untouched.
#[derive(Debug, Default, Clone)]
pub struct AllCapsPolicy;

struct Upper;

impl DeltaTransform for Upper {
    fn push(&mut self, delta: &str) -> String {
        delta.to_uppercase()
    }
    fn finish(&mut self) -> String {
        String::new()
    }
}

#[async_trait]
impl Policy for AllCapsPolicy {
    fn name(&self) -> String {
        "all_caps".into()
    }
    fn need(&self, kind: BlockKind) -> Need {
        if kind == BlockKind::Text {
            Need::Stream
        } else {
            Need::Forward
        }
    }
    fn transform(&self, kind: BlockKind) -> Option<Box<dyn DeltaTransform>> {
        (kind == BlockKind::Text).then(|| Box::new(Upper) as Box<dyn DeltaTransform>)
    }
}
