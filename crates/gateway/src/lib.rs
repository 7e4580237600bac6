//! The Luthien gateway: an axum server that proxies Anthropic Messages and OpenAI Chat
//! Completions traffic to upstream providers, converting between the two APIs when the client
//! and the provider differ and forwarding bytes unchanged when they do not.

pub mod activity;
pub mod admin;
pub mod app;
pub mod auth;
pub mod config;
pub mod error;
pub mod headers;
pub mod judge;
pub mod recording;
pub mod relay;
pub mod request_view;
pub mod retention;
pub mod routes;
pub mod session;
pub mod ui;
pub mod upstream;

pub use app::{router, App, Server};
pub use config::{RoutingConfig, Settings};
pub use error::GatewayError;
