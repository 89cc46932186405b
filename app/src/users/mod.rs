//! Users: who may use the environment, and with which role.

mod email;
mod panel;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use email::Email;
pub use panel::UsersPanel;
