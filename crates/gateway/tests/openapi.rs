//! The OpenAPI document at `/api/openapi.json`: public, OpenAPI 3.1, complete (every route the
//! router serves), self-consistent (every `$ref` resolves), and truthful (live responses and
//! recorded values match the schemas it declares).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

/// Every route `router()` in app.rs registers, as (method, path). Keep in step with app.rs:
/// a route missing from the document fails `every_route_the_router_serves_is_documented`.
const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/messages"),
    ("post", "/v1/messages/count_tokens"),
    ("post", "/v1/chat/completions"),
    ("post", "/v1/responses"),
    ("get", "/v1/models"),
    ("get", "/health"),
    ("get", "/ready"),
    ("get", "/api/hello"),
    ("head", "/api/hello"),
    ("get", "/api/openapi.json"),
    ("get", "/api/history/sessions"),
    ("get", "/api/history/sessions/{id}"),
    ("get", "/api/history/sessions/{id}/export"),
    ("get", "/api/history/transactions/{id}"),
    ("get", "/api/history/transactions/{id}/diff"),
    ("get", "/api/history/stats"),
    ("get", "/api/admin/policy/current"),
    ("post", "/api/admin/policy/set"),
    ("post", "/api/admin/policy/validate"),
    ("get", "/api/admin/policy/list"),
    ("get", "/api/admin/policy/history"),
    ("get", "/api/admin/system-status"),
    ("get", "/api/admin/session"),
    ("get", "/api/activity/stream"),
];

/// Browser endpoints the document lists although their handlers live with the web UI.
const BROWSER_ROUTES: &[(&str, &str)] = &[("post", "/login"), ("post", "/logout")];

const METHODS: [&str; 8] = [
    "get", "head", "post", "put", "patch", "delete", "options", "trace",
];

const ADMIN_SCHEMES: [&str; 3] = ["admin_key", "admin_api_key_header", "session_cookie"];

/// The document as served, fetched without any credential.
async fn fetch(gw: &Gateway) -> Value {
    let resp = gw
        .http
        .get(format!("{}/api/openapi.json", gw.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "the document must be public");
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("application/json"), "content-type {ct}");
    let text = resp.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            if let Some(op) = item.get(m) {
                out.push((m.to_owned(), path.clone(), op));
            }
        }
    }
    out
}

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    operations(doc)
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect()
}

#[tokio::test]
async fn the_document_is_served_without_credentials_as_openapi_3_1() {
    let h = Harness::start(&[]).await;
    let doc = fetch(&h.gw).await;
    let version = doc["openapi"].as_str().unwrap();
    assert!(version.starts_with("3.1"), "openapi is {version}");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let resp =
        h.gw.http
            .get(format!("{}/api/openapi.json", h.gw.url))
            .send()
            .await
            .unwrap();
    assert!(
        resp.headers().contains_key("x-luthien-transaction-id"),
        "the document is served like every other response"
    );
}

#[tokio::test]
async fn every_route_the_router_serves_is_documented() {
    let h = Harness::start(&[]).await;
    let doc = fetch(&h.gw).await;
    let have = documented(&doc);
    let missing: Vec<_> = ROUTES
        .iter()
        .chain(BROWSER_ROUTES)
        .filter(|(m, p)| !have.contains(&(m.to_string(), p.to_string())))
        .collect();
    assert!(missing.is_empty(), "not in the document: {missing:?}");
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .chain(BROWSER_ROUTES)
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let extra: Vec<_> = have.difference(&expected).collect();
    assert!(
        extra.is_empty(),
        "documented but not served (or missing from ROUTES): {extra:?}"
    );
    // And each one is really routed: the fallback would answer "is not served by this gateway".
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (method, path) in ROUTES.iter().chain(BROWSER_ROUTES) {
        if path.ends_with("/stream") {
            continue; // an endless SSE response; covered by activity_events_match_the_documented_envelope
        }
        let url = format!("{}{}", h.gw.url, path.replace("{id}", "unknown-id"));
        let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let resp = browser
            .request(m, &url)
            .bearer_auth(common::ADMIN_KEY)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        assert!(
            !(status == 404 && body.contains("is not served by this gateway")),
            "{method} {path} is documented but the router does not serve it"
        );
    }
}

