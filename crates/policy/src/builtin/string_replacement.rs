//! `string_replacement`: ordered find/replace pairs on the response, the request, or both.
//!
//! Streaming is exact across delta boundaries: each pair holds back the last `len(from) - 1`
//! characters it has not yet matched (a match could still be completing there) and extends the
//! cut past any match that began before it. Pairs are chained: pair *n* sees pair *n-1*'s output.

use async_trait::async_trait;
use regex::{Regex, RegexBuilder};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::PolicyError;
use crate::policy::{BlockKind, DeltaTransform, Need, Policy, RequestVerdict};
use crate::request::PolicyRequest;

/// Where the replacements apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplyTo {
    /// Assistant text in the response.
    #[default]
    Response,
    /// The conversation's text in the request.
    Request,
    /// Both.
    Both,
}

/// The policy's configuration (the predecessor's keys, unchanged).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StringReplacementConfig {
    /// Ordered `[from, to]` pairs; later pairs see earlier pairs' output.
    pub replacements: Vec<(String, String)>,
    /// Match regardless of case and give the replacement the matched text's case.
    #[serde(default)]
    pub match_capitalization: bool,
    /// Response, request or both.
    #[serde(default)]
    pub apply_to: ApplyTo,
}

impl StringReplacementConfig {
    /// An example configuration for documentation and the UI.
    pub fn example() -> Self {
        Self {
            replacements: vec![
                ("pip install".into(), "uv add".into()),
                ("colour".into(), "color".into()),
            ],
            match_capitalization: true,
            apply_to: ApplyTo::Response,
        }
    }
}

#[derive(Debug, Clone)]
struct Pair {
    find: Regex,
    to: String,
    hold: usize,
}

/// Find/replace on text, exact across streamed deltas.
#[derive(Debug, Clone)]
pub struct StringReplacementPolicy {
    pairs: Vec<Pair>,
    match_case: bool,
    apply_to: ApplyTo,
}

impl StringReplacementPolicy {
    /// Builds the policy from its JSON configuration.
    pub fn from_config(config: &Value) -> Result<Self, PolicyError> {
        let cfg: StringReplacementConfig = crate::config::parse_config(config)?;
        Self::new(cfg)
    }

    /// Builds the policy from a typed configuration.
    pub fn new(cfg: StringReplacementConfig) -> Result<Self, PolicyError> {
        let mut pairs = Vec::new();
        for (i, (from, to)) in cfg.replacements.into_iter().enumerate() {
            if from.is_empty() {
                return Err(PolicyError::Config {
                    field: format!("replacements.{i}.0"),
                    message: "the text to find must not be empty".into(),
                    line: None,
                });
            }
            let find = RegexBuilder::new(&regex::escape(&from))
                .case_insensitive(cfg.match_capitalization)
                .build()
                .map_err(|e| PolicyError::Config {
                    field: format!("replacements.{i}.0"),
                    message: e.to_string(),
                    line: None,
                })?;
            pairs.push(Pair {
                find,
                to,
                hold: from.chars().count().saturating_sub(1),
            });
        }
        Ok(Self {
            pairs,
            match_case: cfg.match_capitalization,
            apply_to: cfg.apply_to,
        })
    }

    /// Applies every pair to a whole text.
    pub fn replace_all(&self, text: &str) -> String {
        let mut s = text.to_owned();
        for p in &self.pairs {
            s = replace(&p.find, &s, &p.to, self.match_case);
        }
        s
    }
}

/// Replaces every match in `text`, adapting the replacement's case when asked.
fn replace(find: &Regex, text: &str, to: &str, match_case: bool) -> String {
    find.replace_all(text, |caps: &regex::Captures<'_>| {
        let matched = caps.get(0).map(|m| m.as_str()).unwrap_or_default();
        if match_case {
            with_case_of(matched, to)
        } else {
            to.to_owned()
        }
    })
    .into_owned()
}

/// Gives `to` the case pattern of `matched`: all upper, all lower, title case, or letter by letter.
pub fn with_case_of(matched: &str, to: &str) -> String {
    let letters: Vec<char> = matched.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.is_empty() {
        return to.to_owned();
    }
    if letters.iter().all(|c| c.is_uppercase()) && letters.len() > 1 {
        return to.to_uppercase();
    }
    if letters.iter().all(|c| c.is_lowercase()) {
        return to.to_lowercase();
    }
    let mut rest = letters.iter().skip(1);
    if letters[0].is_uppercase() && rest.all(|c| c.is_lowercase()) {
        let mut chars = to.chars();
        return match chars.next() {
            Some(first) => first
                .to_uppercase()
                .chain(chars.flat_map(char::to_lowercase))
                .collect(),
            None => String::new(),
        };
    }
    // Mixed case: copy each position's case while the matched text lasts, then keep `to` as written.
    let pattern: Vec<char> = matched.chars().collect();
    to.chars()
        .enumerate()
        .flat_map(|(i, c)| match pattern.get(i) {
            Some(p) if p.is_uppercase() => c.to_uppercase().collect::<Vec<_>>(),
            Some(p) if p.is_lowercase() => c.to_lowercase().collect(),
            _ => vec![c],
        })
        .collect()
}

struct Stage {
    pair: Pair,
    buf: String,
}

struct Chain {
    stages: Vec<Stage>,
    match_case: bool,
}

