//! The policy crate's error type.

/// Why a policy could not load or decide.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The configuration is invalid; `field` names the offending key (dotted path), `line` its line in the file.
    #[error("{}{field}: {message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
    Config {
        /// Dotted path of the field.
        field: String,
        /// What is wrong.
        message: String,
        /// The line in the YAML file, when known.
        line: Option<usize>,
    },
    /// No policy has this name or class path.
    #[error("unknown policy class {0:?}; `luthien policy list` shows the policies")]
    UnknownClass(String),
    /// A decision could not be made (judge unreachable, unparseable reply, …).
    #[error("{0}")]
    Unavailable(String),
}

impl PolicyError {
    /// The same error with its field placed under `prefix` (`rules.0` under `policy.config`).
    pub fn under(self, prefix: &str) -> Self {
        match self {
            Self::Config {
                field,
                message,
                line,
            } => Self::Config {
                field: format!("{prefix}.{field}"),
                message,
                line,
            },
            other => other,
        }
    }
}
