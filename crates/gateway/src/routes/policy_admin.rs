//! The active policy's lifecycle: where it comes from at start (`POLICY_SOURCE`), activating a
//! new one at run time (validated, persisted, applied here and announced on the activity bus),
//! and applying activations announced by other instances.
//!
//! Only `GET /api/admin/policy/current` and `POST /api/admin/policy/set` live here; the rest of
//! the admin API belongs with the admin UI.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use policy::registry::{self, PolicyEnv, PolicySpec};
use policy::{Policy, PolicyError};
use serde_json::{json, Value};
use store::{PolicyActivation, Store};

use super::openapi as doc;
use crate::activity::{ActivityBus, ActivityEvent, Delivery};
use crate::app::App;
use crate::config::{PolicySource, Settings};
use crate::error::GatewayError;
use crate::recording::now_ms;

/// The policy to start with, per `POLICY_SOURCE`; a policy taken from the file is persisted.
pub async fn initial(
    settings: &Settings,
    store: &Store,
    env: &PolicyEnv,
) -> Result<Arc<dyn Policy>, GatewayError> {
    let from_file =
        |path: &std::path::Path| -> Result<(Arc<dyn Policy>, PolicySpec), GatewayError> {
            let bad = |e: PolicyError| {
                GatewayError::Misconfigured(format!("POLICY_CONFIG {}: {e}", path.display()))
            };
            let (spec, _) = registry::read_file(path).map_err(bad)?;
            let policy = registry::load_file(path, env).map_err(bad)?;
            Ok((policy, spec))
        };
    let from_db = || async {
        match store.current_policy().await {
            Ok(Some(a)) => {
                let spec = PolicySpec {
                    class: a.class.clone(),
                    config: a.config.clone(),
                };
                registry::build(&spec, env).map(Some).map_err(|e| {
                    GatewayError::Misconfigured(format!(
                        "the database's current policy ({}): {e}",
                        a.class
                    ))
                })
            }
            Ok(None) => Ok(None),
            Err(e) => Err(GatewayError::Misconfigured(format!(
                "cannot read the current policy from the database: {e}"
            ))),
        }
    };
    let file = settings.policy_config.as_deref();
    let noop = || -> Arc<dyn Policy> { Arc::new(policy::builtin::noop::NoopPolicy) };
    let chosen = match (settings.policy_source, file) {
        (PolicySource::File, None) => {
            return Err(GatewayError::Misconfigured(
                "POLICY_SOURCE=file needs POLICY_CONFIG".into(),
            ))
        }
        (PolicySource::File | PolicySource::FileFallbackDb, Some(path)) => {
            let (policy, spec) = from_file(path)?;
            persist(store, &spec, "startup:file").await;
            policy
        }
        (PolicySource::Db, _) => from_db().await?.ok_or_else(|| {
            GatewayError::Misconfigured(
                "POLICY_SOURCE=db but the database has no current policy".into(),
            )
        })?,
        (PolicySource::DbFallbackFile, file) => match from_db().await? {
            Some(p) => p,
            None => match file {
                Some(path) => {
                    let (policy, spec) = from_file(path)?;
                    persist(store, &spec, "startup:file").await;
                    policy
                }
                None => noop(),
            },
        },
        (PolicySource::FileFallbackDb, None) => from_db().await?.unwrap_or_else(noop),
    };
    Ok(chosen)
}

async fn persist(store: &Store, spec: &PolicySpec, by: &str) {
    let activation = PolicyActivation {
        id: uuid::Uuid::now_v7().to_string(),
        class: spec.class.clone(),
        config: spec.config.clone(),
        activated_at_ms: now_ms(),
        activated_by: by.to_owned(),
    };
    if let Err(e) = store.record_policy_activation(&activation).await {
        tracing::error!(error = %e, "could not persist the policy activation; it applies until restart");
    }
}

