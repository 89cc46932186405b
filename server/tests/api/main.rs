//! Black-box tests: each starts the real server on port 0 with a fresh database (SQLite, or
//! PostgreSQL with `GATEHOUSE_TEST_POSTGRES`; the tests of several servers always PostgreSQL).

mod api_keys;
mod audit_chain;
mod audit_stream;
mod authorization;
mod bootstrap;
mod connections;
mod cross_site;
mod embed;
mod fake_azure;
mod headers;
mod helpers;
mod key_vault;
mod key_vault_azure;
mod limits;
mod lockbox;
mod oidc_provider;
mod openbao;
mod operations;
mod proxies;
mod scim;
mod sessions;
mod several_servers;
mod sign_in;
mod smtp_server;
mod sso;
mod users;
