//! The policy registry: names (and the predecessor's Python class paths) to constructors,
//! typed configurations with JSON Schemas and examples, and the policy YAML file
//! (`policy: {class: <name>, config: {...}}`) with errors that name the field and its line.

use std::path::Path;
use std::sync::Arc;

use schemars::JsonSchema;
use serde_json::{json, Value};

use crate::builtin::{
    all_caps::AllCapsPolicy,
    debug_logging::DebugLoggingPolicy,
    noop::NoopPolicy,
    string_replacement::{StringReplacementConfig, StringReplacementPolicy},
};
use crate::compose::{Composite, Mode};
pub use crate::config::parse_config;
use crate::error::PolicyError;
use crate::judge::client::JudgeClient;
use crate::judge::llm::LlmJudgePolicy;
use crate::judge::tool_call::ToolCallJudgePolicy;
use crate::policy::Policy;
use crate::rules::{presets, RulesPolicy};

/// What a policy needs from its host to be built.
#[derive(Clone, Default)]
pub struct PolicyEnv {
    /// The model client judges call; `None` where no upstream is available (e.g. `policy check`).
    pub judge: Option<Arc<dyn JudgeClient>>,
}

/// A policy as configured: its class and its configuration.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PolicySpec {
    /// Our policy name, or the predecessor's Python class path.
    pub class: String,
    /// The policy's configuration (`{}` when absent).
    #[serde(default = "empty_object")]
    pub config: Value,
}

fn empty_object() -> Value {
    json!({})
}

/// A policy's entry in `luthien policy list` and the admin API.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PolicyInfo {
    /// The name used in `class`.
    pub name: &'static str,
    /// One line on what it does.
    pub description: &'static str,
    /// The JSON Schema of its configuration.
    pub schema: Value,
    /// An example configuration.
    pub example: Value,
}

fn info<T: JsonSchema>(
    name: &'static str,
    description: &'static str,
    example: impl serde::Serialize,
) -> PolicyInfo {
    PolicyInfo {
        name,
        description,
        schema: serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null),
        example: serde_json::to_value(example).unwrap_or(Value::Null),
    }
}

/// A policy whose configuration is empty.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoConfig {}

/// The configuration of `serial` and `parallel`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompositeConfig {
    /// The member policies, each `{class, config}`.
    pub policies: Vec<CompositeMember>,
}

/// One member of a composite.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompositeMember {
    /// The member's class.
    pub class: String,
    /// The member's configuration.
    #[serde(default)]
    pub config: Option<Value>,
}

/// Every policy we ship, with its description, schema and example.
pub fn list() -> Vec<PolicyInfo> {
    let member = |class: &str| CompositeMember {
        class: class.into(),
        config: None,
    };
    vec![
        info::<NoConfig>("noop", "Forwards everything unchanged: the zero-cost path.", NoConfig {}),
        info::<NoConfig>("all_caps", "Upper-cases response text as it streams (a demonstration of streaming transforms).", NoConfig {}),
        info::<StringReplacementConfig>("string_replacement", "Ordered find/replace pairs on the response, the request or both, exact across streamed deltas.", StringReplacementConfig::example()),
        info::<NoConfig>("debug_logging", "Logs the request and every response block, with keys, tokens and cookies redacted.", NoConfig {}),
        info::<crate::rules::RulesConfig>("rules", "Declarative rules on tool names, tool inputs and text: block, replace or warn, without code.", crate::rules::RulesConfig::example()),
        info::<NoConfig>("block_dangerous_commands", "Blocks recursive forced deletes of broad paths, mkfs, dd to devices, chmod -R 777, fork bombs and disk wipes, however wrapped.", NoConfig {}),
        info::<NoConfig>("block_sensitive_file_writes", "Blocks writes to /etc, ~/.ssh, ~/.aws, keys and credential files; reads stay allowed.", NoConfig {}),
        info::<NoConfig>("block_web_requests", "Blocks curl, wget, nc, ssh, scp and scripted HTTP from tool calls.", NoConfig {}),
        info::<NoConfig>("prefer_uv", "Rewrites `pip install X` to `uv add X` in text and shell commands.", NoConfig {}),
        info::<NoConfig>("plain_dashes", "Replaces em and en dashes with plain hyphens in response text.", NoConfig {}),
        info::<crate::judge::tool_call::ToolCallJudgeConfig>("tool_call_judge", "An LLM judge scores each tool call and blocks it when the probability of harm reaches the threshold.", crate::judge::tool_call::ToolCallJudgeConfig::example()),
        info::<crate::judge::llm::LlmJudgeConfig>("llm_judge", "Plain-English instructions applied by an LLM to text and tool blocks: pass, replace or block.", crate::judge::llm::LlmJudgeConfig::example()),
        info::<CompositeConfig>("serial", "Runs policies in order, each on the previous one's output.", CompositeConfig { policies: vec![member("block_dangerous_commands"), member("plain_dashes")] }),
        info::<CompositeConfig>("parallel", "Runs judges concurrently; the most severe verdict wins and pending judges are cancelled once a block is certain.", CompositeConfig { policies: vec![member("block_dangerous_commands"), member("block_web_requests")] }),
    ]
}

