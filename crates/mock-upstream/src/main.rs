//! `luthien-mock-upstream`: runs the mock Anthropic + OpenAI provider as a standalone server
//! (for the benchmark, manual testing and `e2e/`), until Ctrl-C or SIGTERM.

use std::net::SocketAddr;

use anyhow::Context;
use clap::Parser;
use luthien_mock_upstream::{MockState, MockUpstream, DEFAULT_MAX_REQUESTS};
use tracing_subscriber::EnvFilter;

/// A faithful fake Anthropic + OpenAI provider with scripted replies (see the crate docs).
#[derive(Debug, Parser)]
#[command(name = "luthien-mock-upstream", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "MOCK_HOST", default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "MOCK_PORT", default_value_t = 8100)]
    port: u16,
    /// How many requests to keep for `GET /_mock/requests` (oldest dropped first).
    #[arg(long, env = "MOCK_MAX_RECORDED", default_value_t = DEFAULT_MAX_REQUESTS)]
    max_recorded: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let addr = SocketAddr::new(args.host, args.port);
    let state = MockState::with_max_requests(args.max_recorded);
    let mock = MockUpstream::start_with_state(addr, state)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(
        url = %mock.base_url(),
        "luthien-mock-upstream listening on {}",
        mock.base_url()
    );
    shutdown_signal().await;
    tracing::info!("shutting down");
    mock.shutdown().await;
    Ok(())
}

/// Resolves on Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
