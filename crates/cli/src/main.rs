//! `node-factory`: the command line of Node Factory.
//!
//! Records go to stdout; logs, progress and errors go to stderr. The exit status is 0 on
//! success, 2 for invalid input and 1 for every other failure.

mod commands;
mod failure;
mod progress;
mod server_commands;
mod table;

use std::path::PathBuf;
use std::process::ExitCode;

use bench::BenchSettings;
use clap::{Args, Parser, Subcommand};
use registry::{Registry, SqliteRegistry};

use crate::failure::Failure;

#[derive(Parser)]
#[command(name = "node-factory", version, about = "Mint, provision and flash UltraLights nodes")]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,

    #[command(subcommand)]
    command: Command,
}

/// Options every command shares.
#[derive(Args)]
struct GlobalArgs {
    /// The registry: a SQLite file path, or a registry server's http:// or https:// URL with the
    /// operator token in NODE_FACTORY_TOKEN. Default: registry.sqlite3 in the platform data folder.
    #[arg(long, global = true, env = "NODE_FACTORY_REGISTRY", value_name = "PATH_OR_URL")]
    registry: Option<PathBuf>,

    /// The folder holding one <download ID>/ folder of OTA images per node.
    #[arg(long, global = true, env = "FIRMWARE_DIR", value_name = "DIR")]
    firmware_dir: Option<PathBuf>,

    /// The base URL nodes download firmware from; manifest URLs start with it.
    #[arg(long, global = true, env = "NODE_FACTORY_PUBLIC_URL", value_name = "URL")]
    public_url: Option<String>,

    /// Log more on stderr: -v for milestones, -vv for detail such as each registry server
    /// request and the serial protocol.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

#[derive(Subcommand)]
enum Command {
    /// Mint new registrations and print them with their OTA tokens (shown only this once).
    Generate(commands::generate::GenerateArgs),
    /// List registrations.
    List(commands::list::ListArgs),
    /// Show one registration.
    Show(commands::show::ShowArgs),
    /// Write a registration's identity into sdkconfig files.
    Provision(commands::provision::ProvisionArgs),
    /// List the serial ports that may carry a board.
    Ports(commands::ports::PortsArgs),
    /// Flash a board for a registration, verify it and record the result.
    Flash(commands::flash::FlashArgs),
    /// Serve a simulated ESP board on a pseudo-terminal, to try flashing without hardware.
    SimBoard(commands::sim_board::SimBoardArgs),
    /// Run the registry server on the --registry file until Ctrl-C or SIGTERM.
    Serve(server_commands::ServeArgs),
    /// Manage the registry server's operator API tokens in the --registry file.
    Operators(server_commands::OperatorsArgs),
    /// Show the audit log of changes, newest first.
    Audit(server_commands::AuditArgs),
}

/// Whether a command may create the registry file when it does not exist yet.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RegistryAccess {
    /// Minting and serving start a new registry when there is none.
    CreateIfMissing,
    /// Every other command needs registrations, so a missing file is a mistyped path.
    Existing,
}

impl GlobalArgs {
    fn open_registry(&self, access: RegistryAccess) -> Result<Box<dyn Registry>, Failure> {
        let path = self.registry.clone().unwrap_or_else(bench::default_registry_path);
        if let Some(url) = path.to_str().filter(|text| server_commands::is_server_url(text)) {
            let Some(token) = server_commands::operator_token_from_env()? else {
                return Err(Failure::invalid(format!(
                    "set {} to your operator token to use the registry server at {url}; an admin creates one with `node-factory operators add NAME --role ROLE` on the server",
                    server_commands::TOKEN_VARIABLE
                )));
            };
            return Ok(registry::open_registry(url, Some(token))?);
        }
        let registry = match access {
            RegistryAccess::CreateIfMissing => SqliteRegistry::open(&path)?,
            RegistryAccess::Existing => SqliteRegistry::open_existing(&path)?,
        };
        Ok(Box::new(registry))
    }

    /// Returns the workflow settings for `registry`. A registry server is the authority on the
    /// public URL, so a different `--public-url` is rejected rather than written into
    /// firmware that would then download from the wrong place.
    fn settings(&self, registry: &dyn Registry) -> Result<BenchSettings, Failure> {
        let mut settings = BenchSettings::default();
        if let Some(dir) = &self.firmware_dir {
            settings.firmware_dir = dir.clone();
        }
        let given = match &self.public_url {
            Some(url) => Some(factory_core::validate_public_url(url).map_err(Failure::invalid)?),
            None => None,
        };
        match (registry.server_info()?, given) {
            (Some(server), Some(given)) if given != server.public_url => Err(Failure::invalid(format!(
                "--public-url (or NODE_FACTORY_PUBLIC_URL) is {given}, but the registry server's public URL is {}, and nodes download from the server; leave the option out, or restart the server with --public-url {given}",
                server.public_url
            ))),
            (Some(server), _) => {
                settings.public_url = server.public_url;
                Ok(settings)
            }
            (None, given) => {
                if let Some(url) = given {
                    settings.public_url = url;
                }
                Ok(settings)
            }
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.global.verbose);

    let result = match &cli.command {
        Command::Generate(args) => commands::generate::run(&cli.global, args),
        Command::List(args) => commands::list::run(&cli.global, args),
        Command::Show(args) => commands::show::run(&cli.global, args),
        Command::Provision(args) => commands::provision::run(&cli.global, args),
        Command::Ports(args) => commands::ports::run(args),
        Command::Flash(args) => commands::flash::run(&cli.global, args),
        Command::SimBoard(args) => commands::sim_board::run(args),
        Command::Serve(args) => server_commands::serve(&cli.global, args),
        Command::Operators(args) => server_commands::operators(&cli.global, args),
        Command::Audit(args) => server_commands::audit(&cli.global, args),
    };

    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

fn init_logging(verbose: u8) {
    // Failures reach the operator as one error line, so the default level leaves out the
    // warning that libraries log for the same failure.
    let default_level = match verbose {
        0 => "error",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("NODE_FACTORY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}
