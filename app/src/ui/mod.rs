//! Small widgets shared by the tabs.

mod dialog;

pub use dialog::ConfirmDialog;
