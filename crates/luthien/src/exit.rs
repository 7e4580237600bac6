//! Exit codes scripts can rely on, and the error that carries one.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | any other error |
//! | 2 | usage error (unknown flag, missing argument; printed by clap) |
//! | 3 | no gateway: not running (`status`), or unreachable at the URL used |
//! | 4 | not found: no session (or other object) with that id |
//! | 5 | rejected: an invalid policy file or request (400/422, or found invalid locally), or the admin key missing or refused (401/403) |
//! | 126 | the agent binary exists but cannot be run |
//! | 127 | the agent binary (`claude`, `codex`) is not installed |
//!
//! `luthien claude` and `luthien codex` otherwise exit with the agent's own code (128 + N when
//! the agent died of signal N, as a shell reports it).

use std::fmt;

/// Success.
pub const OK: u8 = 0;
/// Any error without a more specific code.
pub const ERROR: u8 = 1;
/// No gateway answers.
pub const NOT_RUNNING: u8 = 3;
/// The object asked for does not exist.
pub const NOT_FOUND: u8 = 4;
/// The input or the credentials were refused.
pub const REJECTED: u8 = 5;
/// The agent binary cannot be executed.
pub const NOT_EXECUTABLE: u8 = 126;
/// The agent binary is missing.
pub const AGENT_MISSING: u8 = 127;

/// An error that decides the process's exit code; anything else exits 1.
#[derive(Debug)]
pub struct Coded {
    /// The exit code.
    pub code: u8,
    /// What went wrong and what to do about it.
    pub message: String,
}

impl fmt::Display for Coded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Coded {}

/// An error exiting with `code`.
pub fn coded(code: u8, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Coded {
        code,
        message: message.into(),
    })
}

/// The exit code an error stands for: the first [`Coded`] in its chain, else 1.
pub fn code_of(e: &anyhow::Error) -> u8 {
    e.chain()
        .find_map(|c| c.downcast_ref::<Coded>())
        .map_or(ERROR, |c| c.code)
}
