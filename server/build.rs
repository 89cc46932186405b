// `sqlx::migrate!` embeds the migration files at compile time: a new file must rebuild the server.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
