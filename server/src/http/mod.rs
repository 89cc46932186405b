//! Cross-cutting HTTP layers.

pub mod assets;
pub mod cross_site;
pub mod database_down;
pub mod error_flash;
pub mod headers;
pub mod plain_page;
pub mod proxies;
pub mod same_origin_redirects;
pub mod serve;
pub mod server_fn_status;
