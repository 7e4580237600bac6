//! The simple built-in policies: `noop`, `all_caps`, `string_replacement`, `debug_logging`.

pub mod all_caps;
pub mod debug_logging;
pub mod noop;
pub mod string_replacement;
