//! Server side of the API keys: format, encryption at rest, storage and the in-memory ring.

pub mod format;
pub mod ring;
pub mod sealing;
pub mod store;

use ring::KeyRing;
use sealing::Sealer;

/// The master key's cipher and the ring of live keys, shared by server functions and the REST API.
#[derive(Debug)]
pub struct ApiKeys {
    pub sealer: Sealer,
    pub ring: KeyRing,
}

impl ApiKeys {
    pub fn new(sealer: Sealer) -> Self {
        Self {
            sealer,
            ring: KeyRing::default(),
        }
    }
}
