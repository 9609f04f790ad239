//! The registry server commands: `serve`, `operators add|revoke|list` and `audit`.
//!
//! `serve` and `operators` work on the SQLite file that `--registry` names, so they need a
//! path; `audit` reads whichever registry `--registry` names, file or server.

use clap::Args;
use factory_core::{NodeId, OperatorToken};
use registry::{AuditQuery, MAX_AUDIT_LIMIT};
use registry_server::cli::{OperatorsCommand, run_operators_command};
use registry_server::{OperatorError, ServeConfig, ServerOptions};

use crate::GlobalArgs;
use crate::commands::format_time;
use crate::failure::Failure;
use crate::table;

/// The environment variable that contains the operator token for a registry server URL.
pub const TOKEN_VARIABLE: &str = "NODE_FACTORY_TOKEN";

#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    options: ServerOptions,
}

#[derive(Args)]
pub struct OperatorsArgs {
    #[command(subcommand)]
    command: OperatorsCommand,
}

#[derive(Args)]
pub struct AuditArgs {
    /// Only entries about this node ID.
    #[arg(long = "node", value_name = "NODE_ID")]
    node_id: Option<NodeId>,

    /// How many entries to show, newest first.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_AUDIT_LIMIT)))]
    limit: u32,
}

/// Reads the operator token for a registry server from `NODE_FACTORY_TOKEN`.
pub fn operator_token_from_env() -> Result<Option<OperatorToken>, Failure> {
    match std::env::var(TOKEN_VARIABLE) {
        Ok(text) if !text.trim().is_empty() => OperatorToken::parse(text.trim()).map(Some).map_err(|_| {
            let prefix = OperatorToken::PREFIX;
            let problem = if text.trim().starts_with(prefix) {
                format!("it starts with {prefix} but has the wrong length or characters")
            } else {
                format!("it does not start with {prefix}")
            };
            Failure::invalid(format!(
                "{TOKEN_VARIABLE} is not a valid operator token: {problem}; an operator token is {prefix} followed by 43 letters, digits, '-' or '_', so copy the whole token an admin gave you"
            ))
        }),
        _ => Ok(None),
    }
}

/// Returns whether `--registry` names a registry server rather than a file.
pub fn is_server_url(spec: &str) -> bool {
    spec.starts_with("http://") || spec.starts_with("https://")
}

/// Returns the SQLite file that `--registry` names, for the commands that work on the file
/// itself, and rejects a server URL.
fn registry_file(global: &GlobalArgs) -> Result<std::path::PathBuf, Failure> {
    let path = global.registry.clone().unwrap_or_else(bench::default_registry_path);
    if path.to_str().is_some_and(is_server_url) {
        return Err(Failure::invalid(format!(
            "--registry is the server URL {}; this command works on the server's SQLite file, so run it on the server with --registry set to that file (an admin can also use GET, POST and DELETE /api/v1/operators with an admin token)",
            path.display()
        )));
    }
    Ok(path)
}

/// Runs the server in the foreground until Ctrl-C or SIGTERM.
pub fn serve(global: &GlobalArgs, args: &ServeArgs) -> Result<(), Failure> {
    let config = ServeConfig {
        database: registry_file(global)?,
        firmware_dir: global.firmware_dir.clone(),
        public_url: global.public_url.clone(),
        options: args.options.clone(),
    };
    registry_server::serve(config).map_err(|error| Failure::other(format!("{error:#}")))
}

pub fn operators(global: &GlobalArgs, args: &OperatorsArgs) -> Result<(), Failure> {
    let database = registry_file(global)?;
    run_operators_command(&database, &args.command, &mut std::io::stdout(), &mut std::io::stderr()).map_err(
        |error| {
            let message = format!("{error:#}");
            match error.downcast_ref::<OperatorError>() {
                Some(
                    OperatorError::InvalidName { .. }
                    | OperatorError::NotFound { .. }
                    | OperatorError::NameTaken { .. },
                ) => Failure::invalid(message),
                _ => Failure::other(message),
            }
        },
    )
}

pub fn audit(global: &GlobalArgs, args: &AuditArgs) -> Result<(), Failure> {
    let registry = global.open_registry(crate::RegistryAccess::Existing)?;
    let query = AuditQuery { node_id: args.node_id.clone(), before_id: None, limit: args.limit };
    let entries = registry.audit_log(&query)?;

    let header = ["AT", "ACTOR", "ACTION", "NODE ID", "REQUEST ID", "DETAIL"];
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|entry| {
            vec![
                format_time(entry.at),
                entry.actor.clone(),
                entry.action.clone(),
                entry.node_id.as_ref().map(ToString::to_string).unwrap_or_default(),
                entry.request_id.clone().unwrap_or_default(),
                entry.detail.as_ref().map(ToString::to_string).unwrap_or_default(),
            ]
        })
        .collect();
    print!("{}", table::render(&header, &rows));
    Ok(())
}
