//! Typed policy configurations: deserialising with errors that name the offending field.

use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::error::PolicyError;

/// Deserialises a configuration, naming the offending field's path on error.
pub fn parse_config<T: DeserializeOwned>(config: &Value) -> Result<T, PolicyError> {
    let config = if config.is_null() {
        json!({})
    } else {
        config.clone()
    };
    serde_path_to_error::deserialize(config).map_err(|e| {
        let path = e.path().to_string();
        PolicyError::Config {
            field: if path == "." { "config".into() } else { path },
            message: e.into_inner().to_string(),
            line: None,
        }
    })
}
