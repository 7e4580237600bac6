//! The `rules` policy: declarative rules on tool calls and assistant text (no LLM), and the
//! deterministic presets built from them.
//!
//! * [`tool`] normalises Claude Code and Codex tool calls; [`shell`] parses shell commands and
//!   unwraps wrappers; [`config`] is the user-facing configuration; [`presets`] holds the
//!   built-in checks and the preset policies.
//! * A tool rule matches on the tool name (glob), a tool-input field (JSON pointer + regex; for
//!   shell tools `/command` is the command as one string, see [`MatchConfig`]) and/or a built-in
//!   [`Check`]; a text rule matches a regex on each line of assistant text.
//! * Free-form tool calls (OpenAI `custom` tools: Codex's `apply_patch`, whose input is the
//!   patch text, not JSON) are tool calls like any other: tool rules hold and judge them. For
//!   `input.pointer` their input is seen as `{"input": "<text>"}`, so **`/input` is the whole
//!   free-form text** (the same pointer as the JSON spelling of `apply_patch`, `{"input": …}`);
//!   a `replace` on `/input` rewrites the text and the call stays free-form. The checks see
//!   the text itself: `sensitive_file_write` reads every `*** Add File:`, `*** Update File:`,
//!   `*** Delete File:` and `*** Move to:` path of an `apply_patch` patch. Block messages show
//!   free-form input as its text (`{arguments}`), not as a JSON string.
//! * Actions: `block` (one readable paragraph for the agent), `replace` (rewrite the matched
//!   input field or text), `warn` (a text note before the tool call).
//! * Needs: tool calls are held when any tool rule exists. Text is streamed through a
//!   line-buffered transform when text rules only `replace` (a rule whose regex always matches a
//!   single character runs on each delta unbuffered), and held when a text rule `block`s.
//!
//! Measured on the shipped corpus (`tests/corpus/*.txt`, asserted by `tests/rules_corpus.rs`):
//! * `block_dangerous_commands`: 87/87 dangerous blocked, 0/87 benign blocked: precision 1.00, recall 1.00.
//! * `block_sensitive_file_writes`: 78/78 sensitive writes blocked, 0/73 benign blocked: precision 1.00, recall 1.00.
//! * `block_web_requests`: 70/70 requests blocked, 0/71 benign blocked: precision 1.00, recall 1.00.
//!
//! The corpus was written alongside the checks, so these figures show the documented lines
//! hold, not how the checks fare on unseen commands.

pub mod config;
pub mod presets;
pub mod shell;
pub mod tool;

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

pub use config::{ActionConfig, Check, InputMatch, MatchConfig, RuleConfig, RulesConfig};
pub use tool::ToolAction;

use crate::error::PolicyError;
use crate::policy::{
    Block, BlockKind, Decision, DecisionContext, DeltaTransform, Need, Policy, ToolInputFormat,
    Verdict,
};
use config::{Action, CompiledRule, Fill, Target};

/// How many characters of pretty-printed arguments a message shows.
const ARGUMENTS_LIMIT: usize = 1000;

/// The declarative rules policy (also the type of every deterministic preset).
#[derive(Debug, Clone)]
pub struct RulesPolicy {
    name: String,
    config: RulesConfig,
    rules: Arc<[CompiledRule]>,
    /// Set when a built-in preset failed to compile (a bug): every decision then fails, and
    /// the policy's fail mode (closed) blocks rather than letting calls through unchecked.
    broken: Option<String>,
}

impl RulesPolicy {
    /// Builds the `rules` policy from its JSON configuration.
    pub fn from_config(config: &Value) -> Result<Self, PolicyError> {
        Self::new("rules", RulesConfig::from_value(config)?)
    }

    /// Builds a rules policy with a given name.
    pub fn new(name: impl Into<String>, config: RulesConfig) -> Result<Self, PolicyError> {
        let rules = config.compile()?;
        Ok(Self {
            name: name.into(),
            config,
            rules: rules.into(),
            broken: None,
        })
    }

