//! The audit log: who changed what, when (UTC), from where. Never a secret.

#[cfg(feature = "ssr")]
pub mod ssr;
