use clap::Parser;
use gatehouse::{
    Application,
    config::{AuditCommand, Cli, Command},
    ops, telemetry, users,
};
use leptos::config::get_configuration;
use secrecy::SecretString;
use std::{io::Read, process::ExitCode};

/// glibc raises its mmap threshold after the first large block is freed; from then on argon2's
/// 19 MiB blocks come from malloc arenas that keep them, and a sign-in flood from 200 addresses
/// grew the process to about 500 MB although only one hash per core runs at a time. A fixed
/// threshold keeps such blocks in their own mappings, returned to the system when freed (65 MB
/// under the same flood). See `scripts/fault-suite.sh`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_large_blocks_returnable() {
    // SAFETY: mallopt only sets an allocator parameter; it runs before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_large_blocks_returnable() {}

fn main() -> ExitCode {
    keep_large_blocks_returnable();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("Gatehouse could not start its runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.config.log_format);
    let outcome = match &cli.command {
        None => serve(&cli).await,
        Some(Command::AddUser(args)) => match read_password() {
            Some(password) => users::add_user(&cli.config, args, password).await.map(drop),
            None => return ExitCode::FAILURE,
        },
        Some(Command::ResetPassword(args)) => match read_password() {
            Some(password) => users::reset_password(&cli.config, &args.email, password).await,
            None => return ExitCode::FAILURE,
        },
        Some(Command::Backup(args)) => ops::backup(&cli.config, &args.to, args.force)
            .await
            .map(|done| println!("{done}")),
        Some(Command::CopyData(args)) => {
            let from = args.from.as_deref().unwrap_or(&cli.config.database_url);
            ops::copy_data(from, &args.to)
                .await
                .map(|done| println!("{done}"))
        }
        Some(Command::RotateMasterKey(args)) => {
            match ops::new_key(args.new_master_key.as_ref(), args.new_key_file.as_deref()) {
                Ok(new) => ops::rotate_master_key(&cli.config, new)
                    .await
                    .map(|done| println!("{done}")),
                Err(e) => Err(e),
            }
        }
        Some(Command::Audit(AuditCommand::Checkpoint)) => ops::checkpoint(&cli.config)
            .await
            .map(|c| println!("{}", serde_json::to_string(&c).unwrap_or_default())),
        Some(Command::Audit(AuditCommand::Verify { checkpoint })) => {
            match ops::verify_audit(&cli.config, checkpoint.as_deref()).await {
                Ok(verdict) => {
                    println!("{verdict}");
                    return match verdict {
                        app::audit::ChainVerdict::Intact { .. } => ExitCode::SUCCESS,
                        app::audit::ChainVerdict::Broken { .. } => ExitCode::FAILURE,
                    };
                }
                Err(e) => Err(e),
            }
        }
        Some(Command::Status(args)) => ops::status(&cli.config).await.map(|status| {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&status).unwrap_or_default()
                );
            } else {
                println!("{status}");
            }
        }),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "Gatehouse stopped with an error");
            ExitCode::FAILURE
        }
    }
}

/// A password from standard input (never from the command line, where other users of the
/// machine could read it), without its final line break.
fn read_password() -> Option<SecretString> {
    let mut password = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut password) {
        tracing::error!(error = %e, "could not read the password from standard input");
        return None;
    }
    Some(SecretString::from(
        password.trim_end_matches(['\r', '\n']).to_owned(),
    ))
}

async fn serve(cli: &Cli) -> Result<(), gatehouse::error::StartupError> {
    // cargo-leptos compiles the site's file names in; the environment may override the rest.
    let mut leptos_options = get_configuration(None)
        .map_err(|e| gatehouse::error::StartupError::Config(e.to_string()))?
        .leptos_options;
    // The build names the bundle's files by their hashes (`hash-files`); the binary remembers
    // that, so it also serves the right names when started on its own rather than by cargo-leptos.
    if std::env::var_os("LEPTOS_HASH_FILES").is_none() {
        leptos_options.hash_files = option_env!("LEPTOS_HASH_FILES") == Some("true");
    }
    Application::build(&cli.config, leptos_options)
        .await?
        .run_until(shutdown_signal())
        .await
}

/// Resolves on Ctrl-C or SIGTERM (what service managers send).
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