#[tokio::test]
async fn admin_history_and_activity_endpoints_declare_the_admin_credentials_and_health_none() {
    let h = Harness::start(&[]).await;
    let doc = fetch(&h.gw).await;
    for (method, path, op) in operations(&doc) {
        let schemes: BTreeSet<String> = op["security"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|req| req.as_object().unwrap().keys().cloned())
            .collect();
        let guarded = ["/api/history/", "/api/admin/", "/api/activity/"]
            .iter()
            .any(|p| path.starts_with(p));
        if guarded {
            for s in ADMIN_SCHEMES {
                assert!(
                    schemes.contains(s),
                    "{method} {path} lacks {s}: {schemes:?}"
                );
            }
            assert!(
                op["responses"].get("401").is_some(),
                "{method} {path} does not document the guard's 401"
            );
        } else if path.starts_with("/v1/") {
            assert!(
                !schemes.is_empty(),
                "{method} {path} names no client credential"
            );
        } else {
            assert!(
                schemes.is_empty(),
                "{method} {path} is public yet declares {schemes:?}"
            );
        }
    }
    assert!(doc["paths"]["/health"]["get"].get("security").is_none());

    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["admin_key"]["type"], "http");
    assert_eq!(schemes["admin_key"]["scheme"], "bearer");
    assert_eq!(schemes["admin_api_key_header"]["type"], "apiKey");
    assert_eq!(schemes["admin_api_key_header"]["in"], "header");
    assert_eq!(schemes["admin_api_key_header"]["name"], "x-api-key");
    assert_eq!(schemes["session_cookie"]["type"], "apiKey");
    assert_eq!(schemes["session_cookie"]["in"], "cookie");
    assert_eq!(schemes["session_cookie"]["name"], "luthien_session");
    let cookie_doc = schemes["session_cookie"]["description"].as_str().unwrap();
    assert!(
        cookie_doc.contains("x-csrf-token"),
        "the cookie scheme must tell clients about CSRF: {cookie_doc}"
    );
}

/// Every `"$ref"` in `v`, with where it was found.
fn refs<'a>(v: &'a Value, at: String, out: &mut Vec<(String, &'a str)>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if k == "$ref" {
                    if let Some(r) = child.as_str() {
                        out.push((at.clone(), r));
                    }
                } else {
                    refs(child, format!("{at}/{k}"), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                refs(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Resolves a local reference (`#/components/schemas/X`) within `doc`.
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    doc.pointer(pointer)
}

#[tokio::test]
async fn the_document_parses_as_openapi_3_1_and_every_reference_resolves() {
    let h = Harness::start(&[]).await;
    let doc = fetch(&h.gw).await;

    // A typed 3.1 parser: every object must have the shape the specification gives it.
    let spec = oas3::from_json(doc.to_string()).unwrap_or_else(|e| panic!("not OpenAPI 3.1: {e}"));
    spec.validate_version().unwrap();
    for (path, method, op) in spec.operations() {
        for p in &op.parameters {
            p.resolve(&spec)
                .unwrap_or_else(|e| panic!("{method} {path}: parameter: {e}"));
        }
        if let Some(body) = &op.request_body {
            body.resolve(&spec)
                .unwrap_or_else(|e| panic!("{method} {path}: request body: {e}"));
        }
        for (status, resp) in op.responses.iter().flatten() {
            resp.resolve(&spec)
                .unwrap_or_else(|e| panic!("{method} {path}: response {status}: {e}"));
        }
    }

    let mut found = Vec::new();
    refs(&doc, String::new(), &mut found);
    assert!(!found.is_empty());
    let dangling: Vec<_> = found
        .iter()
        .filter(|(_, r)| resolve(&doc, r).is_none())
        .collect();
    assert!(dangling.is_empty(), "unresolved $refs: {dangling:?}");

    let mut ids = BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap_or_default().to_owned();
        assert!(
            ids.insert(id.clone()),
            "{method} {path}: operationId {id:?} is not unique"
        );
        for req in op["security"].as_array().into_iter().flatten() {
            for name in req.as_object().unwrap().keys() {
                assert!(
                    doc["components"]["securitySchemes"].get(name).is_some(),
                    "{method} {path}: undeclared security scheme {name}"
                );
            }
        }
    }
}

/// Checks `value` against `schema` (the subset of JSON Schema utoipa emits) and returns every
/// difference. Stricter than JSON Schema in one way: an object schema with `properties` and no
/// `additionalProperties` rejects keys it does not list, so an undocumented field is caught.
fn conform(doc: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    if let Some(r) = schema["$ref"].as_str() {
        let Some(target) = resolve(doc, r) else {
            return vec![format!("{at}: unresolved {r}")];
        };
        return conform(doc, target, value, at);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            let matching = options
                .iter()
                .filter(|o| conform(doc, o, value, at).is_empty())
                .count();
            let ok = if key == "oneOf" {
                matching == 1
            } else {
                matching >= 1
            };
            if !ok {
                let why: Vec<String> = options
                    .iter()
                    .enumerate()
                    .map(|(i, o)| format!("option {i}: {:?}", conform(doc, o, value, at)))
                    .collect();
                return vec![format!(
                    "{at}: {matching} of the {key} options match {value}\n  {}",
                    why.join("\n  ")
                )];
            }
            return Vec::new();
        }
    }
    if let Some(all) = schema["allOf"].as_array() {
        return all
            .iter()
            .flat_map(|s| conform(doc, s, value, at))
            .collect();
    }
    let mut errors = Vec::new();
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let type_ok = types.is_empty()
        || types.iter().any(|t| match *t {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "string" => value.is_string(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => false,
        });
    if !type_ok {
        return vec![format!("{at}: {value} is not {types:?}")];
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            errors.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
    }
    if let (Some(obj), Some(props)) = (value.as_object(), schema["properties"].as_object()) {
        for req in schema["required"].as_array().into_iter().flatten() {
            let req = req.as_str().unwrap();
            if !obj.contains_key(req) {
                errors.push(format!("{at}: required `{req}` is missing"));
            }
        }
        let open = schema
            .get("additionalProperties")
            .is_some_and(|a| a != &Value::Bool(false));
        for (k, v) in obj {
            match props.get(k) {
                Some(s) => errors.extend(conform(doc, s, v, &format!("{at}.{k}"))),
                None if open => {}
                None => errors.push(format!("{at}: `{k}` is not documented")),
            }
        }
    }
    if let (Some(items), Some(schema)) = (value.as_array(), schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            errors.extend(conform(doc, schema, item, &format!("{at}[{i}]")));
        }
    }
    errors
}

