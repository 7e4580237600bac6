//! One module per command family.

pub mod check;
pub mod demo;
pub mod history;
pub mod launch;
pub mod lifecycle;
pub mod policy;
pub mod serve;