/// Our name for `class`: our own names pass through; a Python class path such as
/// `luthien_proxy.policies.tool_call_judge_policy:ToolCallJudgePolicy` maps to `tool_call_judge`.
pub fn canonical_name(class: &str) -> Option<&'static str> {
    let short = class.rsplit(':').next().unwrap_or(class);
    let short = short.strip_suffix("Policy").unwrap_or(short);
    let mut snake = String::new();
    let chars: Vec<char> = short.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev_lower = i > 0 && chars[i - 1].is_lowercase();
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if i > 0 && (prev_lower || (next_lower && chars[i - 1].is_uppercase())) {
                snake.push('_');
            }
            snake.extend(c.to_lowercase());
        } else {
            snake.push(*c);
        }
    }
    let name = match snake.as_str() {
        "no_op" | "noop" => "noop",
        "multi_serial" | "serial" => "serial",
        "multi_parallel" | "parallel" => "parallel",
        "simple_llm" | "llm_judge" => "llm_judge",
        "tool_call_judge" | "tool_judge" => "tool_call_judge",
        other => return list().into_iter().map(|i| i.name).find(|n| *n == other),
    };
    Some(name)
}

/// Builds the policy a spec names.
pub fn build(spec: &PolicySpec, env: &PolicyEnv) -> Result<Arc<dyn Policy>, PolicyError> {
    let name =
        canonical_name(&spec.class).ok_or_else(|| PolicyError::UnknownClass(spec.class.clone()))?;
    let cfg = &spec.config;
    let empty = |cfg: &Value| parse_config::<NoConfig>(cfg).map(|_| ());
    let judge = || {
        env.judge.clone().ok_or_else(|| PolicyError::Config {
            field: "class".into(),
            message: format!("{name} needs a model client, which this host does not provide"),
            line: None,
        })
    };
    Ok(match name {
        "noop" => {
            empty(cfg)?;
            Arc::new(NoopPolicy)
        }
        "all_caps" => {
            empty(cfg)?;
            Arc::new(AllCapsPolicy)
        }
        "string_replacement" => Arc::new(StringReplacementPolicy::from_config(cfg)?),
        "debug_logging" => {
            empty(cfg)?;
            Arc::new(DebugLoggingPolicy::new()?)
        }
        "rules" => Arc::new(RulesPolicy::from_config(cfg)?),
        "block_dangerous_commands" => preset(cfg, presets::block_dangerous_commands)?,
        "block_sensitive_file_writes" => preset(cfg, presets::block_sensitive_file_writes)?,
        "block_web_requests" => preset(cfg, presets::block_web_requests)?,
        "prefer_uv" => preset(cfg, presets::prefer_uv)?,
        "plain_dashes" => preset(cfg, presets::plain_dashes)?,
        "tool_call_judge" => Arc::new(ToolCallJudgePolicy::from_config(cfg, judge()?)?),
        "llm_judge" => Arc::new(LlmJudgePolicy::from_config(cfg, judge()?)?),
        "serial" | "parallel" => {
            let c: CompositeConfig = parse_config(cfg)?;
            let mut members = Vec::new();
            for (i, m) in c.policies.into_iter().enumerate() {
                let spec = PolicySpec {
                    class: m.class,
                    config: m.config.unwrap_or_else(empty_object),
                };
                members.push(build(&spec, env).map_err(|e| nest(e, &format!("policies.{i}")))?);
            }
            let mode = if name == "serial" {
                Mode::Serial
            } else {
                Mode::Parallel
            };
            Arc::new(Composite::new(mode, members))
        }
        other => return Err(PolicyError::UnknownClass(other.to_owned())),
    })
}

