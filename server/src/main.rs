use clap::Parser;
use gatehouse::{
    Application,
    config::{Cli, Command},
    telemetry, users,
};
use leptos::config::get_configuration;
use secrecy::SecretString;
use std::{io::Read, process::ExitCode};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.config.log_format);
    let outcome = match &cli.command {
        None => serve(&cli).await,
        Some(Command::AddUser(args)) => {
            let mut password = String::new();
            if let Err(e) = std::io::stdin().read_to_string(&mut password) {
                tracing::error!(error = %e, "could not read the password from standard input");
                return ExitCode::FAILURE;
            }
            let password = SecretString::from(password.trim_end_matches(['\r', '\n']).to_owned());
            users::add_user(&cli.config, args, password).await.map(drop)
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "Gatehouse stopped with an error");
            ExitCode::FAILURE
        }
    }
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
