//! `GET /policies`: every policy the registry ships, with its description; the active policy
//! and its activation history; and a configuration form that `policies.js` builds from the
//! policy's JSON Schema, validates field by field through the admin API and activates.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use policy::registry;
use serde_json::{json, Value};

use super::assets;
use super::calendar;
use super::layout::{pretty, render, store_failure, Chrome};
use crate::admin::Operator;
use crate::app::App;

/// Activations listed.
const HISTORY: u32 = 50;

/// A policy card.
struct Card {
    name: &'static str,
    description: &'static str,
    active: bool,
    configurable: bool,
}

/// An entry of the activation history.
struct Activation {
    when: String,
    class: String,
    by: String,
    config: String,
}

#[derive(Template)]
#[template(path = "policies.html")]
struct PoliciesPage {
    chrome: Chrome,
    cards: Vec<Card>,
    current_name: String,
    current_class: String,
    current_config: String,
    current_since: Option<String>,
    history: Vec<Activation>,
    data: String,
    script: String,
}

/// JSON for a `<script type="application/json">` block: `<`, `>` and `&` escaped as `\u003c`
/// and friends, so no string inside can close the element (`</script>`) or open a comment;
/// U+2028/2029 escaped for old parsers. JSON.parse reads the escapes back unchanged.
fn script_json(v: &Value) -> String {
    let s = v.to_string();
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Whether a schema declares any setting.
fn has_settings(schema: &Value) -> bool {
    schema["properties"]
        .as_object()
        .is_some_and(|p| !p.is_empty())
}

/// `GET /policies`.
pub async fn page(State(app): State<Arc<App>>, operator: Option<Extension<Operator>>) -> Response {
    let chrome = Chrome::page(operator, "policies");
    let activations = match app.store.policy_history(HISTORY).await {
        Ok(a) => a,
        Err(e) => return store_failure(chrome, &e),
    };
    let name = app.policy().name().to_string();
    let current = activations.first();
    let current_class = current.map(|a| a.class.clone()).unwrap_or(name.clone());
    let current_config = current.map(|a| a.config.clone()).unwrap_or(json!({}));
    let canonical = registry::canonical_name(&current_class).unwrap_or_default();
    let infos = registry::list();
    let cards = infos
        .iter()
        .map(|i| Card {
            name: i.name,
            description: i.description,
            active: i.name == canonical,
            configurable: has_settings(&i.schema),
        })
        .collect();
    let data = json!({
        "policies": infos,
        "current": {"class": canonical, "config": current_config},
    });
    render(&PoliciesPage {
        chrome,
        cards,
        current_name: name,
        current_since: current.map(|a| {
            format!(
                "since {} UTC, set by {}",
                calendar::datetime(a.activated_at_ms),
                a.activated_by
            )
        }),
        current_config: pretty(&current_config),
        current_class,
        history: activations
            .iter()
            .map(|a| Activation {
                when: calendar::datetime(a.activated_at_ms),
                class: a.class.clone(),
                by: a.activated_by.clone(),
                config: pretty(&a.config),
            })
            .collect(),
        data: script_json(&data),
        script: assets::href("policies.js"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_json_cannot_close_its_script_element_and_still_parses_back() {
        let v = json!({"d": "</script><img src=x onerror=alert(1)> & \u{2028}"});
        let s = script_json(&v);
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&'));
        assert_eq!(serde_json::from_str::<Value>(&s).ok(), Some(v));
    }
}
