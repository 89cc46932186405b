//! Collects a check's steps; once one fails, the rest are marked as not run.

use super::error::VaultError;
use crate::key_vault::{CheckStep, CheckStepKind, Outcome};

#[derive(Default)]
pub struct Steps(Vec<CheckStep>);

impl Steps {
    pub fn add(&mut self, kind: CheckStepKind, outcome: Outcome, reason: impl Into<String>) {
        self.0.push(CheckStep {
            kind,
            outcome,
            reason: reason.into(),
        });
    }

    pub fn pass(&mut self, kind: CheckStepKind, reason: impl Into<String>) {
        self.add(kind, Outcome::Pass, reason);
    }

    /// Records the failure and every later step as not run; returns the steps.
    pub fn fail(mut self, kind: CheckStepKind, error: &VaultError) -> Vec<CheckStep> {
        self.add(kind, Outcome::Fail, sentence(&error.to_string()));
        self.finish()
    }

    /// Fills in the steps that did not run.
    pub fn finish(mut self) -> Vec<CheckStep> {
        for kind in CheckStepKind::ALL.into_iter().skip(self.0.len()) {
            self.add(
                kind,
                Outcome::NotChecked,
                "Not run: an earlier step failed.",
            );
        }
        self.0
    }
}

/// "could not connect" → "Could not connect."
pub fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}
