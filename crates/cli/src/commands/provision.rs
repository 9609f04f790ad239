//! `node-factory provision`: write a registration's identity into sdkconfig files.

use std::path::PathBuf;

use bench::provision::{ProvisionRequest, TokenSource, provision};
use clap::Args;
use factory_core::{NodeId, OtaToken};

use crate::GlobalArgs;
use crate::failure::Failure;

#[derive(Args)]
pub struct ProvisionArgs {
    /// The node ID of a registration minted earlier; unknown IDs are rejected.
    node_id: String,

    /// An sdkconfig file to patch; repeat for several.
    #[arg(long = "config", value_name = "FILE", required = true)]
    config_files: Vec<PathBuf>,

    /// The OTA token printed when the registration was minted.
    #[arg(
        long,
        value_name = "TOKEN",
        conflicts_with = "rotate_token",
        env = "NODE_FACTORY_OTA_TOKEN",
        hide_env_values = true
    )]
    ota_token: Option<String>,

    /// Mint a new OTA token (printed once); the old one stops working.
    #[arg(long)]
    rotate_token: bool,

    /// Issue a new download ID and move the firmware folder's files to it.
    #[arg(long)]
    rotate_download: bool,

    /// Leave the registration's status as it is.
    #[arg(long)]
    no_mark_provisioned: bool,
}

pub fn run(global: &GlobalArgs, args: &ProvisionArgs) -> Result<(), Failure> {
    let node_id: NodeId = args.node_id.parse().map_err(Failure::invalid)?;
    let token = match (&args.ota_token, args.rotate_token) {
        (Some(text), _) => TokenSource::Provided(
            OtaToken::parse(text).or_else(|_| OtaToken::from_legacy(text)).map_err(Failure::invalid)?,
        ),
        (None, true) => TokenSource::Rotate,
        (None, false) => TokenSource::Legacy,
    };
    let registry = global.open_registry(crate::RegistryAccess::Existing)?;
    let settings = global.settings(registry.as_ref())?;

    let request = ProvisionRequest {
        node_id,
        config_files: args.config_files.clone(),
        token,
        rotate_download_id: args.rotate_download,
        mark_provisioned: !args.no_mark_provisioned,
    };
    let outcome = provision(registry.as_ref(), &settings, &request)?;

    if outcome.used_legacy_token {
        eprintln!(
            "warning: used the legacy plaintext token stored for {} and erased it from the registry; keep it and pass it with --ota-token from now on",
            outcome.registration.node_id
        );
    }
    for warning in &outcome.warnings {
        eprintln!("warning: {warning}");
    }
    for path in &outcome.patched_files {
        eprintln!("patched {}", path.display());
    }
    if let Some(previous) = &outcome.previous_download_id {
        eprintln!("download ID rotated from {previous}; the old manifest URL no longer works");
    }
    print!(
        "{}",
        super::show::describe(
            &outcome.registration,
            &outcome.manifest_url,
            outcome.firmware_folder.as_deref()
        )
    );
    if let Some(token) = &outcome.new_token {
        println!("{:<17}{}", "new OTA token:", token.expose_secret());
        eprintln!("the new OTA token is shown only this once; store it securely");
    }
    Ok(())
}
