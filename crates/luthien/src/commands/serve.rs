//! `luthien serve`: run the gateway until SIGINT or SIGTERM.

use std::net::SocketAddr;

use anyhow::Context;
use gateway::{App, Server, Settings};

/// Runs the gateway with `settings`.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    crate::logging::init(settings.log_format);
    let addr = listen_addr(&settings)?;
    let app = App::new(settings).await?;
    let server = Server::bind(app, addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = server.local_addr()?;
    tracing::info!("Luthien gateway listening on http://{bound}");
    server.serve(shutdown_signal()).await?;
    tracing::info!("Luthien gateway stopped");
    Ok(())
}

/// The address from `GATEWAY_HOST` and `GATEWAY_PORT`.
pub fn listen_addr(settings: &Settings) -> anyhow::Result<SocketAddr> {
    let host = if settings.gateway_host == "localhost" {
        "127.0.0.1"
    } else {
        &settings.gateway_host
    };
    let ip: std::net::IpAddr = host.parse().with_context(|| {
        format!(
            "GATEWAY_HOST={:?} is not an IP address",
            settings.gateway_host
        )
    })?;
    Ok(SocketAddr::new(ip, settings.gateway_port))
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
