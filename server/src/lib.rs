//! The Gatehouse server: configuration, database, sessions, security layers, and the Leptos app.

pub mod api;
mod audit;
pub mod auth;
pub mod config;
mod db;
mod embed;
pub mod error;
pub mod http;
pub mod master_key;
pub mod ops;
pub mod scim;
pub mod telemetry;
pub mod users;

use crate::{
    auth::LoginThrottle,
    config::Config,
    error::StartupError,
    http::headers::{CspNonce, HeaderPolicy},
};
use app::db::Pool;
use app::{
    api_keys::ssr::{ApiKeys, sealing::Sealer, store as key_store},
    audit::chain::AuditKey,
    auth::ssr::SessionPolicy,
    context::AppContext,
    key_vault::{
        runtime::{KeyVaultSettings, VaultRuntime},
        ssr as key_vault,
    },
    lockbox::{settings::LockboxSettings, ssr as lockbox},
};
use axum::{
    Json, Router,
    extract::{FromRef, State},
    http::{Request, StatusCode},
    middleware,
    response::IntoResponse,
    routing::{get, post},
};
use leptos::{config::LeptosOptions, prelude::provide_context};
use leptos_axum::{LeptosRoutes, generate_route_list};
use std::{future::Future, sync::Arc, time::Duration};
use tokio::{net::TcpListener, task::JoinHandle};
use tower_http::{
    compression::CompressionLayer,
    limit::RequestBodyLimitLayer,
    timeout::TimeoutLayer,
    trace::{DefaultOnResponse, TraceLayer},
};
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};
use tracing::Level;

/// Bodies above this are refused with 413 before any handler reads them.
const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    /// Days the audit log keeps an entry.
    pub audit_retention_days: i64,
    pub ctx: AppContext,
    pub api_throttle: auth::FailedKeyThrottle,
    /// Whether cookies are `Secure` (and `__Host-` named).
    pub secure_cookies: bool,
}

/// A server bound to its port and ready to serve.
pub struct Application {
    /// The lock every running server holds shared (see `master_key::hold_shared`).
    _running: Option<std::fs::File>,
    /// Its PostgreSQL counterpart: a connection holding an advisory lock shared.
    _running_on_postgres: Option<sqlx::PgConnection>,
    listener: TcpListener,
    router: Router,
    limits: http::serve::ServeLimits,
    pool: Pool,
    api_keys: Arc<ApiKeys>,
    /// Housekeeping, the key ring's refresh and the Key Vault's check.
    background: Vec<JoinHandle<()>>,
}

