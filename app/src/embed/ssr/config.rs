//! The embed settings from the server's configuration, a leaf of the house: the server
//! context holds them without importing the embed feature.

use std::sync::Arc;

/// Settings from the server's configuration.
#[derive(Clone, Debug)]
pub struct EmbedConfig {
    /// `GATEHOUSE_FRAME_ANCESTORS`, when set: the allow-list, instead of the card's.
    pub fixed_origins: Option<Arc<[String]>>,
    /// How long an embed session lasts (at most 15 minutes).
    pub session_seconds: i64,
}
