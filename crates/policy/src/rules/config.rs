//! The `rules` policy's configuration: the serde/JSON-Schema surface users write, and its
//! validation into compiled rules (regexes and globs built once, errors naming the field).

use globset::{Glob, GlobMatcher};
use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::PolicyError;

/// The `rules` policy's configuration: rules tried in order on every tool call and text block.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// The rules, in order. A `block` stops evaluation; `replace` and `warn` accumulate.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
}

/// One rule: what it matches and what it does.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// A short name, shown in block messages (`{rule}`) and the audit trail.
    pub name: String,
    /// Why the rule exists, in words the agent understands (`{reason}` when no check gave one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What the rule matches.
    #[serde(rename = "match")]
    pub matcher: MatchConfig,
    /// What the rule does on a match.
    pub action: ActionConfig,
}

/// What a rule matches. A tool rule sets any of `tool`, `input` and `check` (all must match);
/// a text rule sets only `text`.
///
/// `input.pointer` is a JSON pointer into the tool input. For the shell tools (Claude Code
/// `Bash`, Codex `exec_command` and `shell`) `/command` is always the command as one shell
/// string: `Bash`'s `command`, `exec_command`'s `cmd` string, or for an argv its inner `-c`
/// script (`["bash", "-lc", "…"]`) or else its words joined with shell quoting. Writing
/// `/command` back puts the new script where it came from (a plain argv becomes
/// `["bash", "-lc", script]`). A free-form tool call (Codex's `apply_patch` custom tool) is
/// seen as `{"input": "<text>"}`: `/input` is its whole text. A pointer to a non-string value
/// matches against its compact JSON.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchConfig {
    /// Glob on the tool name (`Bash`, `{Write,Edit}`, `mcp__*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// A regex on one field of the tool input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<InputMatch>,
    /// A built-in check on the normalised tool call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<Check>,
    /// A regex on assistant text, applied to each line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// A regex on the tool-input field at a JSON pointer.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InputMatch {
    /// JSON pointer, e.g. `/command`, `/file_path`, or `/input` for a free-form call's text.
    pub pointer: String,
    /// Regex (Rust `regex` syntax) searched in the field's text.
    pub regex: String,
}

/// The built-in checks (the presets' logic), usable in any tool rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// Destructive shell commands (see `presets::dangerous_command`).
    DangerousCommand,
    /// Writes to system, credential, key and certificate files (see `presets::sensitive_file_write`).
    SensitiveFileWrite,
    /// Network requests (see `presets::web_request`).
    WebRequest,
}

