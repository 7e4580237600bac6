//! `luthien check`: validate everything and print the effective settings, secrets masked.

use gateway::{RoutingConfig, Settings};

/// Prints the settings and routes; fails with the first problem found.
pub fn run(settings: &Settings) -> anyhow::Result<()> {
    settings.validate().map_err(anyhow::Error::msg)?;
    super::serve::listen_addr(settings)?;
    let routing = RoutingConfig::load(settings).map_err(anyhow::Error::msg)?;
    println!("Effective settings:");
    for (name, value) in settings.describe() {
        println!("  {name:<32} {value}");
    }
    println!("Providers:");
    for p in routing.providers() {
        let key = match (&p.api_key, &p.api_key_env) {
            (Some(_), Some(var)) => format!("key from {var} (set)"),
            (None, Some(var)) => format!("key from {var} (unset)"),
            (_, None) => "no key".into(),
        };
        println!("  {:<16} {:?} {} ({key})", p.name, p.kind, p.base_url);
    }
    println!("Model routes, first match wins (a `name/model` prefix picks a provider directly):");
    for r in routing.patterns() {
        println!("  {r}");
    }
    match &settings.policy_config {
        Some(path) => super::policy::check(path)?,
        None => println!("Policy: noop (POLICY_CONFIG unset)"),
    }
    println!("OK");
    Ok(())
}