impl Application {
    /// Connects and migrates the database, creates the first admin if needed, and binds.
    pub async fn build(
        config: &Config,
        leptos_options: LeptosOptions,
    ) -> Result<Self, StartupError> {
        http::assets::remember_stylesheet(&leptos_options);
        // Settings first: a malformed one stops the start before anything else happens.
        let header_policy = HeaderPolicy::new(
            config.secure_cookies,
            &http::assets::route_path(&leptos_options),
        );
        let fixed_origins = config
            .frame_ancestors
            .as_deref()
            .map(http::headers::parse_frame_ancestors)
            .transpose()
            .map_err(StartupError::Config)?;
        let proxies = http::proxies::TrustedProxies::parse(&config.trusted_proxies)
            .map_err(StartupError::Config)?;
        let syslog = config
            .audit_syslog
            .as_deref()
            .map(|raw| {
                app::audit::stream::SyslogTarget::parse(raw, config.audit_syslog_ca.as_deref())
            })
            .transpose()
            .map_err(StartupError::Config)?;
        // Before the database: a master-key rotation in progress finishes first.
        let running = master_key::hold_shared(&config.database_url)?;
        let running_on_postgres = master_key::hold_shared_on_postgres(&config.database_url).await?;
        let (pool, master, store) = open_database(config).await?;
        app::auth::ssr::warm_up();
        let api_keys = Arc::new(ApiKeys::new(Sealer::new(&master)));
        key_store::reload(&api_keys, &pool).await?;

        // Bound before the single sign-on settings: their redirect URI defaults to this address.
        let listener = TcpListener::bind(&config.addr).await?;
        let (sso, redirect_uri) = config
            .sso_settings(listener.local_addr()?)
            .map_err(StartupError::Config)?;
        let sso = app::sso::ssr::Sso::new(sso, redirect_uri, config.allow_loopback_targets)
            .map_err(|e| StartupError::Config(format!("the single sign-on HTTP client: {e}")))?;

        let vault = VaultRuntime::new(KeyVaultSettings {
            check_every: Duration::from_secs(config.key_vault_check_seconds),
            request_timeout: Duration::from_secs(config.key_vault_timeout_seconds),
            secret_cache: Duration::from_secs(config.key_vault_cache_seconds),
            allow_loopback: config.allow_loopback_targets,
        })
        .map_err(|e| StartupError::Config(format!("the Key Vault HTTP client: {e}")))?;

        let state = AppState {
            leptos_options,
            audit_retention_days: config.audit_retention_days,
            ctx: AppContext {
                pool: pool.clone(),
                sessions: SessionPolicy {
                    idle: Duration::from_secs(config.session_idle_minutes * 60),
                    absolute: Duration::from_secs(config.session_absolute_hours * 3600),
                },
                api_keys,
                lockbox: LockboxSettings {
                    request_expiry_secs: config.lockbox_request_expiry_seconds,
                    access_period_secs: config.lockbox_access_period_seconds,
                },
                key_vault: Arc::new(vault),
                embed: app::embed::ssr::EmbedConfig {
                    fixed_origins: fixed_origins.map(Into::into),
                    session_seconds: config.embed_session_seconds,
                },
                principals: Arc::default(),
                password_throttle: LoginThrottle::per_minute(config.login_attempts_per_minute),
                singleton: Arc::new(app::db::Singleton::new(&pool)),
                sso: Arc::new(sso),
            },
            api_throttle: auth::FailedKeyThrottle::per_minute(config.api_failures_per_minute),
            secure_cookies: config.secure_cookies,
        };
        let background = background(&state, &store, &config.database_url, syslog);
        let api_keys = state.ctx.api_keys.clone();
        let router = router(state, store, config, &header_policy, proxies);
        Ok(Self {
            _running: running,
            _running_on_postgres: running_on_postgres,
            listener,
            router,
            limits: http::serve::ServeLimits {
                header_timeout: Duration::from_secs(config.header_timeout_seconds),
                max_connections: usize::try_from(config.max_connections).unwrap_or(usize::MAX),
                drain_timeout: Duration::from_secs(config.request_timeout_seconds),
            },
            pool,
            api_keys,
            background,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    pub fn pool(&self) -> Pool {
        self.pool.clone()
    }

    /// Serves until `shutdown` resolves, then finishes the requests in flight.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        tracing::info!(addr = %self.listener.local_addr()?, "Gatehouse is listening");
        http::serve::serve(self.listener, self.router, self.limits, shutdown).await?;
        for task in &self.background {
            task.abort();
        }
        if let Err(e) = key_store::flush_usage(&self.api_keys, &self.pool).await {
            tracing::warn!(error = %e, "could not write the last API key usage");
        }
        self.pool.close().await;
        tracing::info!("Gatehouse stopped");
        Ok(())
    }
}

/// A rotation that committed but was stopped before renaming its key file is finished here.
async fn finish_rotation(
    config: &Config,
    pool: &Pool,
) -> Result<Option<[u8; app::api_keys::ssr::sealing::MASTER_KEY_BYTES]>, StartupError> {
    let Some(pending) = master_key::current_pending(config)? else {
        return Ok(None);
    };
    if !key_store::check_master_key(pool, &Sealer::new(&pending)).await? {
        return Ok(None);
    }
    master_key::finish_rotation(config, |_| true)
}

/// Opens and migrates the database; an empty one gets its first administrator.
pub async fn prepare_database(config: &Config) -> Result<Pool, StartupError> {
    Ok(open_database(config).await?.0)
}

/// Opens and migrates the database with its master key (checked against the database, and
/// generated on the very first start); entries of the audit log from before its chain are
/// chained; an empty database gets its first administrator.
async fn open_database(
    config: &Config,
) -> Result<
    (
        Pool,
        [u8; app::api_keys::ssr::sealing::MASTER_KEY_BYTES],
        db::Sessions,
    ),
    StartupError,
> {
    let mut master = master_key::load(config)?;
    let mut pool = db::connect(&config.database_url, Some(AuditKey::derive(&master))).await?;
    if !key_store::check_master_key(&pool, &Sealer::new(&master)).await? {
        match finish_rotation(config, &pool).await? {
            Some(key) => {
                pool.close().await;
                master = key;
                pool = db::connect(&config.database_url, Some(AuditKey::derive(&master))).await?;
            }
            None => {
                return Err(StartupError::Config(
                    "the master key is not the one this database was set up with, so its API keys \
                     cannot be decrypted: restore the original GATEHOUSE_MASTER_KEY or gatehouse.key"
                        .into(),
                ));
            }
        }
    }
    // The session table is created with the rest of the schema, before anything else reads it:
    // a schema change while other connections held the older one made their statements fail
    // now and then with "no such table" (seen once `principals` got a third trigger).
    let sessions = db::Sessions::open(&config.database_url).await?;
    sessions.migrate().await?;
    let mut tx = app::db::begin_write(&pool).await?;
    let chained = app::audit::chain::chain_unchained_here(&mut tx).await?;
    tx.commit().await?;
    if chained > 0 {
        tracing::info!(entries = chained, "chained the audit log's earlier entries");
    }
    auth::bootstrap::ensure_admin(
        &pool,
        &config.bootstrap_admin_email,
        config.bootstrap_admin_password.as_ref(),
    )
    .await?;
    Ok((pool, master, sessions))
}

/// How often the key ring is read again from the database.
const KEY_REFRESH_EVERY: Duration = Duration::from_secs(1);

/// Other server processes on the same database change keys too, and a reload after a local
/// change may have failed: the ring is read again every second, so a revoked, regenerated or
/// disabled key stops working on every process within about a second (plus the query's time).
async fn refresh_keys(ctx: AppContext) {
    let mut tick = tokio::time::interval(KEY_REFRESH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = key_store::reload(&ctx.api_keys, &ctx.pool).await {
            tracing::warn!(error = %e, "could not refresh the API key ring");
        }
    }
}

/// Background upkeep: API key usage is written and expired Lockbox requests are swept every
/// few seconds (batched, off the request path); expired sessions and keys past their grace
/// period are deleted, the search index merged a step and old principal changes pruned, once
/// a minute.
async fn housekeeping(store: db::Sessions, state: AppState) {
    use tower_sessions::session_store::ExpiredDeletion;
    const USAGE_EVERY: Duration = Duration::from_secs(5);
    const CLEANUP_EVERY_TICKS: u32 = 12;
    // A signed checkpoint of the audit chain's head every 15 minutes (see `audit::chain`).
    const CHECKPOINT_EVERY_TICKS: u32 = 180;
    let (pool, keys) = (&state.ctx.pool, &state.ctx.api_keys);
    let mut tick = tokio::time::interval(USAGE_EVERY);
    for n in 0u32.. {
        tick.tick().await;
        if let Err(e) = key_store::flush_usage(keys, pool).await {
            tracing::warn!(error = %e, "could not write API key usage");
        }
        // The rest is the database's, done by one server of those on it.
        if !state.ctx.singleton.holds().await {
            continue;
        }
        // Reads judge Lockbox requests by the clock already; this writes the outcome down
        // (history, audit) within one tick of the deadline.
        if let Err(e) = lockbox::sweep(pool).await {
            tracing::warn!(error = %e, "could not sweep Lockbox requests");
        }
        if n % CHECKPOINT_EVERY_TICKS == 0 && n > 0 {
            let taken = match app::db::begin_write(pool).await {
                Ok(mut tx) => match app::audit::chain::checkpoint_if_moved(&mut tx).await {
                    Ok(taken) => tx.commit().await.map(|()| taken).map_err(Into::into),
                    Err(e) => Err(e),
                },
                Err(e) => Err(e.into()),
            };
            if let Err(e) = taken {
                tracing::warn!(error = %e, "could not record an audit checkpoint");
            }
        }
        if n % CLEANUP_EVERY_TICKS != 0 {
            continue;
        }
        if let Err(e) = store.delete_expired().await {
            tracing::warn!(error = %e, "could not delete expired sessions");
        }
        match key_store::delete_expired(pool).await {
            Ok(true) => {
                if let Err(e) = key_store::reload(keys, pool).await {
                    tracing::warn!(error = %e, "could not reload API keys");
                }
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "could not delete expired API keys"),
        }
        match app::audit::ssr::prune(pool, state.audit_retention_days).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "pruned the audit log"),
            Err(e) => tracing::warn!(error = %e, "could not prune the audit log"),
        }
        if let Err(e) = app::embed::ssr::prune(pool).await {
            tracing::warn!(error = %e, "could not delete expired embed sessions");
        }
        if let Err(e) = app::users::ssr::index::prune(pool).await {
            tracing::warn!(error = %e, "could not prune the principals' change log");
        }
        if let Err(e) = app::auth::throttle::LoginThrottle::prune(pool).await {
            tracing::warn!(error = %e, "could not prune the password attempts");
        }
        if let Err(e) = app::sso::ssr::prune(pool).await {
            tracing::warn!(error = %e, "could not prune the answered single sign-ons");
        }
        state.api_throttle.forget_idle();
    }
}

