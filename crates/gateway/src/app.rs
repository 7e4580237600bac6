//! The application: shared state, the router, and the server loop with graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use policy::registry::PolicyEnv;
use policy::Policy;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::Router;

use crate::config::{RoutingConfig, Settings};
use crate::error::GatewayError;
use crate::headers;
use crate::routes::{history, models, policy_admin, proxy, service};
use crate::upstream::UpstreamClient;

/// State shared by every request.
pub struct App {
    /// The effective settings.
    pub settings: Settings,
    /// Providers and model routes.
    pub routing: Arc<RoutingConfig>,
    /// The pooled upstream client.
    pub upstream: UpstreamClient,
    /// The active policy; swapped whole, so a request keeps the policy it started with.
    policy: RwLock<Arc<dyn Policy>>,
    /// What policies are built with (the judge's model client).
    pub policy_env: PolicyEnv,
    /// The history store.
    pub store: store::Store,
    /// The recorder queue and the activity bus.
    pub recording: crate::recording::Recording,
    /// The admin key, browser sessions and login limits guarding the admin APIs and the UI.
    pub admin: crate::admin::AdminAuth,
}

impl App {
    /// Builds the state from settings, reading the routing file and opening the store.
    pub async fn new(settings: Settings) -> Result<Self, GatewayError> {
        settings.validate().map_err(GatewayError::Misconfigured)?;
        let routing = RoutingConfig::load(&settings).map_err(GatewayError::Misconfigured)?;
        Self::with_routing(settings, routing).await
    }

    /// Builds the state with an explicit routing configuration.
    pub async fn with_routing(
        settings: Settings,
        routing: RoutingConfig,
    ) -> Result<Self, GatewayError> {
        let url = settings.database_url();
        if url.starts_with("sqlite://") {
            // The default database lives in the data dir, which may not exist yet.
            let _ = std::fs::create_dir_all(settings.data_dir());
        }
        let store = store::Store::connect(&url).await.map_err(|e| {
            GatewayError::Misconfigured(format!(
                "cannot open the database {}: {e}",
                crate::config::settings::mask_url(&url)
            ))
        })?;
        let recorder = store::Recorder::spawn(store.clone(), store::RecorderConfig::default());
        let bus = match &settings.redis_url {
            Some(url) => crate::activity::ActivityBus::redis(url)
                .map_err(|e| GatewayError::Misconfigured(format!("REDIS_URL: {e}")))?,
            None => crate::activity::ActivityBus::in_process(),
        };
        let admin_key = crate::admin::AdminKey::resolve(
            settings.admin_api_key.as_deref(),
            &settings.data_dir(),
        )
        .map_err(|e| {
            GatewayError::Misconfigured(format!("cannot store the generated admin key: {e}"))
        })?;
        if settings.admin_localhost_bypass {
            tracing::warn!(
                "ADMIN_LOCALHOST_BYPASS is on: every local process, the supervised agent included, \
                 can use the admin API and change the policy without the key"
            );
        }
        let admin = crate::admin::AdminAuth::new(
            admin_key,
            store.clone(),
            std::time::Duration::from_secs(u64::from(settings.admin_session_hours) * 3600),
            settings.login_attempts_per_minute,
            settings.admin_localhost_bypass,
        );
        let recording = crate::recording::Recording { recorder, bus };
        if let Some(days) = settings.retention_days {
            crate::retention::spawn(store.clone(), days, crate::retention::SWEEP_INTERVAL);
        }
        let upstream = UpstreamClient::new(settings.timeouts())?;
        let routing = Arc::new(routing);
        let judge = crate::judge::GatewayJudge::new(Arc::clone(&routing), upstream.clone());
        let policy_env = PolicyEnv {
            judge: Some(Arc::new(judge)),
        };
        let policy = crate::routes::policy_admin::initial(&settings, &store, &policy_env).await?;
        tracing::info!(policy = %policy.name(), "active policy");
        Ok(Self {
            settings,
            routing,
            upstream,
            policy: RwLock::new(policy),
            policy_env,
            store,
            recording,
            admin,
        })
    }