/// Applies activations other instances announce, within a bus round trip.
pub fn follow_remote_changes(app: &Arc<App>) {
    let app = Arc::clone(app);
    let mut sub = app.recording.bus.subscribe();
    let own = app.recording.bus.instance_id().to_owned();
    tokio::spawn(async move {
        loop {
            match sub.recv().await {
                Some(Delivery::Event(env)) if env.instance != own => {
                    if let ActivityEvent::PolicyChanged {
                        class,
                        config,
                        activated_by,
                        ..
                    } = env.event
                    {
                        let spec = PolicySpec { class, config };
                        match registry::build(&spec, &app.policy_env) {
                            Ok(p) => {
                                tracing::info!(by = %activated_by, instance = %env.instance, "applying a policy set on another instance");
                                app.set_policy(p);
                            }
                            Err(e) => {
                                tracing::error!(error = %e, "a policy set on another instance does not build here")
                            }
                        }
                    }
                }
                Some(_) => {}
                None => {
                    // Lagged or closed: resubscribe so later changes still apply.
                    sub = app.recording.bus.subscribe();
                }
            }
        }
    });
}

/// `GET /api/admin/policy/current`.
#[utoipa::path(
    get,
    path = "/api/admin/policy/current",
    tag = "admin",
    operation_id = "get_current_policy",
    summary = "The active policy",
    responses(
        (status = 200, description = "The active policy and its activation (`activated_by: \
            default` when none was ever activated).", body = doc::ActivePolicy),
        (status = 503, description = "The store is unavailable; the active policy's name is still given.",
            body = doc::CurrentPolicyUnavailable),
    ),
)]
pub async fn current(State(app): State<Arc<App>>) -> Response {
    let name = app.policy().name();
    match app.store.current_policy().await {
        Ok(Some(a)) => axum::Json(json!({"name": name, "class": a.class, "config": a.config,
            "activated_at_ms": a.activated_at_ms, "activated_by": a.activated_by}))
        .into_response(),
        Ok(None) => axum::Json(
            json!({"name": name, "class": name, "config": {}, "activated_at_ms": null,
            "activated_by": "default"}),
        )
        .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"error": {"type": "api_error",
            "message": format!("the store is unavailable: {e}")}, "name": name})),
        )
            .into_response(),
    }
}

/// `POST /api/admin/policy/set` with `{class, config, activated_by?}`: validated (422 naming
/// each bad field, nothing changed), persisted, applied here and on every instance.
#[utoipa::path(
    post,
    path = "/api/admin/policy/set",
    tag = "admin",
    operation_id = "set_policy",
    summary = "Activate a policy",
    description = "Validated (422 naming each bad field; nothing changes), persisted, applied on \
        this instance and, through the activity bus, on every other.",
    request_body = doc::PolicySetRequest,
    responses(
        (status = 200, description = "The policy is active.", body = doc::ActivePolicy),
        (status = 422, description = "The body is not JSON, names no known class, or the \
            configuration is invalid; `errors` names each field.", body = doc::PolicyConfigError),
        (status = 503, description = "The activation could not be persisted; nothing changed.", body = doc::ApiError),
    ),
)]
pub async fn set(State(app): State<Arc<App>>, body: axum::body::Bytes) -> Response {
    let unprocessable = |errors: Vec<Value>, message: String| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({"error": {"type": "invalid_request_error",
            "message": message, "errors": errors}})),
        )
            .into_response()
    };
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return unprocessable(vec![], format!("invalid JSON: {e}")),
    };
    let spec: PolicySpec = match registry::parse_config(&v) {
        Ok(s) => s,
        Err(e) => return unprocessable(vec![field_error(&e)], e.to_string()),
    };
    let who = v
        .get("activated_by")
        .and_then(Value::as_str)
        .unwrap_or("admin")
        .to_owned();
    let policy = match registry::build(&spec, &app.policy_env) {
        Ok(p) => p,
        Err(e) => return unprocessable(vec![field_error(&e)], e.to_string()),
    };
    let activation = PolicyActivation {
        id: uuid::Uuid::now_v7().to_string(),
        class: spec.class.clone(),
        config: spec.config.clone(),
        activated_at_ms: now_ms(),
        activated_by: who.clone(),
    };
    if let Err(e) = app.store.record_policy_activation(&activation).await {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"error": {"type": "api_error",
            "message": format!("the policy was not changed: it could not be persisted ({e})")}})),
        )
            .into_response();
    }
    let name = policy.name();
    app.set_policy(policy);
    announce(&app.recording.bus, &spec, &who);
    axum::Json(
        json!({"name": name, "class": spec.class, "config": spec.config,
        "activated_at_ms": activation.activated_at_ms, "activated_by": who}),
    )
    .into_response()
}

