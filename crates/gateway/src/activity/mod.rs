//! The activity bus: typed events about transactions, policy decisions, approvals and policy
//! changes, fanned out in process (and across instances through Redis when `REDIS_URL` is set),
//! with a replay ring and an SSE endpoint at `/api/activity/stream`.

mod bus;
mod error;
mod event;
mod remote;
mod sse;

pub use bus::{ActivityBus, BusConfig, BusHealth, Delivery, Subscription, DEFAULT_CHANNEL};
pub use error::ActivityError;
pub use event::{now_ms, ActivityEvent, Envelope};
pub use sse::{
    router, router_with, stream_handler, ActivityFilter, ActivityState, StreamQuery,
    DEFAULT_HEARTBEAT, DEFAULT_REPLAY,
};
