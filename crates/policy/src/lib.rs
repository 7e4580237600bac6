//! The Luthien policy engine: the [`Policy`] contract, the stream executor that applies a
//! policy to a response without ever breaking the client's wire protocol, and the built-in
//! policies.

pub mod builtin;
pub mod compose;
pub mod config;
pub mod error;
pub mod executor;
pub mod judge;
pub mod policy;
pub mod registry;
pub mod request;
pub mod rules;

pub use error::PolicyError;
pub use policy::{
    Block, BlockKind, Decision, DecisionContext, DeltaTransform, FailMode, JudgeExchange, Need,
    Policy, RequestVerdict, ToolInputFormat, Verdict,
};
pub use request::PolicyRequest;