fn announce(bus: &ActivityBus, spec: &PolicySpec, who: &str) {
    bus.publish(ActivityEvent::PolicyChanged {
        class: spec.class.clone(),
        config: spec.config.clone(),
        activated_by: who.to_owned(),
        at_ms: now_ms(),
    });
}

fn field_error(e: &PolicyError) -> Value {
    match e {
        PolicyError::Config {
            field,
            message,
            line,
        } => json!({"field": field, "message": message, "line": line}),
        PolicyError::UnknownClass(c) => {
            json!({"field": "class", "message": format!("unknown policy class {c:?}")})
        }
        other => json!({"field": null, "message": other.to_string()}),
    }
}

/// `GET /api/admin/policy/list`: every policy with its description, config schema and example.
#[utoipa::path(
    get,
    path = "/api/admin/policy/list",
    tag = "admin",
    operation_id = "list_policies",
    summary = "The built-in policies, with config schemas and examples",
    responses((status = 200, description = "Every policy.", body = doc::PolicyList)),
)]
pub async fn list() -> Response {
    axum::Json(json!({"policies": registry::list()})).into_response()
}

/// `POST /api/admin/policy/validate` with `{class, config}`: the errors `set` would give, changing nothing.
#[utoipa::path(
    post,
    path = "/api/admin/policy/validate",
    tag = "admin",
    operation_id = "validate_policy",
    summary = "Check a policy without activating it",
    description = "Always 200: `valid` says whether `set` would accept the policy, and `errors` \
        names each bad field as `set`'s 422 would.",
    request_body = doc::PolicySpec,
    responses((status = 200, description = "The verdict.", body = doc::PolicyValidation)),
)]
pub async fn validate(State(app): State<Arc<App>>, body: axum::body::Bytes) -> Response {
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return axum::Json(json!({"valid": false, "errors": [{"field": null, "message": format!("invalid JSON: {e}")}]})).into_response(),
    };
    let result = registry::parse_config::<PolicySpec>(&v)
        .and_then(|spec| registry::build(&spec, &app.policy_env));
    match result {
        Ok(p) => axum::Json(json!({"valid": true, "name": p.name(), "errors": []})).into_response(),
        Err(e) => axum::Json(json!({"valid": false, "errors": [field_error(&e)]})).into_response(),
    }
}

/// `GET /api/admin/policy/history`: activations, newest first.
#[utoipa::path(
    get,
    path = "/api/admin/policy/history",
    tag = "admin",
    operation_id = "get_policy_history",
    summary = "Policy activations, newest first (the last 100)",
    responses(
        (status = 200, description = "The activations.", body = doc::PolicyHistory),
        (status = 503, description = "The store is unavailable.", body = doc::ApiError),
    ),
)]
pub async fn history(State(app): State<Arc<App>>) -> Response {
    match app.store.policy_history(100).await {
        Ok(items) => axum::Json(json!({"activations": items})).into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"error": {"type": "api_error",
            "message": format!("the store is unavailable: {e}")}})),
        )
            .into_response(),
    }
}
