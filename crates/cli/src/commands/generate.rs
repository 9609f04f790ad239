//! `node-factory generate`: mint a batch of registrations.

use std::path::PathBuf;

use bench::export;
use clap::{Args, ValueEnum};
use factory_core::Chip;
use registry::NodeMetadata;

use crate::GlobalArgs;
use crate::failure::Failure;

#[derive(Args)]
pub struct GenerateArgs {
    /// How many registrations to mint.
    #[arg(value_parser = clap::value_parser!(u32).range(1..=i64::from(registry::MAX_MINT_COUNT)))]
    count: u32,

    /// The chip the nodes carry: esp32, esp32c3 or esp32s3.
    #[arg(long, value_parser = parse_chip)]
    target: Option<Chip>,

    /// A JSON file with one metadata object for every node, or a list of objects, one per node.
    #[arg(long, value_name = "FILE")]
    metadata_file: Option<PathBuf>,

    #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
    format: ExportFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    Json,
    Csv,
}

pub fn parse_chip(text: &str) -> Result<Chip, String> {
    text.parse().map_err(|error: factory_core::CoreError| error.to_string())
}

pub fn run(global: &GlobalArgs, args: &GenerateArgs) -> Result<(), Failure> {
    let metadata = match &args.metadata_file {
        Some(path) => bench::mint::load_metadata_file(path, args.count)?,
        None => NodeMetadata::None,
    };
    let registry = global.open_registry(crate::RegistryAccess::CreateIfMissing)?;

    let minted = bench::mint::mint(registry.as_ref(), args.count, args.target, metadata)?;

    let output = match args.format {
        ExportFormat::Json => export::to_json(&minted) + "\n",
        ExportFormat::Csv => export::to_csv(&minted),
    };
    print!("{output}");
    let noun = if minted.len() == 1 { "registration" } else { "registrations" };
    eprintln!(
        "minted {} {noun}; the OTA tokens are shown only this once, so store this output securely",
        minted.len()
    );
    Ok(())
}
