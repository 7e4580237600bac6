//! The web UI: server-rendered pages over the store, the activity stream and the policy
//! registry. Templates are askama (compiled with the crate, every expression HTML-escaped);
//! the one stylesheet and the page scripts are embedded in the binary, so a build needs no Node
//! step. Pages carry a strict Content-Security-Policy: no inline script, style or handler, and
//! scripts build the DOM from data with `textContent`, never by parsing it as HTML.
//!
//! Two routers: [`public_router`] (the login page and the assets) needs no sign-in;
//! [`pages_router`] (everything else) goes behind the page guard, which inserts the
//! [`Operator`](crate::admin::Operator) whose CSRF token every page embeds for its forms.

mod activity;
mod assets;
mod calendar;
mod conversation;
mod diff;
mod history;
mod landing;
mod layout;
mod login;
mod policies;
mod security;
mod transaction;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;

use crate::app::App;

pub use security::CONTENT_SECURITY_POLICY;

/// The pages anyone may load: `GET /login` and `GET /assets/{name}`.
pub fn public_router() -> Router<Arc<App>> {
    Router::new()
        .route("/login", get(login::page))
        .route("/assets/{name}", get(assets::serve))
        .route_layer(axum::middleware::map_response(security::headers))
}

/// The pages behind sign-in: landing, activity, transaction, history, session and policies.
pub fn pages_router() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(landing::page))
        .route("/activity", get(activity::page))
        .route("/transactions/{id}", get(transaction::page))
        .route("/history", get(history::list))
        .route("/history/{id}", get(history::session))
        .route("/policies", get(policies::page))
        .route_layer(axum::middleware::map_response(security::headers))
}
