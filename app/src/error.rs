//! The application's one error type, shared by the browser and the server.
//!
//! Server functions return `Result<T, AppError>`; the server maps each variant to an HTTP status
//! once (`status()`), and only the `Display` text ever reaches a client: internal causes are logged
//! on the server and replaced by [`AppError::Internal`].

use crate::wire::JsonText;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What a caller refused for load (429, 503) is told to wait, in seconds (`Retry-After`).
pub const RETRY_AFTER_SECS: &str = "5";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Sign in to continue.")]
    Unauthorized,
    #[error("You do not have permission to do this.")]
    Forbidden,
    /// Forbidden, with the reason the caller needs to understand it.
    #[error("{0}")]
    NotPermitted(String),
    #[error("Not found.")]
    NotFound,
    /// The thing changed under the caller (a request decided by someone else a moment ago).
    #[error("{0}")]
    Conflict(String),
    /// The request itself is malformed (bad encoding, missing arguments).
    #[error("{0}")]
    BadRequest(String),
    /// A well-formed request with a value that breaks a rule; `field` names the form field.
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// Something that existed and is no longer usable (an expired or used invitation).
    #[error("{0}")]
    Gone(String),
    /// A system Gatehouse depends on (the linked Key Vault, a connection's target) failed;
    /// the message says which and why, without a secret.
    #[error("{0}")]
    Upstream(String),
    #[error("Too many attempts. Wait a moment and try again.")]
    TooManyRequests,
    /// Every slot for expensive work (password hashing) stayed taken for a while.
    #[error("Too many sign-ins at once. Try again in a few seconds.")]
    Busy,
    /// The database cannot be reached (restarting, failing over, the network): nothing was
    /// written, and the same request will work once it is back.
    #[error(
        "The database cannot be reached right now. Nothing was changed; try again in a moment."
    )]
    Unavailable,
    #[error("Something went wrong on our side. Try again later.")]
    Internal,
}

impl AppError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The message to show next to form field `name`, when this error is about that field.
    pub fn for_field(&self, name: &str) -> Option<String> {
        match self {
            Self::Invalid { field, message } if field == name => Some(message.clone()),
            _ => None,
        }
    }

    /// The message to show above a form: every error that no field of `fields` shows.
    pub fn for_form(&self, fields: &[&str]) -> Option<String> {
        match self {
            Self::Invalid { field, .. } if fields.contains(&field.as_str()) => None,
            other => Some(other.to_string()),
        }
    }

    /// The HTTP status this error is sent with; the one place where errors meet statuses.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthorized => 401,
            Self::Forbidden | Self::NotPermitted(_) => 403,
            Self::NotFound => 404,
            Self::Conflict(_) => 409,
            Self::BadRequest(_) => 400,
            Self::Gone(_) => 410,
            Self::Invalid { .. } => 422,
            Self::TooManyRequests => 429,
            Self::Upstream(_) => 502,
            Self::Busy | Self::Unavailable => 503,
            Self::Internal => 500,
        }
    }
}

impl FromServerFnError for AppError {
    // Read as text, like every answer: one deserializer for hydration and calls (`wire`).
    type Encoder = JsonText;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // The caller sent something the function cannot decode: their mistake, said plainly.
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                Self::BadRequest("The request was malformed.".into())
            }
            // Everything else is a transport or server fault; the detail stays in the log.
            other => {
                #[cfg(feature = "ssr")]
                tracing::error!(error = %other, "server function failure");
                #[cfg(not(feature = "ssr"))]
                let _ = other;
                Self::Internal
            }
        }
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::AppError;
    use axum::{
        Json,
        http::StatusCode,
        response::{IntoResponse, Response},
    };

    impl AppError {
        /// Logs an internal failure and returns the opaque error that is safe to send.
        pub fn internal(cause: impl std::fmt::Display) -> Self {
            tracing::error!(error = %cause, "internal error");
            Self::Internal
        }
    }

    impl From<sqlx::Error> for AppError {
        fn from(e: sqlx::Error) -> Self {
            if unreachable(&e) {
                tracing::warn!(error = %e, "the database cannot be reached");
                return Self::Unavailable;
            }
            Self::internal(e)
        }
    }

    /// Whether `e` says that the database is out of reach rather than that a statement failed:
    /// no connection to be had, a connection lost, or a server shutting down or starting.
    fn unreachable(e: &sqlx::Error) -> bool {
        match e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => true,
            // SQLSTATE class 08 (connection exception) and 57P01–57P03 (admin shutdown, crash
            // shutdown, cannot connect now).
            sqlx::Error::Database(db) => db
                .code()
                .is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03")),
            _ => false,
        }
    }

    impl From<tower_sessions::session::Error> for AppError {
        fn from(e: tower_sessions::session::Error) -> Self {
            Self::internal(e)
        }
    }

    impl IntoResponse for AppError {
        fn into_response(self) -> Response {
            let status =
                StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = (
                status,
                Json(serde_json::json!({ "error": self.to_string() })),
            )
                .into_response();
            if matches!(self, Self::TooManyRequests | Self::Busy | Self::Unavailable) {
                response.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from_static(super::RETRY_AFTER_SECS),
                );
            }
            response
        }
    }
}
