//! `node-factory flash`: flash a board for a registration, verify it and record the result.

use std::path::PathBuf;

use bench::flash::{FlashJobError, FlashRequest, flash_and_record};
use clap::{Args, ValueEnum};
use factory_core::NodeId;
use flasher::{ElfImage, FlashOptions, FlashPlan, PortInfo, ResetMode};

use crate::GlobalArgs;
use crate::failure::Failure;
use crate::progress::FlashProgress;

#[derive(Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["build_dir", "elf", "image"])))]
pub struct FlashArgs {
    /// The node ID of the registration the board gets.
    node_id: String,

    /// The serial port of the board, such as /dev/ttyUSB0 (see `node-factory ports`).
    #[arg(long)]
    port: String,

    /// An ESP-IDF build folder with flasher_args.json (or a project folder containing build/).
    #[arg(long, value_name = "DIR")]
    build_dir: Option<PathBuf>,

    /// An application ELF; the bootloader and partition table come from espflash.
    #[arg(long, value_name = "FILE")]
    elf: Option<PathBuf>,

    /// An image to write at an address, such as 0x10000:app.bin; repeat for several.
    #[arg(long, value_name = "ADDRESS:FILE")]
    image: Vec<String>,

    /// Erase the whole flash first, for a brand-new board.
    #[arg(long)]
    erase_all: bool,

    /// Baud rate to switch to after connecting; the connection starts at 115200.
    #[arg(long, value_name = "BAUD", value_parser = clap::value_parser!(u32).range(9600..=3_000_000))]
    baud: Option<u32>,

    /// Skip the MD5 check of each region after writing.
    #[arg(long)]
    no_verify: bool,

    /// Write through the ROM loader without uploading the flasher stub (slower, no erase).
    #[arg(long)]
    no_stub: bool,

    /// How to put the board in download mode: auto (DTR/RTS) or none (already in download
    /// mode, or a simulated board).
    #[arg(long, value_enum, default_value_t = ResetArg::Auto)]
    reset: ResetArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum ResetArg {
    Auto,
    None,
}

pub fn run(global: &GlobalArgs, args: &FlashArgs) -> Result<(), Failure> {
    let node_id: NodeId = args.node_id.parse().map_err(Failure::invalid)?;
    let plan = plan_from(args)?;
    let options = FlashOptions {
        reset: match args.reset {
            ResetArg::Auto => ResetMode::Auto,
            ResetArg::None => ResetMode::None,
        },
        baud: args.baud,
        erase_all: args.erase_all,
        verify: !args.no_verify,
        use_stub: !args.no_stub,
        ..FlashOptions::default()
    };
    let registry = global.open_registry(crate::RegistryAccess::Existing)?;
    let request = FlashRequest { node_id, port: PortInfo::explicit(&args.port), plan, options };

    let mut progress = FlashProgress::new();
    let result = flash_and_record(registry.as_ref(), request, &mut |event| progress.show(event));
    progress.finish();

    let success = result.map_err(|error| failure_from(error, args))?;
    let report = &success.report;
    println!("node ID:      {}", success.registration.node_id);
    println!("status:       {}", success.registration.status());
    println!("chip:         {} {}", report.chip.display_name(), report.revision.as_deref().unwrap_or(""));
    println!("MAC:          {}", report.mac);
    println!("flash size:   {} MB", report.flash_size / (1024 * 1024));
    for region in &report.regions {
        let state = if region.skipped { "unchanged, skipped" } else { "written" };
        println!(
            "region:       {:#08x} {:>9} bytes  sha256 {}  {state}",
            region.offset, region.size, region.sha256
        );
    }
    Ok(())
}

fn plan_from(args: &FlashArgs) -> Result<FlashPlan, Failure> {
    if let Some(folder) = &args.build_dir {
        return FlashPlan::from_build_folder(folder).map_err(Failure::invalid);
    }
    if let Some(path) = &args.elf {
        return Ok(FlashPlan::from_elf(ElfImage {
            path: path.clone(),
            bootloader: None,
            partition_table: None,
        }));
    }
    FlashPlan::from_region_args(&args.image).map_err(Failure::invalid)
}

fn failure_from(error: FlashJobError, args: &FlashArgs) -> Failure {
    let invalid_input = match &error {
        FlashJobError::Flash { record, .. } => record.is_none(),
        FlashJobError::Registry(error) => {
            error.code() == "registration_not_found" || error.code() == "invalid_input"
        }
        _ => false,
    };

    let mut details: Vec<String> = error.hint().map(|hint| format!("hint: {hint}")).into_iter().collect();
    let on_pseudo_terminal = args.port.starts_with("/dev/pts/") && matches!(args.reset, ResetArg::Auto);
    if error.code() == "not_in_download_mode" && on_pseudo_terminal {
        details.push(
            "hint: this port is a pseudo-terminal, such as a simulated board's, which has no reset lines; pass --reset none"
                .to_owned(),
        );
    }
    if let FlashJobError::Flash { record: None, .. } = &error {
        details.push("nothing reached the board, so the attempt was not recorded".to_owned());
    }
    Failure::with_details(error.to_string(), invalid_input, details)
}