    /// Like [`RulesPolicy::new`] for built-in configurations: a compile error (a bug) gives a
    /// policy whose every decision fails, so it fails closed instead of passing everything.
    pub(crate) fn builtin(name: &str, config: RulesConfig) -> Self {
        match Self::new(name, config.clone()) {
            Ok(policy) => policy,
            Err(e) => Self {
                name: name.to_owned(),
                config,
                rules: Vec::new().into(),
                broken: Some(e.to_string()),
            },
        }
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &RulesConfig {
        &self.config
    }

    fn has_tool_rules(&self) -> bool {
        self.broken.is_some()
            || self
                .rules
                .iter()
                .any(|r| matches!(r.target, Target::Tool { .. }))
    }

    fn text_rules(&self) -> impl Iterator<Item = &CompiledRule> {
        self.rules
            .iter()
            .filter(|r| matches!(r.target, Target::Text { .. }))
    }

    /// The decision on one JSON tool call.
    pub fn evaluate_tool(&self, id: &str, name: &str, input: &Value) -> Decision {
        self.evaluate_call(id, name, input, ToolInputFormat::Json)
    }

    /// The decision on one free-form tool call (Codex's `apply_patch`), `text` being its input.
    pub fn evaluate_custom_tool(&self, id: &str, name: &str, text: &str) -> Decision {
        self.evaluate_call(
            id,
            name,
            &Value::String(text.to_owned()),
            ToolInputFormat::Freeform,
        )
    }

    /// The decision on one tool call of either format (what [`Policy::decide`] answers for a
    /// `ToolUse` block); a free-form call's `input` is its text as a JSON string.
    pub fn evaluate_call(
        &self,
        id: &str,
        name: &str,
        input: &Value,
        format: ToolInputFormat,
    ) -> Decision {
        let mut current = input.clone();
        let mut notes: Vec<Block> = Vec::new();
        let mut fired: Vec<String> = Vec::new();
        let mut changed = false;
        for rule in self.rules.iter() {
            let Target::Tool {
                name: glob,
                input: input_match,
                check,
            } = &rule.target
            else {
                continue;
            };
            if glob.as_ref().is_some_and(|g| !g.is_match(name)) {
                continue;
            }
            let view = input_view(name, &current, format);
            if let Some((pointer, regex)) = input_match {
                let Some(text) = view.pointer(pointer).map(value_text) else {
                    continue;
                };
                if !regex.is_match(&text) {
                    continue;
                }
            }
            let finding = match check {
                Some(check) => match presets::check_tool_call(*check, name, &current) {
                    Some(finding) => Some(finding),
                    None => continue,
                },
                None => None,
            };
            let reason = finding
                .or_else(|| rule.reason.clone())
                .unwrap_or_else(|| format!("it matches the rule \"{}\"", rule.name));
            fired.push(format!("{}: {reason}", rule.name));
            match &rule.action {
                Action::Block(template) => {
                    let arguments = pretty_arguments(&current, format);
                    let message = template.render(&Fill {
                        tool: name,
                        arguments: &arguments,
                        rule: &rule.name,
                        reason: &reason,
                    });
                    return decision(Verdict::Block { message }, fired);
                }
                Action::Warn(template) => {
                    let arguments = pretty_arguments(&current, format);
                    notes.push(Block::text(template.render(&Fill {
                        tool: name,
                        arguments: &arguments,
                        rule: &rule.name,
                        reason: &reason,
                    })));
                }
                Action::Replace(replacement) => {
                    if let Some((pointer, regex)) = input_match {
                        let mut view = view;
                        if let Some(Value::String(s)) = view.pointer_mut(pointer) {
                            let new = regex.replace_all(s, replacement.as_str()).into_owned();
                            if new != *s {
                                *s = new;
                                current = write_back(name, &current, view, format);
                                changed = true;
                            }
                        }
                    }
                }
            }
        }
        if !changed && notes.is_empty() {
            return decision(Verdict::Pass, fired);
        }
        notes.push(Block::ToolUse {
            id: id.to_owned(),
            name: name.to_owned(),
            input: current,
            format,
        });
        decision(Verdict::Replace(notes), fired)
    }

    /// The decision on a whole text block (used when a text rule blocks).
    pub fn evaluate_text(&self, text: &str) -> Decision {
        let mut fired = Vec::new();
        for rule in self.text_rules() {
            let (Target::Text { regex, .. }, Action::Block(template)) =
                (&rule.target, &rule.action)
            else {
                continue;
            };
            if let Some(line) = text.lines().find(|line| regex.is_match(line)) {
                let reason = rule
                    .reason
                    .clone()
                    .unwrap_or_else(|| format!("it matches the rule \"{}\"", rule.name));
                fired.push(format!("{}: {reason}", rule.name));
                let arguments =
                    truncate(&Value::String(line.to_owned()).to_string(), ARGUMENTS_LIMIT);
                let message = template.render(&Fill {
                    tool: "text",
                    arguments: &arguments,
                    rule: &rule.name,
                    reason: &reason,
                });
                return decision(Verdict::Block { message }, fired);
            }
        }
        let rewritten = self.rewrite_text(text);
        if rewritten == text {
            decision(Verdict::Pass, fired)
        } else {
            decision(Verdict::Replace(vec![Block::text(rewritten)]), fired)
        }
    }

    /// Applies the text `replace` rules to `text`, line by line.
    pub fn rewrite_text(&self, text: &str) -> String {
        let rules: Vec<&CompiledRule> = self
            .text_rules()
            .filter(|r| matches!(r.action, Action::Replace(_)))
            .collect();
        rewrite_lines(&rules, text)
    }
}

fn rewrite_lines(rules: &[&CompiledRule], text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        let mut body = body.to_owned();
        for rule in rules {
            if let (Target::Text { regex, .. }, Action::Replace(replacement)) =
                (&rule.target, &rule.action)
            {
                body = regex.replace_all(&body, replacement.as_str()).into_owned();
            }
        }
        out.push_str(&body);
        out.push_str(newline);
    }
    out
}