/// What a rule does when it matches.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ActionConfig {
    /// Remove the tool call (or text block) and tell the agent why.
    Block {
        /// Template with `{tool}`, `{arguments}`, `{rule}` and `{reason}`; `{{`/`}}` for braces.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// Rewrite what the regex matched (`match.input` in a tool call, `match.text` in text).
    Replace {
        /// Replacement in `regex` syntax (`$1`, `${name}`).
        replacement: String,
    },
    /// Let the tool call through with a text note before it.
    Warn {
        /// Template with the same placeholders as `block.message`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
}

impl RulesConfig {
    /// A configuration showing each kind of rule.
    pub fn example() -> Self {
        Self {
            rules: vec![
                RuleConfig {
                    name: "no-force-push".into(),
                    reason: Some("force pushes rewrite shared history".into()),
                    matcher: MatchConfig {
                        tool: Some("{Bash,exec_command,shell}".into()),
                        input: Some(InputMatch {
                            pointer: "/command".into(),
                            regex: r"git\s+push\b.*\s(--force|-f)\b".into(),
                        }),
                        ..MatchConfig::default()
                    },
                    action: ActionConfig::Block { message: None },
                },
                RuleConfig {
                    name: "dangerous-commands".into(),
                    reason: None,
                    matcher: MatchConfig {
                        check: Some(Check::DangerousCommand),
                        ..MatchConfig::default()
                    },
                    action: ActionConfig::Block { message: None },
                },
                RuleConfig {
                    name: "publish-warning".into(),
                    reason: Some("publishing a package is visible to everyone".into()),
                    matcher: MatchConfig {
                        input: Some(InputMatch {
                            pointer: "/command".into(),
                            regex: r"\bnpm\s+publish\b".into(),
                        }),
                        ..MatchConfig::default()
                    },
                    action: ActionConfig::Warn { note: None },
                },
                RuleConfig {
                    name: "plain-dashes".into(),
                    reason: None,
                    matcher: MatchConfig {
                        text: Some("[\u{2013}\u{2014}]".into()),
                        ..MatchConfig::default()
                    },
                    action: ActionConfig::Replace {
                        replacement: "-".into(),
                    },
                },
            ],
        }
    }

    /// Parses a configuration value; errors name the offending field as a dotted path.
    pub fn from_value(value: &Value) -> Result<Self, PolicyError> {
        let value = if value.is_null() {
            Value::Object(Default::default())
        } else {
            value.clone()
        };
        serde_path_to_error::deserialize(value).map_err(|e| {
            let field = dotted(e.path());
            PolicyError::Config {
                field,
                message: e.inner().to_string(),
                line: None,
            }
        })
    }

    /// Validates and compiles the rules.
    pub(crate) fn compile(&self) -> Result<Vec<CompiledRule>, PolicyError> {
        self.rules
            .iter()
            .enumerate()
            .map(|(i, rule)| rule.compile(&format!("rules.{i}")))
            .collect()
    }
}

fn dotted(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let parts: Vec<String> = path
        .iter()
        .filter_map(|segment| match segment {
            Segment::Seq { index } => Some(index.to_string()),
            Segment::Map { key } => Some(key.clone()),
            Segment::Enum { variant } => Some(variant.clone()),
            Segment::Unknown => None,
        })
        .collect();
    parts.join(".")
}

fn config_error(field: String, message: impl Into<String>) -> PolicyError {
    PolicyError::Config {
        field,
        message: message.into(),
        line: None,
    }
}

/// A validated rule.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRule {
    pub name: String,
    pub reason: Option<String>,
    pub target: Target,
    pub action: Action,
}

/// What a compiled rule looks at.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    Tool {
        name: Option<GlobMatcher>,
        input: Option<(String, Regex)>,
        check: Option<Check>,
    },
    Text {
        regex: Regex,
        /// The regex always matches exactly one character, so it can run on each delta as is.
        single_char: bool,
    },
}

/// What a compiled rule does.
#[derive(Debug, Clone)]
pub(crate) enum Action {
    Block(Template),
    Replace(String),
    Warn(Template),
}

/// The default block message for tool calls.
pub(crate) const DEFAULT_BLOCK_MESSAGE: &str = "Luthien blocked this {tool} call: {reason}. Arguments: {arguments}. Do not retry it; ask the user if it is really needed.";
/// The default block message for text.
pub(crate) const DEFAULT_TEXT_BLOCK_MESSAGE: &str =
    "Luthien removed a text block: {reason} (rule {rule}).";
/// The default warning note.
pub(crate) const DEFAULT_WARN_NOTE: &str =
    "Luthien note on the {tool} call below: {reason} (rule {rule}).";

