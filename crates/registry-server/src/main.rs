//! The `registry-server` binary: runs the server, or manages its operators.

use clap::{Parser, Subcommand};
use registry_server::ServeConfig;
use registry_server::cli::{DatabaseArg, OperatorsCommand, run_operators_command};

/// The Node Factory registry server.
#[derive(Debug, Parser)]
#[command(version)]
struct Arguments {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the registry API and OTA downloads until Ctrl-C or SIGTERM.
    Serve(ServeConfig),
    /// Manage operator API tokens.
    Operators {
        #[command(flatten)]
        database: DatabaseArg,
        #[command(subcommand)]
        command: OperatorsCommand,
    },
}

fn main() -> anyhow::Result<()> {
    // Logs go to stderr, so stdout carries only what the commands print (such as tokens).
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    match Arguments::parse().command {
        Command::Serve(config) => registry_server::serve(config),
        Command::Operators { database, command } => run_operators_command(
            &database.database,
            &command,
            &mut std::io::stdout(),
            &mut std::io::stderr(),
        ),
    }
}
