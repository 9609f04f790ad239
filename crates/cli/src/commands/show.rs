//! `node-factory show`: one registration in detail.

use std::path::Path;

use clap::{Args, ValueEnum};
use factory_core::{NodeId, Registration, firmware_folder, manifest_url};
use serde_json::json;

use super::format_time;
use crate::GlobalArgs;
use crate::failure::Failure;

#[derive(Args)]
pub struct ShowArgs {
    /// The node ID of the registration.
    node_id: String,

    #[arg(long, value_enum, default_value_t = ShowFormat::Text)]
    format: ShowFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum ShowFormat {
    Text,
    Json,
}

pub fn run(global: &GlobalArgs, args: &ShowArgs) -> Result<(), Failure> {
    let node_id: NodeId = args.node_id.parse().map_err(Failure::invalid)?;
    let registry = global.open_registry(crate::RegistryAccess::Existing)?;
    let settings = global.settings(registry.as_ref())?;
    let is_local = registry.server_info()?.is_none();

    let registration = registry.get(&node_id)?;
    let history = registry.flash_history(&node_id)?;

    let url = manifest_url(&settings.public_url, &registration.download_id);
    // A registry server keeps the firmware folders, so no local folder applies.
    let folder = is_local.then(|| firmware_folder(&settings.firmware_dir, &registration.download_id));
    match args.format {
        ShowFormat::Text => {
            print!("{}", describe(&registration, &url, folder.as_deref()));
            for record in &history {
                let attempt = &record.attempt;
                println!(
                    "flash:           {} {} on {} ({}) mac {} {}",
                    format_time(attempt.attempted_at),
                    attempt.outcome.as_str(),
                    attempt.port,
                    attempt.bench_host,
                    attempt.mac.as_deref().unwrap_or("unknown"),
                    attempt.error_code.as_deref().unwrap_or(""),
                );
            }
        }
        ShowFormat::Json => {
            let value = json!({
                "registration": registration,
                "status": registration.status(),
                "manifest_url": url,
                "firmware_folder": folder,
                "flash_history": history,
            });
            println!("{}", serde_json::to_string_pretty(&value).expect("values always serialize"));
        }
    }
    Ok(())
}

/// Formats the lines that `show` and `provision` print about a registration. The firmware
/// folder line is left out when there is no local folder.
pub fn describe(registration: &Registration, manifest_url: &str, firmware_folder: Option<&Path>) -> String {
    let metadata = registration
        .hardware_metadata
        .as_ref()
        .map(|metadata| metadata.to_compact_json())
        .unwrap_or_else(|| "none".to_owned());
    let lines = [
        ("node ID", registration.node_id.to_string()),
        ("download ID", registration.download_id.to_string()),
        ("status", registration.status().to_string()),
        (
            "target chip",
            registration.target_chip.map(|chip| chip.to_string()).unwrap_or_else(|| "unspecified".to_owned()),
        ),
        (
            "assigned to",
            registration.assignment.as_ref().map(ToString::to_string).unwrap_or_else(|| "nobody".to_owned()),
        ),
        ("created at", format_time(registration.created_at)),
        (
            "provisioned at",
            registration.provisioned_at.map(format_time).unwrap_or_else(|| "never".to_owned()),
        ),
        ("metadata", metadata),
        ("firmware folder", firmware_folder.map(|folder| folder.display().to_string()).unwrap_or_default()),
        ("manifest URL", manifest_url.to_owned()),
    ];
    lines
        .iter()
        .filter(|(label, _)| *label != "firmware folder" || firmware_folder.is_some())
        .map(|(label, value)| format!("{:<17}{value}\n", format!("{label}:")))
        .collect()
}