fn preset<P: Policy + 'static>(
    cfg: &Value,
    make: fn() -> P,
) -> Result<Arc<dyn Policy>, PolicyError> {
    parse_config::<NoConfig>(cfg)?;
    Ok(Arc::new(make()))
}

/// Places a member's error under its position in the composite.
fn nest(e: PolicyError, prefix: &str) -> PolicyError {
    match e {
        PolicyError::UnknownClass(c) => PolicyError::Config {
            field: format!("{prefix}.class"),
            message: format!(
                "unknown policy class {c:?}; `luthien policy list` shows the policies"
            ),
            line: None,
        },
        other => other.under(&format!("{prefix}.config")),
    }
}

/// Reads a policy YAML file: `policy: {class, config}`.
pub fn read_file(path: &Path) -> Result<(PolicySpec, String), PolicyError> {
    let text = std::fs::read_to_string(path).map_err(|e| PolicyError::Config {
        field: "file".into(),
        message: format!("cannot read {}: {e}", path.display()),
        line: None,
    })?;
    let spec = parse_yaml(&text)?;
    Ok((spec, text))
}

/// Parses policy YAML text into a spec.
pub fn parse_yaml(text: &str) -> Result<PolicySpec, PolicyError> {
    let yaml: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(text).map_err(|e| PolicyError::Config {
            field: "file".into(),
            message: e.to_string(),
            line: e.location().map(|l| l.line()),
        })?;
    let doc: Value = serde_json::to_value(&yaml).map_err(|e| PolicyError::Config {
        field: "file".into(),
        message: e.to_string(),
        line: None,
    })?;
    let policy = doc.get("policy").ok_or_else(|| PolicyError::Config {
        field: "policy".into(),
        message: "the file needs a top-level `policy:` mapping with `class` and optional `config`"
            .into(),
        line: None,
    })?;
    let spec: PolicySpec = parse_config(policy).map_err(|e| e.under("policy"))?;
    Ok(spec)
}

/// Loads and builds a policy file; errors name the field and, where it can be found, its line.
pub fn load_file(path: &Path, env: &PolicyEnv) -> Result<Arc<dyn Policy>, PolicyError> {
    let (spec, text) = read_file(path)?;
    build(&spec, env).map_err(|e| match e {
        PolicyError::Config {
            field,
            message,
            line: None,
        } => {
            let full = format!("policy.config.{field}");
            let line = line_of(&text, &full);
            PolicyError::Config {
                field: full,
                message,
                line,
            }
        }
        PolicyError::UnknownClass(c) => PolicyError::Config {
            field: "policy.class".into(),
            message: format!(
                "unknown policy class {c:?}; `luthien policy list` shows the policies"
            ),
            line: line_of(&text, "policy.class"),
        },
        other => other,
    })
}

/// Finds the 1-based line of a dotted field path in YAML text by walking its keys in order.
/// List indices are skipped; the line of the deepest key found is returned.
pub fn line_of(text: &str, path: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut from = 0;
    let mut found = None;
    for seg in path
        .split('.')
        .filter(|s| !s.is_empty() && s.parse::<usize>().is_err())
    {
        let pos = lines.iter().enumerate().skip(from).find(|(_, l)| {
            let t = l.trim_start().trim_start_matches("- ").trim_start();
            t.strip_prefix(seg)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
                || t.starts_with(&format!("{{ {seg}:"))
                || t.starts_with(&format!("{{{seg}:"))
        });
        match pos {
            Some((i, _)) => {
                found = Some(i + 1);
                from = i + 1;
            }
            None => break,
        }
    }
    found
}
