//! Command-line pieces for the server: the `operators` subcommands, shared by this crate's
//! binary and the `node-factory` command line.

use std::io::Write;
use std::path::PathBuf;

use crate::{Role, operators_add, operators_list, operators_revoke};

/// Manage operator API tokens directly on a registry file.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum OperatorsCommand {
    /// Add an operator and print its API token, which is shown only this once.
    Add {
        /// A name of letters, digits, '.', '_', '-' or '@', such as `alice` or `bench-3`.
        name: String,
        /// The operator's role: admin, technician or support.
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// Revoke an operator's token; it stops working at once.
    Revoke { name: String },
    /// List the active operators.
    List,
}

fn parse_role(text: &str) -> Result<Role, String> {
    text.parse()
}

/// The registry file the `operators` commands work on.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArg {
    /// The SQLite registry file of the server.
    #[arg(long, env = "NODE_FACTORY_DATABASE", value_name = "PATH")]
    pub database: PathBuf,
}

/// Runs an `operators` command, printing records (a new token, the list) to `out` and
/// messages for people to `messages`, so that `out` can be captured by a script.
pub fn run_operators_command(
    database: &std::path::Path,
    command: &OperatorsCommand,
    out: &mut dyn Write,
    messages: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        OperatorsCommand::Add { name, role } => {
            let token = operators_add(database, name, *role)?;
            writeln!(
                messages,
                "Added operator {name} with the {role} role. Its API token, on stdout, is shown only this once; store it now."
            )?;
            writeln!(out, "{}", token.expose_secret())?;
        }
        OperatorsCommand::Revoke { name } => {
            operators_revoke(database, name)?;
            writeln!(messages, "Revoked operator {name}.")?;
        }
        OperatorsCommand::List => {
            let operators = operators_list(database)?;
            if operators.is_empty() {
                writeln!(out, "No active operators.")?;
            }
            for operator in operators {
                writeln!(out, "{}\t{}\t{}", operator.name, operator.role, operator.created_at.to_rfc3339())?;
            }
        }
    }
    Ok(())
}