fn decision(verdict: Verdict, fired: Vec<String>) -> Decision {
    Decision {
        verdict,
        score: None,
        rationale: (!fired.is_empty()).then(|| fired.join("; ")),
        judge_model: None,
        judge_exchange: None,
    }
}

/// The tool input as rules see it: for shell tools, `/command` holds the command string; a
/// free-form input is `{"input": text}`.
fn input_view(name: &str, input: &Value, format: ToolInputFormat) -> Value {
    if format == ToolInputFormat::Freeform {
        return serde_json::json!({ "input": input });
    }
    let mut view = input.clone();
    if let (Some((script, _)), Some(obj)) = (tool::shell_command(name, input), view.as_object_mut())
    {
        obj.insert("command".to_owned(), Value::String(script));
    }
    view
}

/// Puts a (possibly rewritten) view back into the client's shape.
fn write_back(name: &str, original: &Value, mut view: Value, format: ToolInputFormat) -> Value {
    if format == ToolInputFormat::Freeform {
        return match view.get_mut("input").map(Value::take) {
            Some(text @ Value::String(_)) => text,
            _ => original.clone(),
        };
    }
    let Some((old_script, source)) = tool::shell_command(name, original) else {
        return view;
    };
    if matches!(source, tool::ShellSource::CommandString) {
        return view; // the view's `/command` is the real field
    }
    let new_script = view
        .as_object_mut()
        .and_then(|o| o.remove("command"))
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| old_script.clone());
    // The view replaced `command` (Codex `shell`'s argv) with a string: restore the original.
    if let (Some(obj), Some(orig)) = (view.as_object_mut(), original.get("command")) {
        obj.insert("command".to_owned(), orig.clone());
    }
    if new_script != old_script {
        tool::set_shell_command(&mut view, &source, new_script);
    }
    view
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The input for a block message: pretty-printed JSON, or free-form text as it is; truncated.
fn pretty_arguments(input: &Value, format: ToolInputFormat) -> String {
    truncate(&format.display(input), ARGUMENTS_LIMIT)
}