impl RuleConfig {
    fn compile(&self, at: &str) -> Result<CompiledRule, PolicyError> {
        if self.name.trim().is_empty() {
            return Err(config_error(format!("{at}.name"), "must not be empty"));
        }
        let m = &self.matcher;
        let is_tool_rule = m.tool.is_some() || m.input.is_some() || m.check.is_some();
        let target = match (&m.text, is_tool_rule) {
            (Some(_), true) => {
                return Err(config_error(
                    format!("{at}.match"),
                    "`text` cannot be combined with `tool`, `input` or `check`",
                ))
            }
            (None, false) => {
                return Err(config_error(
                    format!("{at}.match"),
                    "set at least one of `tool`, `input`, `check` or `text`",
                ))
            }
            (Some(text), false) => {
                let regex = Regex::new(text)
                    .map_err(|e| config_error(format!("{at}.match.text"), e.to_string()))?;
                Target::Text {
                    single_char: matches_one_char(text),
                    regex,
                }
            }
            (None, true) => {
                let name = match &m.tool {
                    Some(glob) => Some(
                        Glob::new(glob)
                            .map_err(|e| config_error(format!("{at}.match.tool"), e.to_string()))?
                            .compile_matcher(),
                    ),
                    None => None,
                };
                let input = match &m.input {
                    Some(InputMatch { pointer, regex }) => {
                        if !(pointer.is_empty() || pointer.starts_with('/')) {
                            return Err(config_error(
                                format!("{at}.match.input.pointer"),
                                "a JSON pointer is empty or starts with `/`",
                            ));
                        }
                        let regex = Regex::new(regex).map_err(|e| {
                            config_error(format!("{at}.match.input.regex"), e.to_string())
                        })?;
                        Some((pointer.clone(), regex))
                    }
                    None => None,
                };
                Target::Tool {
                    name,
                    input,
                    check: m.check,
                }
            }
        };
        let action = match &self.action {
            ActionConfig::Block { message } => {
                let default = match target {
                    Target::Tool { .. } => DEFAULT_BLOCK_MESSAGE,
                    Target::Text { .. } => DEFAULT_TEXT_BLOCK_MESSAGE,
                };
                Action::Block(Template::parse(
                    message.as_deref().unwrap_or(default),
                    &format!("{at}.action.message"),
                )?)
            }
            ActionConfig::Replace { replacement } => {
                if let Target::Tool { input: None, .. } = target {
                    return Err(config_error(
                        format!("{at}.action"),
                        "`replace` rewrites what `match.input` matched; add `match.input`",
                    ));
                }
                Action::Replace(replacement.clone())
            }
            ActionConfig::Warn { note } => {
                if let Target::Text { .. } = target {
                    return Err(config_error(
                        format!("{at}.action"),
                        "`warn` applies to tool calls only",
                    ));
                }
                Action::Warn(Template::parse(
                    note.as_deref().unwrap_or(DEFAULT_WARN_NOTE),
                    &format!("{at}.action.note"),
                )?)
            }
        };
        Ok(CompiledRule {
            name: self.name.clone(),
            reason: self.reason.clone(),
            target,
            action,
        })
    }
}

/// True when every match of `pattern` is exactly one character (a literal char, a class, or
/// alternatives of those), so applying it delta by delta can never miss a match.
fn matches_one_char(pattern: &str) -> bool {
    use regex_syntax::hir::{Hir, HirKind};
    fn one(hir: &Hir) -> bool {
        match hir.kind() {
            HirKind::Class(_) => true,
            HirKind::Literal(lit) => {
                std::str::from_utf8(&lit.0).is_ok_and(|s| s.chars().count() == 1)
            }
            HirKind::Capture(cap) => one(&cap.sub),
            HirKind::Alternation(alts) => alts.iter().all(one),
            _ => false,
        }
    }
    regex_syntax::parse(pattern).is_ok_and(|hir| one(&hir))
}

/// A message template: literal text and placeholders.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Template(Vec<Piece>);

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Literal(String),
    Tool,
    Arguments,
    Rule,
    Reason,
}

/// The values a template's placeholders take.
pub(crate) struct Fill<'a> {
    pub tool: &'a str,
    pub arguments: &'a str,
    pub rule: &'a str,
    pub reason: &'a str,
}