impl Stage {
    /// Emits what can no longer be part of a match; keeps the rest.
    fn push(&mut self, input: &str, match_case: bool) -> String {
        self.buf.push_str(input);
        let total = self.buf.chars().count();
        let keep = self.pair.hold.min(total);
        let mut cut = char_offset(&self.buf, total - keep);
        // A match that began before the cut is complete inside the buffer: cut after it.
        for m in self.pair.find.find_iter(&self.buf) {
            if m.start() < cut {
                cut = cut.max(m.end());
            } else {
                break;
            }
        }
        let ready: String = self.buf[..cut].to_owned();
        self.buf.drain(..cut);
        replace(&self.pair.find, &ready, &self.pair.to, match_case)
    }

    fn finish(&mut self, match_case: bool) -> String {
        let rest = std::mem::take(&mut self.buf);
        replace(&self.pair.find, &rest, &self.pair.to, match_case)
    }
}

fn char_offset(s: &str, chars: usize) -> usize {
    s.char_indices()
        .nth(chars)
        .map(|(i, _)| i)
        .unwrap_or(s.len())
}

impl DeltaTransform for Chain {
    fn push(&mut self, delta: &str) -> String {
        let mut text = delta.to_owned();
        for stage in &mut self.stages {
            text = stage.push(&text, self.match_case);
        }
        text
    }

    fn finish(&mut self) -> String {
        let mut carried = String::new();
        for stage in &mut self.stages {
            let mut out = stage.push(&carried, self.match_case);
            out.push_str(&stage.finish(self.match_case));
            carried = out;
        }
        carried
    }
}

#[async_trait]
impl Policy for StringReplacementPolicy {
    fn name(&self) -> String {
        "string_replacement".into()
    }

    async fn on_request(&self, req: &mut PolicyRequest) -> Result<RequestVerdict, PolicyError> {
        if matches!(self.apply_to, ApplyTo::Request | ApplyTo::Both) {
            req.for_each_text(|s| *s = self.replace_all(s));
        }
        Ok(RequestVerdict::Pass)
    }

    fn need(&self, kind: BlockKind) -> Need {
        if kind == BlockKind::Text
            && matches!(self.apply_to, ApplyTo::Response | ApplyTo::Both)
            && !self.pairs.is_empty()
        {
            Need::Stream
        } else {
            Need::Forward
        }
    }

    fn transform(&self, kind: BlockKind) -> Option<Box<dyn DeltaTransform>> {
        (kind == BlockKind::Text).then(|| {
            Box::new(Chain {
                stages: self
                    .pairs
                    .iter()
                    .cloned()
                    .map(|pair| Stage {
                        pair,
                        buf: String::new(),
                    })
                    .collect(),
                match_case: self.match_case,
            }) as Box<dyn DeltaTransform>
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(cfg: Value) -> StringReplacementPolicy {
        StringReplacementPolicy::from_config(&cfg).unwrap()
    }

    fn stream(p: &StringReplacementPolicy, deltas: &[&str]) -> String {
        let mut t = p.transform(BlockKind::Text).unwrap();
        let mut out: String = deltas.iter().map(|d| t.push(d)).collect();
        out.push_str(&t.finish());
        out
    }

    #[test]
    fn a_match_spanning_deltas_is_replaced_at_every_split_point() {
        let p = policy(json!({"replacements": [["pip install", "uv add"]]}));
        let text = "run pip install requests, then pip install rich";
        for i in 1..text.len() {
            if !text.is_char_boundary(i) {
                continue;
            }
            let (a, b) = text.split_at(i);
            assert_eq!(
                stream(&p, &[a, b]),
                "run uv add requests, then uv add rich",
                "split at {i}"
            );
        }
    }

    #[test]
    fn pairs_chain_and_streaming_equals_whole_text() {
        let p = policy(json!({"replacements": [["cat", "dog"], ["dog", "wolf"]]}));
        assert_eq!(p.replace_all("cat dog"), "wolf wolf");
        let deltas: Vec<String> = "a cat, a dog".chars().map(String::from).collect();
        let refs: Vec<&str> = deltas.iter().map(String::as_str).collect();
        assert_eq!(stream(&p, &refs), "a wolf, a wolf");
    }

    #[test]
    fn capitalisation_is_matched_when_asked() {
        let p =
            policy(json!({"replacements": [["colour", "color"]], "match_capitalization": true}));
        assert_eq!(
            p.replace_all("Colour COLOUR colour cOlOuR"),
            "Color COLOR color cOlOr"
        );
        let exact = policy(json!({"replacements": [["colour", "color"]]}));
        assert_eq!(exact.replace_all("Colour colour"), "Colour color");
    }

    #[test]
    fn non_ascii_text_is_never_split_inside_a_character() {
        let p = policy(json!({"replacements": [["é—x", "e-x"]]}));
        assert_eq!(stream(&p, &["café—", "x and — é"]), "cafe-x and — é");
    }

    #[test]
    fn config_errors_name_the_field() {
        let err =
            StringReplacementPolicy::from_config(&json!({"replacements": [["a", "b"], ["", "c"]]}))
                .unwrap_err();
        assert!(err.to_string().contains("replacements.1.0"), "{err}");
        let err = StringReplacementPolicy::from_config(&json!({"replacements": [], "apply": "x"}))
            .unwrap_err();
        assert!(err.to_string().contains("apply"), "{err}");
    }
}