/// How often the principals index is brought up to date (every list query does it too).
const PRINCIPALS_EVERY: Duration = Duration::from_secs(5);

/// The Users list's search index: loaded at start (seconds at a million principals; a list
/// query meanwhile waits for it), then kept up to date, so that a query seldom has more than a
/// few changes to apply; read again when it fell far behind.
async fn keep_principals(ctx: AppContext) {
    let mut tick = tokio::time::interval(PRINCIPALS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let updated = match ctx.pool.acquire().await {
            Ok(mut conn) => ctx.principals.update(&mut conn).await,
            Err(e) => Err(e.into()),
        };
        if let Err(e) = updated {
            tracing::warn!(error = %e, "could not update the principals index");
        }
    }
}

/// The server's background work: housekeeping, the key ring's refresh, the principals index,
/// the Key Vault's check, following other servers' changes (PostgreSQL) and audit streaming.
fn background(
    state: &AppState,
    store: &db::Sessions,
    database_url: &str,
    syslog: Option<app::audit::stream::SyslogTarget>,
) -> Vec<JoinHandle<()>> {
    let mut background = vec![
        tokio::spawn(housekeeping(store.clone(), state.clone())),
        tokio::spawn(refresh_keys(state.ctx.clone())),
        tokio::spawn(keep_principals(state.ctx.clone())),
        tokio::spawn(key_vault::watch(state.ctx.clone())),
    ];
    if app::db::Backend::of(&state.ctx.pool) == app::db::Backend::Postgres {
        background.push(tokio::spawn(db::follow_changes(
            database_url.to_owned(),
            state.ctx.clone(),
        )));
    }
    if let Some(target) = syslog {
        // The syslog HOSTNAME field: this machine's name, as the kernel knows it.
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_default();
        background.push(tokio::spawn(app::audit::stream::run(
            state.ctx.pool.clone(),
            app::audit::stream::Syslog::new(target, hostname),
            state.ctx.singleton.clone(),
        )));
    }
    // The webhook destination is chosen on the card; its sender waits until then.
    background.push(tokio::spawn(app::audit::stream::run(
        state.ctx.pool.clone(),
        app::audit::webhook::Webhook::new(state.ctx.clone()),
        state.ctx.singleton.clone(),
    )));
    background
}

