//! `luthien serve`: run the gateway until SIGINT or SIGTERM.
//!
//! Started by `luthien up`, it also records itself in the state file named by
//! `LUTHIEN_STATE_FILE` once it listens, and removes that file when it stops.

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
    let state_file = record_state(&bound)?;
    let served = server.serve(shutdown_signal()).await;
    if let Some(path) = state_file {
        crate::state::remove_if_pid(&path, std::process::id());
    }
    served?;
    tracing::info!("Luthien gateway stopped");
    Ok(())
}

/// Writes the state file `luthien up` asked for, with the address actually bound.
fn record_state(bound: &SocketAddr) -> anyhow::Result<Option<std::path::PathBuf>> {
    let Some(path) = std::env::var_os(crate::state::STATE_FILE_VAR).map(std::path::PathBuf::from)
    else {
        return Ok(None);
    };
    let host = match bound.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_owned(),
        ip if ip.is_unspecified() => "[::1]".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    let now = std::time::SystemTime::now();
    let state = crate::state::State {
        pid: std::process::id(),
        url: format!("http://{host}:{}", bound.port()),
        started_at: humantime::format_rfc3339_seconds(now).to_string(),
        started_at_ms: crate::state::now_ms(),
    };
    crate::state::write(&path, &state)
        .with_context(|| format!("cannot write the state file {}", path.display()))?;
    Ok(Some(path))
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
