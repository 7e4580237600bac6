//! `noop`: forwards everything. The engine's zero-cost path: bytes pass untouched.

use async_trait::async_trait;

use crate::policy::Policy;

/// Forwards every request and every block unchanged.
#[derive(Debug, Default, Clone)]
pub struct NoopPolicy;

#[async_trait]
impl Policy for NoopPolicy {
    fn name(&self) -> String {
        "noop".into()
    }
}
