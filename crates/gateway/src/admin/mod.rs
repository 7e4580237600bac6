//! Admin authentication: the admin key, and the guard in front of the admin, history and
//! activity APIs and the web UI.

mod key;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::Credential;

pub use key::AdminKey;

/// The authenticated operator of an admin request; the guard puts it in the request's extensions.
#[derive(Debug, Clone, Default)]
pub struct Operator {
    /// The CSRF token of the operator's browser session; `None` when the request carried the
    /// admin key itself (API clients need no CSRF token). Pages embed it for their forms.
    pub csrf_token: Option<String>,
}

/// Middleware: the admin key as `Authorization: Bearer` or `x-api-key`, else 401.
pub async fn require(State(key): State<AdminKey>, req: Request, next: Next) -> Response {
    let ok = match Credential::from_headers(req.headers()) {
        Some(Credential::ApiKey(k)) | Some(Credential::Bearer(k)) => key.matches(&k),
        None => false,
    };
    if ok {
        let mut req = req;
        req.extensions_mut().insert(Operator { csrf_token: None });
        next.run(req).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({"error": {"type": "authentication_error",
                "message": "this endpoint needs the admin key (ADMIN_API_KEY) as Authorization: Bearer or x-api-key"}})),
        )
            .into_response()
    }
}
