//! HTTP routes, one module per family of endpoints.

pub mod body;
pub mod history;
pub mod models;
pub mod openapi;
pub mod policy_admin;
pub mod proxy;
pub mod service;