/// At most `limit` characters of `text`, with an ellipsis when cut.
fn truncate(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Streams text through the replace rules, holding back the unfinished last line so a match
/// spanning two deltas is still seen whole.
struct LineBuffered {
    rules: Arc<[CompiledRule]>,
    pending: String,
}

impl LineBuffered {
    fn apply(&self, text: &str) -> String {
        let rules: Vec<&CompiledRule> = self
            .rules
            .iter()
            .filter(|r| {
                matches!(
                    (&r.target, &r.action),
                    (Target::Text { .. }, Action::Replace(_))
                )
            })
            .collect();
        rewrite_lines(&rules, text)
    }
}

impl DeltaTransform for LineBuffered {
    fn push(&mut self, delta: &str) -> String {
        self.pending.push_str(delta);
        match self.pending.rfind('\n') {
            Some(i) => {
                let rest = self.pending.split_off(i + 1);
                let complete = std::mem::replace(&mut self.pending, rest);
                self.apply(&complete)
            }
            None => String::new(),
        }
    }

    fn finish(&mut self) -> String {
        let rest = std::mem::take(&mut self.pending);
        self.apply(&rest)
    }
}

/// Applies single-character replace rules to each delta as it comes: nothing is held back.
struct PerChar {
    rules: Arc<[CompiledRule]>,
}

impl DeltaTransform for PerChar {
    fn push(&mut self, delta: &str) -> String {
        let mut out = delta.to_owned();
        for rule in self.rules.iter() {
            if let (Target::Text { regex, .. }, Action::Replace(replacement)) =
                (&rule.target, &rule.action)
            {
                out = regex.replace_all(&out, replacement.as_str()).into_owned();
            }
        }
        out
    }

    fn finish(&mut self) -> String {
        String::new()
    }
}

#[async_trait]
impl Policy for RulesPolicy {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn need(&self, kind: BlockKind) -> Need {
        match kind {
            BlockKind::ToolUse if self.has_tool_rules() => Need::Hold,
            BlockKind::Text => {
                let mut need = Need::Forward;
                for rule in self.text_rules() {
                    need = need.max(match rule.action {
                        Action::Block(_) => Need::Hold,
                        _ => Need::Stream,
                    });
                }
                need
            }
            _ => Need::Forward,
        }
    }

    fn transform(&self, kind: BlockKind) -> Option<Box<dyn DeltaTransform>> {
        if kind != BlockKind::Text || self.need(kind) != Need::Stream {
            return None;
        }
        let per_char = self.text_rules().all(|r| {
            matches!(
                r.target,
                Target::Text {
                    single_char: true,
                    ..
                }
            )
        });
        Some(if per_char {
            Box::new(PerChar {
                rules: self.rules.clone(),
            })
        } else {
            Box::new(LineBuffered {
                rules: self.rules.clone(),
                pending: String::new(),
            })
        })
    }

    async fn decide(&self, _ctx: &DecisionContext, block: &Block) -> Result<Decision, PolicyError> {
        if let Some(problem) = &self.broken {
            return Err(PolicyError::Unavailable(format!(
                "the built-in policy {} failed to load: {problem}",
                self.name
            )));
        }
        Ok(match block {
            Block::ToolUse {
                id,
                name,
                input,
                format,
            } => self.evaluate_call(id, name, input, *format),
            Block::Text { text } => self.evaluate_text(text),
            _ => Decision::pass(),
        })
    }
}