    /// Where `model` goes, or a 400 naming the routes when no provider serves it.
    pub fn target<'a>(
        &'a self,
        model: &'a str,
    ) -> Result<crate::config::routing::Target<'a>, GatewayError> {
        self.routing.resolve(model).ok_or_else(|| {
            GatewayError::UnknownModel(format!(
                "no provider serves model {model:?}; routes in order: {}",
                self.routing.patterns().join(", ")
            ))
        })
    }

    /// The active policy.
    pub fn policy(&self) -> Arc<dyn Policy> {
        match self.policy.read() {
            Ok(p) => Arc::clone(&p),
            // A writer panicked mid-swap; the Arc inside is still whole.
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Makes `policy` the active one; requests already running keep theirs.
    pub fn set_policy(&self, policy: Arc<dyn Policy>) {
        tracing::info!(policy = %policy.name(), "policy activated");
        match self.policy.write() {
            Ok(mut p) => *p = policy,
            Err(poisoned) => *poisoned.into_inner() = policy,
        }
    }
}

/// The gateway's router.
pub fn router(app: Arc<App>) -> Router {
    let admin = axum::middleware::from_fn_with_state(app.admin.clone(), crate::admin::require);
    let login = Router::new()
        .route("/login", post(crate::admin::login::login))
        .route("/logout", post(crate::admin::login::logout))
        .with_state(app.admin.clone());
    let history = Router::new()
        .route("/api/history/sessions", get(history::sessions))
        .route("/api/history/sessions/{id}", get(history::session))
        .route("/api/history/sessions/{id}/export", get(history::export))
        .route("/api/history/transactions/{id}", get(history::transaction))
        .route("/api/history/transactions/{id}/diff", get(history::diff))
        .route("/api/history/stats", get(history::stats))
        .route("/api/admin/policy/current", get(policy_admin::current))
        .route("/api/admin/policy/set", post(policy_admin::set))
        .route("/api/admin/policy/validate", post(policy_admin::validate))
        .route("/api/admin/policy/list", get(policy_admin::list))
        .route("/api/admin/policy/history", get(policy_admin::history))
        .route("/api/admin/system-status", get(service::ready))
        .route("/api/admin/session", get(crate::admin::login::session_info))
        .route_layer(admin.clone());
    let page_guard =
        axum::middleware::from_fn_with_state(app.admin.clone(), crate::admin::require_page);
    let ui = Router::new()
        .merge(crate::ui::public_router())
        .merge(crate::ui::pages_router().route_layer(page_guard));
    let activity = crate::activity::router(app.recording.bus.clone()).route_layer(admin);
    Router::new()
        .route("/v1/messages", post(proxy::messages))
        .route("/v1/messages/count_tokens", post(models::count_tokens))
        .route("/v1/chat/completions", post(proxy::chat_completions))
        .route("/v1/responses", post(proxy::responses))
        .route("/v1/models", get(models::list))
        .route("/health", get(service::health))
        .route("/ready", get(service::ready))
        .route("/api/hello", get(service::hello).head(service::hello))
        // Public like /health: the document describes the API and holds no secrets.
        .route("/api/openapi.json", get(crate::routes::openapi::document))
        .merge(history)
        .merge(ui)
        .fallback(service::not_found)
        // Bodies are read with our own limit so the 413 is in the client's format.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::map_response(transaction_id))
        .with_state(app)
        .merge(activity)
        .merge(login)
}

/// Every response carries `x-luthien-transaction-id`; proxied ones already set theirs.
async fn transaction_id(mut resp: axum::response::Response) -> axum::response::Response {
    if !resp.headers().contains_key("x-luthien-transaction-id") {
        headers::insert(
            resp.headers_mut(),
            "x-luthien-transaction-id",
            &uuid::Uuid::now_v7().to_string(),
        );
    }
    resp
}

/// A bound, not yet serving, gateway: lets callers learn the port before serving.
pub struct Server {
    listener: tokio::net::TcpListener,
    app: Arc<App>,
}

impl Server {
    /// Binds `addr` (port 0 picks a free port).
    pub async fn bind(app: App, addr: SocketAddr) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let app = Arc::new(app);
        policy_admin::follow_remote_changes(&app);
        Ok(Self { listener, app })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The application state (for tests and embedding).
    pub fn app(&self) -> Arc<App> {
        Arc::clone(&self.app)
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests and flushes the recorder.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = Arc::clone(&self.app);
        // Without TCP_NODELAY, Nagle's algorithm holds each small SSE frame until the client's
        // delayed ACK (~40 ms): every stream would take that long at least.
        let listener = self.listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "could not set TCP_NODELAY on a client connection");
            }
        });
        // The peer address keys login rate limits and the opt-in localhost bypass.
        let service = router(self.app).into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(listener, service)
            .with_graceful_shutdown(shutdown)
            .await;
        app.recording.recorder.clone().shutdown().await;
        served
    }
}