/// Asserts that `body`, answered by `method path` with `status`, matches the documented JSON
/// schema of that response.
fn assert_documented(doc: &Value, method: &str, path: &str, status: u16, body: &Value) {
    let op = &doc["paths"][path][method];
    assert!(op.is_object(), "{method} {path} is not documented");
    let mut resp = &op["responses"][status.to_string()];
    if let Some(r) = resp["$ref"].as_str() {
        resp = resolve(doc, r).unwrap();
    }
    let schema = &resp["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path}: no JSON schema documented for {status}"
    );
    let errors = conform(doc, schema, body, "body");
    assert!(
        errors.is_empty(),
        "{method} {path} {status} differs from the document:\n{}\nbody: {body}",
        errors.join("\n")
    );
}

/// Asserts that a value serialized from the code matches the named component schema.
fn assert_schema(doc: &Value, name: &str, value: &Value) {
    let schema = &doc["components"]["schemas"][name];
    assert!(schema.is_object(), "no schema {name}");
    let errors = conform(doc, schema, value, name);
    assert!(
        errors.is_empty(),
        "{name} differs from the code:\n{}\nvalue: {value}",
        errors.join("\n")
    );
}

struct Client<'a> {
    gw: &'a Gateway,
    doc: &'a Value,
}

impl Client<'_> {
    /// Calls `method path` (with the admin key when `admin`), checks the status and that the
    /// body matches the document, and returns the body.
    async fn check(
        &self,
        method: &str,
        path: &str,
        doc_path: &str,
        body: Option<Value>,
        admin: bool,
        status: u16,
    ) -> Value {
        let url = format!("{}{path}", self.gw.url);
        let mut req = match method {
            "post" => self.gw.http.post(url),
            _ => self.gw.http.get(url),
        };
        if admin {
            req = req.bearer_auth(ADMIN_KEY);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), status, "{method} {path}");
        let v: Value = resp.json().await.unwrap();
        assert_documented(self.doc, method, doc_path, status, &v);
        v
    }
}

