//! The two-person rule's pending changes. While Customer Lockbox's **Approvals required** is 2,
//! a change that would let one Admin act as two (the policy turned off or down to one
//! approval, **Lockbox approver** granted, an approver's password reset) does not apply at
//! once: it waits here until a *second* Lockbox approver confirms it with their password.
//!
//! This module only keeps the changes; the Customer Lockbox tab lists them and applies a
//! confirmed one (`lockbox::ssr::confirm_change`). Users and Lockbox both propose through it,
//! and it imports neither.

#[cfg(feature = "ssr")]
pub mod ssr;

use serde::{Deserialize, Serialize};

/// A change waiting for a second approver, as the Customer Lockbox tab lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingChange {
    pub id: i64,
    /// What it does, in a sentence ("Turn Customer Lockbox off").
    pub summary: String,
    pub proposed_by: String,
    pub proposed_at: i64,
    /// Proposed by the caller, who therefore cannot confirm it.
    pub mine: bool,
}
