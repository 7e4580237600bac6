//! `luthien policy list | check FILE | current | set FILE`: the built-in policies, local
//! validation with the field and line of each error, and the running gateway's active policy
//! through its admin API.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use policy::judge::client::{JudgeCall, JudgeClient};
use policy::registry::{self, PolicyEnv};
use policy::PolicyError;
use serde_json::{json, Value};

use crate::client::Client;
use crate::exit::{self, coded};
use crate::output::{self, paint, Tone};
use crate::state::GatewayArgs;

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

/// Validates a policy file; the error (exit code 5) names the field and its line.
pub fn check(file: &Path) -> anyhow::Result<()> {
    let name = validate(file)?;
    println!("{}: OK ({name})", file.display());
    Ok(())
}

/// Builds the policy in `file` offline; its name, or an error naming the field and line.
fn validate(file: &Path) -> anyhow::Result<String> {
    let env = PolicyEnv {
        judge: Some(Arc::new(Offline)),
    };
    let policy = registry::load_file(file, &env)
        .map_err(|e| coded(exit::REJECTED, format!("{}: {e}", file.display())))?;
    Ok(policy.name().to_string())
}

fn client(target: &GatewayArgs) -> anyhow::Result<Client> {
    let located = target.locate()?;
    Client::new(&located.url, located.admin_key())
}

/// `luthien policy current`: the running gateway's active policy.
pub async fn current(target: &GatewayArgs, json: bool) -> anyhow::Result<()> {
    let client = client(target)?;
    let current = client.get("/api/admin/policy/current").await?;
    if json {
        return output::print_json(&current);
    }
    print_policy(&current);
    Ok(())
}

fn print_policy(p: &Value) {
    let name = p["name"].as_str().unwrap_or("?");
    let class = p["class"].as_str().unwrap_or(name);
    println!(
        "{}{}",
        paint(name, Tone::Strong),
        if class == name {
            String::new()
        } else {
            format!(" (class {class})")
        }
    );
    match p["activated_at_ms"].as_i64() {
        Some(ms) => println!(
            "activated {} by {}",
            output::time_ms(ms),
            p["activated_by"].as_str().unwrap_or("?")
        ),
        None => println!(
            "{}",
            paint("the default: no policy was ever activated", Tone::Faint)
        ),
    }
    let config = &p["config"];
    if config.as_object().is_some_and(|o| !o.is_empty()) {
        println!(
            "config:\n{}",
            serde_json::to_string_pretty(config).unwrap_or_default()
        );
    }
}

/// `luthien policy set FILE`: validates the file here (precise errors with lines), then
/// activates it on the running gateway.
pub async fn set(target: &GatewayArgs, file: &Path, json: bool) -> anyhow::Result<()> {
    validate(file)?;
    let (spec, _) = registry::read_file(file)
        .map_err(|e| coded(exit::REJECTED, format!("{}: {e}", file.display())))?;
    let client = client(target)?;
    let body =
        json!({"class": spec.class, "config": spec.config, "activated_by": "luthien policy set"});
    let activated = client
        .post("/api/admin/policy/set", &body)
        .await
        .map_err(|e| {
            e.context(format!(
                "{} was not activated on {}",
                file.display(),
                client.base()
            ))
        })?;
    if json {
        return output::print_json(&activated);
    }
    println!("Activated on {}:", client.base());
    print_policy(&activated);
    Ok(())
}
