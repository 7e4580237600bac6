//! The routing file: named upstream providers and the model-name patterns that select them.
//!
//! ```yaml
//! providers:
//!   ollama:
//!     kind: openai_compatible
//!     base_url: http://127.0.0.1:11434/v1
//!     api_key_env: OLLAMA_API_KEY   # optional
//!     models: [llama3]
//! routes:
//!   - { model: "llama*", provider: ollama }
//! ```
//! The built-in providers `anthropic` and `openai` always exist (their URLs and keys come from
//! the settings) and the built-in routes `claude-*` → anthropic, `gpt-*` and `o*` → openai
//! follow the file's own routes. A model written `name/model` goes to provider `name` with the
//! prefix removed, whatever the patterns say.

use std::collections::BTreeMap;
use std::path::Path;

use globset::{Glob, GlobMatcher};
use serde::Deserialize;

use super::Settings;

/// The wire API a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// Anthropic Messages API (`/v1/messages`).
    Anthropic,
    /// The OpenAI API itself (Chat Completions).
    Openai,
    /// A server that speaks OpenAI Chat Completions (Ollama, vLLM, LM Studio, …).
    OpenaiCompatible,
}

/// A provider as written in the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSpec {
    /// The wire API.
    pub kind: ProviderKind,
    /// Base URL; `/v1/messages` (Anthropic) or `/chat/completions` (OpenAI) is appended.
    pub base_url: String,
    /// The environment variable holding the server's key for this provider.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Models listed by `GET /v1/models`.
    #[serde(default)]
    pub models: Vec<String>,
}

/// A route as written in the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteSpec {
    model: String,
    provider: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(default)]
    providers: BTreeMap<String, ProviderSpec>,
    #[serde(default)]
    routes: Vec<RouteSpec>,
}

/// A resolved provider, ready to be called.
#[derive(Debug, Clone)]
pub struct Provider {
    /// The provider's name (`anthropic`, `openai`, or a name from the file).
    pub name: String,
    /// The wire API.
    pub kind: ProviderKind,
    /// Base URL without a trailing slash.
    pub base_url: String,
    /// The server's key for this provider, if configured.
    pub api_key: Option<String>,
    /// The variable the key comes from, for error messages.
    pub api_key_env: Option<String>,
    /// Models to list.
    pub models: Vec<String>,
}

#[derive(Debug, Clone)]
struct Route {
    pattern: String,
    matcher: GlobMatcher,
    provider: usize,
}

/// Providers and routes, resolved.
#[derive(Debug, Clone)]
pub struct RoutingConfig {
    providers: Vec<Provider>,
    routes: Vec<Route>,
}

/// Where a model goes.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The provider to call.
    pub provider: &'a Provider,
    /// The model name to send it (a `name/` prefix removed).
    pub model: &'a str,
}

/// Default models listed for the built-in providers.
const ANTHROPIC_MODELS: &[&str] = &["claude-opus-4-5", "claude-sonnet-4-5", "claude-haiku-4-5"];
const OPENAI_MODELS: &[&str] = &["gpt-5", "gpt-5-mini", "gpt-4.1", "gpt-4o-mini"];

impl RoutingConfig {
    /// Reads the routing file named by the settings (if any) and adds the built-ins.
    pub fn load(settings: &Settings) -> Result<Self, String> {
        let spec = match settings.config_path() {
            Some(path) => read_file(&path)?,
            None => FileSpec::default(),
        };
        Self::build(settings, spec, &|name| std::env::var(name).ok())
    }

    /// Parses routing YAML (for tests and `luthien check`), with `env` looking up key variables.
    pub fn from_yaml(
        settings: &Settings,
        yaml: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let spec: FileSpec = serde_yaml_ng::from_str(yaml).map_err(|e| e.to_string())?;
        Self::build(settings, spec, env)
    }

    fn build(
        settings: &Settings,
        spec: FileSpec,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let mut providers = vec![
            Provider {
                name: "anthropic".into(),
                kind: ProviderKind::Anthropic,
                base_url: settings.anthropic_upstream_url.trim_end_matches('/').into(),
                api_key: settings.anthropic_api_key.clone(),
                api_key_env: Some("ANTHROPIC_API_KEY".into()),
                models: ANTHROPIC_MODELS.iter().map(|s| s.to_string()).collect(),
            },
            Provider {
                name: "openai".into(),
                kind: ProviderKind::Openai,
                base_url: settings.openai_upstream_url.trim_end_matches('/').into(),
                api_key: settings.openai_api_key.clone(),
                api_key_env: Some("OPENAI_API_KEY".into()),
                models: OPENAI_MODELS.iter().map(|s| s.to_string()).collect(),
            },
        ];
        for (name, p) in spec.providers {
            super::settings::check_url(&p.base_url)
                .map_err(|e| format!("providers.{name}.base_url: {e}"))?;
            let resolved = Provider {
                api_key: p.api_key_env.as_deref().and_then(env),
                api_key_env: p.api_key_env,
                name: name.clone(),
                kind: p.kind,
                base_url: p.base_url.trim_end_matches('/').into(),
                models: p.models,
            };
            match providers.iter_mut().find(|q| q.name == name) {
                Some(existing) => *existing = resolved,
                None => providers.push(resolved),
            }
        }
        let builtin = [
            ("claude-*", "anthropic"),
            ("gpt-*", "openai"),
            ("o*", "openai"),
        ];
        let all_routes = spec
            .routes
            .iter()
            .map(|r| (r.model.as_str(), r.provider.as_str()))
            .chain(builtin);
        let mut routes = Vec::new();
        for (i, (pattern, provider)) in all_routes.enumerate() {
            let idx = providers
                .iter()
                .position(|p| p.name == provider)
                .ok_or_else(|| format!("routes.{i}.provider: no provider named {provider:?}"))?;
            let matcher = Glob::new(pattern)
                .map_err(|e| format!("routes.{i}.model: bad pattern {pattern:?}: {e}"))?
                .compile_matcher();
            routes.push(Route {
                pattern: pattern.to_owned(),
                matcher,
                provider: idx,
            });
        }
        Ok(Self { providers, routes })
    }

    /// Where `model` goes, or `None` when nothing matches.
    pub fn resolve<'a>(&'a self, model: &'a str) -> Option<Target<'a>> {
        if let Some((prefix, rest)) = model.split_once('/') {
            if let Some(provider) = self.providers.iter().find(|p| p.name == prefix) {
                return Some(Target {
                    provider,
                    model: rest,
                });
            }
        }
        self.routes
            .iter()
            .find(|r| r.matcher.is_match(model))
            .map(|r| Target {
                provider: &self.providers[r.provider],
                model,
            })
    }

    /// The patterns in match order, for error messages.
    pub fn patterns(&self) -> Vec<String> {
        self.routes
            .iter()
            .map(|r| format!("{} → {}", r.pattern, self.providers[r.provider].name))
            .collect()
    }

    /// Every provider.
    pub fn providers(&self) -> &[Provider] {
        &self.providers
    }

    /// The models to list, with the provider that serves each.
    pub fn models(&self) -> Vec<(&str, &Provider)> {
        self.providers
            .iter()
            .flat_map(|p| p.models.iter().map(move |m| (m.as_str(), p)))
            .collect()
    }
}

fn read_file(path: &Path) -> Result<FileSpec, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
    serde_yaml_ng::from_str(&text).map_err(|e| format!("config file {}: {e}", path.display()))
}
