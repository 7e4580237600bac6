//! `luthien policy list` and `luthien policy check FILE`.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use policy::judge::client::{JudgeCall, JudgeClient};
use policy::registry::{self, PolicyEnv};
use policy::PolicyError;

/// Prints every policy, one line each (or everything as JSON).
pub fn list(json: bool) -> anyhow::Result<()> {
    let policies = registry::list();
    if json {
        println!("{}", serde_json::to_string_pretty(&policies)?);
        return Ok(());
    }
    let width = policies.iter().map(|p| p.name.len()).max().unwrap_or(0);
    for p in policies {
        println!("{:<width$}  {}", p.name, p.description);
    }
    Ok(())
}

/// A model client that is never called: `check` builds judges without contacting anything.
struct Offline;

#[async_trait]
impl JudgeClient for Offline {
    async fn complete(&self, _call: JudgeCall) -> Result<String, PolicyError> {
        Err(PolicyError::Unavailable(
            "policy check does not call models".into(),
        ))
    }
}

/// Validates a policy file; the error names the field and its line.
pub fn check(file: &Path) -> anyhow::Result<()> {
    let env = PolicyEnv {
        judge: Some(Arc::new(Offline)),
    };
    let policy =
        registry::load_file(file, &env).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    println!("{}: OK ({})", file.display(), policy.name());
    Ok(())
}