#[tokio::test]
async fn live_responses_match_the_documented_schemas() {
    let h = Harness::start(&[]).await;
    let doc = fetch(&h.gw).await;
    let c = Client {
        gw: &h.gw,
        doc: &doc,
    };

    c.check("get", "/health", "/health", None, false, 200).await;
    c.check("get", "/ready", "/ready", None, false, 200).await;
    c.check("get", "/api/hello", "/api/hello", None, false, 200)
        .await;
    let sys = "/api/admin/system-status";
    c.check("get", sys, sys, None, true, 200).await;
    c.check("get", sys, sys, None, false, 401).await;

    // The policy API, and a policy that records a decision.
    let p = "/api/admin/policy/";
    c.check(
        "get",
        &format!("{p}current"),
        &format!("{p}current"),
        None,
        true,
        200,
    )
    .await;
    c.check(
        "get",
        &format!("{p}list"),
        &format!("{p}list"),
        None,
        true,
        200,
    )
    .await;
    let validate = format!("{p}validate");
    let v = c
        .check(
            "post",
            &validate,
            &validate,
            Some(json!({"class": "noop"})),
            true,
            200,
        )
        .await;
    assert_eq!(v["valid"], true);
    let bad = json!({"class": "rules", "config": {"rules": "not a list"}});
    let v = c
        .check("post", &validate, &validate, Some(bad.clone()), true, 200)
        .await;
    assert_eq!(v["valid"], false);
    let set = format!("{p}set");
    c.check("post", &set, &set, Some(bad), true, 422).await;
    c.check(
        "post",
        &set,
        &set,
        Some(json!({"class": "nonesuch"})),
        true,
        422,
    )
    .await;
    c.check(
        "post",
        &set,
        &set,
        Some(json!({"class": "block_dangerous_commands", "activated_by": "openapi-test"})),
        true,
        200,
    )
    .await;
    c.check(
        "get",
        &format!("{p}history"),
        &format!("{p}history"),
        None,
        true,
        200,
    )
    .await;

    // A recorded transaction with a decision in it.
    let prompt = format!("mock:tool Bash {}", json!({"command": "rm -rf /"}));
    let mut body = anthropic_body("claude-sonnet-4-5", &prompt, true);
    body["metadata"] = json!({"user_id": "user_abc_account__session_openapi-test"});
    let resp = h.anthropic(&body).send().await.unwrap();
    let id = resp.headers()["x-luthien-transaction-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(resp.headers().contains_key("x-luthien-overhead-ms"));
    anthropic_stream(resp).await;
    let tx_path = format!("/api/history/transactions/{id}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while h
        .gw
        .http
        .get(format!("{}{tx_path}", h.gw.url))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap()
        .status()
        != 200
    {
        assert!(tokio::time::Instant::now() < deadline, "never recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let tx = c
        .check(
            "get",
            &tx_path,
            "/api/history/transactions/{id}",
            None,
            true,
            200,
        )
        .await;
    assert!(
        tx["record"]["decisions"]
            .as_array()
            .is_some_and(|d| !d.is_empty()),
        "the transaction should carry a decision to check its schema: {tx}"
    );
    let session = tx["session_id"].as_str().unwrap().to_owned();
    c.check(
        "get",
        &format!("{tx_path}/diff"),
        "/api/history/transactions/{id}/diff",
        None,
        true,
        200,
    )
    .await;
    let page = c
        .check(
            "get",
            "/api/history/sessions?limit=1",
            "/api/history/sessions",
            None,
            true,
            200,
        )
        .await;
    assert_eq!(page["items"][0]["id"], session.as_str());
    let s_path = format!("/api/history/sessions/{session}");
    c.check(
        "get",
        &s_path,
        "/api/history/sessions/{id}",
        None,
        true,
        200,
    )
    .await;
    let export = "/api/history/sessions/{id}/export";
    c.check(
        "get",
        &format!("{s_path}/export?format=json"),
        export,
        None,
        true,
        200,
    )
    .await;
    c.check(
        "get",
        &format!("{s_path}/export?format=pdf"),
        export,
        None,
        true,
        400,
    )
    .await;
    c.check(
        "get",
        "/api/history/sessions/nonesuch",
        "/api/history/sessions/{id}",
        None,
        true,
        404,
    )
    .await;
    c.check(
        "get",
        "/api/history/sessions",
        "/api/history/sessions",
        None,
        false,
        401,
    )
    .await;

    // The proxy side: models in both formats, a 401, an estimated token count's shape.
    let models =
        h.gw.http
            .get(format!("{}/v1/models", h.gw.url))
            .header("x-api-key", "k")
            .header("anthropic-version", "2023-06-01")
            .send()
            .await
            .unwrap();
    assert_eq!(models.status(), 200);
    assert_documented(
        &doc,
        "get",
        "/v1/models",
        200,
        &models.json().await.unwrap(),
    );
    let models =
        h.gw.http
            .get(format!("{}/v1/models", h.gw.url))
            .bearer_auth("k")
            .send()
            .await
            .unwrap();
    assert_documented(
        &doc,
        "get",
        "/v1/models",
        200,
        &models.json().await.unwrap(),
    );
    let denied =
        h.gw.http
            .get(format!("{}/v1/models", h.gw.url))
            .send()
            .await
            .unwrap();
    assert_eq!(denied.status(), 401);
    assert_documented(
        &doc,
        "get",
        "/v1/models",
        401,
        &denied.json().await.unwrap(),
    );
    let count = h
        .gw
        .http
        .post(format!("{}/v1/messages/count_tokens", h.gw.url))
        .header("x-api-key", "k")
        .header("anthropic-version", "2023-06-01")
        .json(
            &json!({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(count.status(), 200);
    assert_documented(
        &doc,
        "post",
        "/v1/messages/count_tokens",
        200,
        &count.json().await.unwrap(),
    );
    let bad =
        h.gw.anthropic(&json!({"model": "claude-sonnet-4-5"}))
            .send()
            .await
            .unwrap();
    assert_eq!(bad.status(), 400);
    assert_documented(
        &doc,
        "post",
        "/v1/messages",
        400,
        &bad.json().await.unwrap(),
    );
    let bad = h.gw.chat(&json!({"model": "gpt-4o"})).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    assert_documented(
        &doc,
        "post",
        "/v1/chat/completions",
        400,
        &bad.json().await.unwrap(),
    );

    // The activity stream's 400.
    let stream = "/api/activity/stream";
    c.check(
        "get",
        &format!("{stream}?kind=nonesuch"),
        stream,
        None,
        true,
        400,
    )
    .await;
}

#[test]
fn activity_events_match_the_documented_envelope() {
    use luthien_gateway::activity::{ActivityEvent, Envelope};
    let doc: Value = serde_json::to_value(
        <luthien_gateway::routes::openapi::ApiDoc as utoipa::OpenApi>::openapi(),
    )
    .unwrap();
    let events = [
        ActivityEvent::TransactionStarted {
            transaction_id: "t".into(),
            session_id: None,
            model: "m".into(),
            client_api: "anthropic".into(),
            stream: true,
            at_ms: 1,
        },
        ActivityEvent::TransactionFinished {
            transaction_id: "t".into(),
            session_id: Some("s".into()),
            model: "m".into(),
            status: 200,
            final_decision: "pass".into(),
            total_ms: 1.5,
            at_ms: 1,
        },
        ActivityEvent::Decision {
            transaction_id: "t".into(),
            session_id: None,
            policy: "p".into(),
            block_index: 0,
            verdict: "block".into(),
            status: "ok".into(),
            score: Some(0.9),
            at_ms: 1,
        },
        ActivityEvent::ApprovalRequested {
            approval_id: "a".into(),
            transaction_id: "t".into(),
            session_id: None,
            policy: "p".into(),
            tool_name: Some("Bash".into()),
            summary: "run it".into(),
            expires_at_ms: None,
            at_ms: 1,
        },
        ActivityEvent::ApprovalResolved {
            approval_id: "a".into(),
            transaction_id: "t".into(),
            session_id: None,
            outcome: "approved".into(),
            resolved_by: None,
            at_ms: 1,
        },
        ActivityEvent::PolicyChanged {
            class: "noop".into(),
            config: json!({}),
            activated_by: "admin".into(),
            at_ms: 1,
        },
    ];
    assert_eq!(events.len(), ActivityEvent::KIND_NAMES.len());
    for event in events {
        let env = Envelope {
            id: 1,
            instance: "i".into(),
            event,
        };
        assert_schema(
            &doc,
            "ActivityEnvelope",
            &serde_json::to_value(env).unwrap(),
        );
    }
}
