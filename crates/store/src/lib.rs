//! Luthien's recording store: every proxied transaction, its policy decisions, the sessions they
//! belong to and the policy activation history, on SQLite or PostgreSQL with the same behaviour.
//!
//! Conversation bodies repeat every turn, so requests are stored content-addressed (see [`codec`]):
//! storage grows with new content, not with turns. Writes from the proxy path go through the
//! [`recorder`], a bounded, batching, never-blocking queue.

mod backend;
pub mod codec;
mod error;
mod model;
pub mod recorder;
mod store;

pub use codec::RequestRef;
pub use error::StoreError;
pub use model::{
    ActivityCounts, AdminSession, DecisionRecord, Page, PolicyActivation, RawEvents, SessionDetail,
    SessionFilter, SessionSummary, TransactionDetail, TransactionRecord, Usage,
};
pub use recorder::{Recorder, RecorderConfig, RecorderHandle, RecorderStats};
pub use store::{Backend, SessionConversation, SessionOutline, Store};