impl Template {
    fn parse(text: &str, field: &str) -> Result<Self, PolicyError> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    let mut closed = false;
                    for n in chars.by_ref() {
                        if n == '}' {
                            closed = true;
                            break;
                        }
                        name.push(n);
                    }
                    let piece = match (closed, name.as_str()) {
                        (true, "tool") => Piece::Tool,
                        (true, "arguments") => Piece::Arguments,
                        (true, "rule") => Piece::Rule,
                        (true, "reason") => Piece::Reason,
                        (true, other) => {
                            return Err(config_error(
                                field.to_owned(),
                                format!("unknown placeholder {{{other}}}; use {{tool}}, {{arguments}}, {{rule}} or {{reason}} (and {{{{ }}}} for braces)"),
                            ))
                        }
                        (false, _) => {
                            return Err(config_error(field.to_owned(), "unclosed `{`; write `{{` for a brace"))
                        }
                    };
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    pieces.push(piece);
                }
                other => literal.push(other),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Ok(Self(pieces))
    }

    /// Fills the placeholders in one pass (values are never re-scanned for placeholders).
    pub(crate) fn render(&self, fill: &Fill<'_>) -> String {
        let mut out = String::new();
        for piece in &self.0 {
            out.push_str(match piece {
                Piece::Literal(s) => s,
                Piece::Tool => fill.tool,
                Piece::Arguments => fill.arguments,
                Piece::Rule => fill.rule,
                Piece::Reason => fill.reason,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err_field(v: Value) -> String {
        let config = match RulesConfig::from_value(&v) {
            Ok(c) => c,
            Err(PolicyError::Config { field, .. }) => return field,
            Err(e) => panic!("{e}"),
        };
        match config.compile() {
            Err(PolicyError::Config { field, .. }) => field,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field() {
        let ok = json!({"name": "a", "match": {"tool": "Bash"}, "action": {"type": "block"}});
        let bad_regex = json!({"name": "b", "match": {"input": {"pointer": "/command", "regex": "("}}, "action": {"type": "block"}});
        assert_eq!(
            err_field(json!({"rules": [ok, ok, bad_regex]})),
            "rules.2.match.input.regex"
        );
        assert_eq!(
            err_field(
                json!({"rules": [{"name": "a", "match": {"tool": "[", }, "action": {"type": "block"}}]})
            ),
            "rules.0.match.tool"
        );
        assert_eq!(
            err_field(
                json!({"rules": [{"name": "a", "match": {"text": "x"}, "action": {"type": "block", "message": "{nope}"}}]})
            ),
            "rules.0.action.message"
        );
        assert_eq!(
            err_field(
                json!({"rules": [{"name": "a", "match": {"tool": "x", "colour": 1}, "action": {"type": "block"}}]})
            ),
            "rules.0.match.colour"
        );
        assert_eq!(
            err_field(
                json!({"rules": [{"name": "a", "match": {"tool": "x"}, "action": {"type": "replace", "replacement": "y"}}]})
            ),
            "rules.0.action"
        );
        assert_eq!(
            err_field(
                json!({"rules": [{"name": "a", "match": {"text": "x", "tool": "y"}, "action": {"type": "block"}}]})
            ),
            "rules.0.match"
        );
        assert_eq!(
            err_field(
                json!({"rules": [{"name": "a", "match": {"text": "x"}, "action": {"type": "warn"}}]})
            ),
            "rules.0.action"
        );
        assert_eq!(
            err_field(
                json!({"rules": [{"name": "a", "match": {"input": {"pointer": "command", "regex": "x"}}, "action": {"type": "block"}}]})
            ),
            "rules.0.match.input.pointer"
        );
        assert_eq!(err_field(json!({"rulez": []})), "rulez");
    }

    #[test]
    fn example_compiles_and_round_trips() {
        let example = RulesConfig::example();
        assert_eq!(example.compile().map(|r| r.len()).ok(), Some(4));
        let value = serde_json::to_value(&example).unwrap();
        assert_eq!(RulesConfig::from_value(&value).unwrap(), example);
        let schema = serde_json::to_value(schemars::schema_for!(RulesConfig)).unwrap();
        assert!(schema.to_string().contains("dangerous_command"));
    }

    #[test]
    fn templates_fill_in_one_pass() {
        let t = Template::parse("{tool}: {reason} {{x}} {arguments} [{rule}]", "f").unwrap();
        let out = t.render(&Fill {
            tool: "Bash",
            arguments: "{rule}",
            rule: "r1",
            reason: "because",
        });
        assert_eq!(out, "Bash: because {x} {rule} [r1]");
    }

    #[test]
    fn one_char_regexes_are_recognised() {
        assert!(matches_one_char("[\u{2013}\u{2014}]"));
        assert!(matches_one_char("\u{2014}|\u{2013}"));
        assert!(!matches_one_char("ab"));
        assert!(!matches_one_char(r"pip\s+install"));
        assert!(!matches_one_char("a+"));
    }
}
