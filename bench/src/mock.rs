//! `luthien-bench mock`: the mock upstream's own router (crates/mock-upstream), served with
//! TCP_NODELAY on every accepted socket.
//!
//! Why not the `luthien-mock-upstream` binary: it serves with `axum::serve` defaults, so Nagle's
//! algorithm is on for its sockets. A stream of small SSE frames written back to back then
//! waits for the peer's delayed ACK (about 40 ms on Linux) after the first frame, and every
//! 20-delta stream takes about 44 ms whoever the client is: the stream cells would measure
//! the kernel's delayed ACK instead of the proxies. Real providers' frames are spaced by
//! generation time, so they do not hit this. `--stock-mock` runs the binary instead.

use std::net::SocketAddr;

use anyhow::Context;
use axum::serve::ListenerExt;
use mock_upstream::{MockState, MockUpstream};

/// Serves the mock on `addr` until SIGTERM or Ctrl-C.
pub async fn serve(addr: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?
        .tap_io(|tcp| {
            // Best effort: a socket that refuses it still works, only slower on streams.
            let _ = tcp.set_nodelay(true);
        });
    // The mock records requests for tests; one is enough here and keeps memory flat.
    let app = MockUpstream::router(MockState::with_max_requests(1));
    axum::serve(listener, app)
        .with_graceful_shutdown(terminated())
        .await?;
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
async fn terminated() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        () = term => {},
    }
}