fn router(
    state: AppState,
    store: db::Sessions,
    config: &Config,
    header_policy: &HeaderPolicy,
    proxies: http::proxies::TrustedProxies,
) -> Router {
    let header_policy = header_policy.clone();
    let identify = middleware::from_fn_with_state(state.clone(), auth::caller::identify);
    // The REST API and SCIM (credentials in a header), the health check and the static bundle
    // use no cookies: neither sessions, the cross-site check nor on-the-fly compression stand
    // on their path.
    Router::new()
        .route("/healthz", get(healthz))
        .merge(api::router().route_layer(identify.clone()))
        .merge(scim::router(&state).route_layer(identify))
        .merge(http::assets::router(&state.leptos_options))
        .route("/embed.js", get(embed::script))
        .merge(pages(&state, store, config.secure_cookies))
        .layer(middleware::from_fn_with_state(
            state.ctx.pool.clone(),
            http::database_down::answer_503_while_down,
        ))
        // A whole request, body included, within the limit (slow uploads, stuck handlers).
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(config.request_timeout_seconds),
        ))
        .layer(middleware::from_fn_with_state(
            (header_policy, state.ctx.clone()),
            http::headers::security_headers,
        ))
        // Whatever made a redirect, it stays on this origin.
        .layer(middleware::from_fn(
            http::same_origin_redirects::keep_redirects_local,
        ))
        // Outermost but for tracing: every layer and handler sees the resolved client.
        .layer(middleware::from_fn_with_state(
            proxies,
            http::proxies::resolve_client,
        ))
        .layer(
            TraceLayer::new_for_http()
                // The path only: query strings may carry tokens.
                .make_span_with(|req: &Request<_>| {
                    tracing::info_span!("request", method = %req.method(), path = req.uri().path())
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

/// The cookie side: the pages and server functions, sign-in and sign-out, single sign-on's
/// routes, the embed token exchange and the audit export, behind sessions and the cross-site
/// check.
fn pages(state: &AppState, store: db::Sessions, secure_cookies: bool) -> Router<AppState> {
    // The __Host- prefix pins a Secure cookie to this host and path (no Domain, Path=/).
    let cookie_name = if secure_cookies {
        "__Host-gatehouse"
    } else {
        "gatehouse"
    };
    let sessions = SessionManagerLayer::new(store)
        .with_name(cookie_name)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure_cookies)
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(
            state.ctx.sessions.idle.as_secs() as i64,
        )));
    let routes = generate_route_list(app::App);
    let leptos_context = {
        let ctx = state.ctx.clone();
        move || {
            provide_context(ctx.clone());
            // Leptos marks its inline scripts with this nonce; the CSP header allows just it.
            if let Some(nonce) = leptos::prelude::use_context::<axum::http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<CspNonce>().cloned())
            {
                provide_context(leptos::nonce::Nonce::from_value(nonce.0));
            }
        }
    };

    // Who calls, worked out once per request (as for the REST API and SCIM in `router`).
    let identify = middleware::from_fn_with_state(state.clone(), auth::caller::identify);
    Router::new()
        .leptos_routes_with_context(state, routes, leptos_context.clone(), {
            let options = state.leptos_options.clone();
            move || app::shell(options.clone())
        })
        // Only the pages (and server functions) above, not the routes below; the innermost
        // runs last.
        .route_layer(middleware::from_fn_with_state(
            state.ctx.clone(),
            auth::page_facts,
        ))
        .route_layer(identify.clone())
        .route_layer(middleware::from_fn_with_state(
            state.ctx.clone(),
            auth::exchange_invitation,
        ))
        .route("/auth/login", post(auth::login))
        .route(app::sso::START_PATH, post(auth::sso::start))
        .route(app::sso::CALLBACK_PATH, get(auth::sso::callback))
        // The embedded page's token exchange: same-origin from the frame, no cookie involved.
        .route(app::embed::ssr::EXCHANGE_PATH, post(embed::exchange))
        // GET /logout is the app's page that asks (a Sign out button posting here).
        .route("/logout", post(auth::logout).route_layer(identify.clone()))
        .route(
            app::audit::EXPORT_PATH,
            get(audit::export).route_layer(identify.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(leptos_context, app::shell))
        .layer(middleware::from_fn(
            http::server_fn_status::apply_error_status,
        ))
        // Inside the sessions layer: it keeps a form error in the session for its page.
        .layer(middleware::from_fn(http::error_flash::only_own_errors))
        .layer(sessions)
        .layer(middleware::from_fn_with_state(
            http::cross_site::CsrfPolicy {
                session_cookie: cookie_name.into(),
            },
            http::cross_site::refuse_cross_site,
        ))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        // Pages compress well; the API's small JSON is not worth the work, and the bundle comes
        // precompressed.
        .layer(CompressionLayer::new())
}

/// Liveness and readiness: the process answers and the database does too.
async fn healthz(State(ctx): State<AppContext>) -> impl IntoResponse {
    if http::database_down::reachable(&ctx.pool).await {
        (StatusCode::OK, Json(serde_json::json!({ "status": "ok" })))
    } else {
        tracing::error!("health check failed: the database does not answer");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "unavailable" })),
        )
    }
}
