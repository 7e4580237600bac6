//! Log output: `RUST_LOG` filters (default `info`), `LOG_FORMAT` picks pretty or JSON lines.

use gateway::config::LogFormat;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once, at `info` unless `RUST_LOG` says otherwise.
pub fn init(format: LogFormat) {
    init_with_default(format, "info");
}

/// Installs the global subscriber once, at `default` unless `RUST_LOG` says otherwise.
pub fn init_with_default(format: LogFormat, default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // A background gateway logs to a file: escape codes there would make it unreadable.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    // A second init (tests) fails harmlessly.
    let _ = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
