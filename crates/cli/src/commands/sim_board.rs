//! `node-factory sim-board`: serve a simulated board on a pseudo-terminal.

use clap::Args;
use rom_sim::{BoardConfig, Fault, SimBoard, SimChip};

use crate::failure::Failure;

#[derive(Args)]
pub struct SimBoardArgs {
    /// The chip the board carries: esp32, esp32c3 or esp32s3.
    #[arg(long)]
    chip: SimChip,

    /// Flash size: 2MB, 4MB, 8MB, 16MB or 32MB.
    #[arg(long, default_value = "4MB", value_parser = parse_flash_size)]
    flash_size: u32,

    /// The base MAC address in eFuse, such as 24:0a:c4:12:34:56. Default: one per chip.
    #[arg(long, value_parser = parse_mac)]
    mac: Option<[u8; 6]>,

    /// A fault to inject; repeat for several: silent, wrong-chip=CHIP, stall-after=N,
    /// error-on=COMMAND, corrupt-flash, no-flash, short-sync.
    #[arg(long = "fault", value_name = "KNOB")]
    faults: Vec<Fault>,

    /// Pace the wire at this baud rate, so transfers take as long as on a real link.
    #[arg(long, value_name = "BAUD")]
    pace_baud: Option<u32>,
}

pub fn run(args: &SimBoardArgs) -> Result<(), Failure> {
    let mut config = BoardConfig::new(args.chip);
    config.flash_size = args.flash_size;
    config.faults = args.faults.clone();
    config.pacing_baud = args.pace_baud;
    if let Some(mac) = args.mac {
        config.mac = mac;
    }

    let board = SimBoard::start(config).map_err(Failure::invalid)?;

    // The port path is the first stdout line, so scripts can read it and start flashing.
    println!("{}", board.port_path().display());
    eprintln!(
        "simulated {} board on {}; connect without reset (reset mode none); press Ctrl-C to stop",
        args.chip,
        board.port_path().display()
    );
    use std::io::Write;
    let _ = std::io::stdout().flush();

    loop {
        std::thread::park();
    }
}

fn parse_flash_size(text: &str) -> Result<u32, String> {
    let megabytes = text
        .trim()
        .strip_suffix("MB")
        .or_else(|| text.trim().strip_suffix("M"))
        .and_then(|number| number.parse::<u32>().ok())
        .filter(|number| [2, 4, 8, 16, 32].contains(number))
        .ok_or_else(|| format!("invalid flash size {text:?}: expected 2MB, 4MB, 8MB, 16MB or 32MB"))?;
    Ok(megabytes * 1024 * 1024)
}

fn parse_mac(text: &str) -> Result<[u8; 6], String> {
    let invalid =
        || format!("invalid MAC address {text:?}: expected six hex pairs such as 24:0a:c4:12:34:56");
    let bytes: Vec<u8> = text
        .split([':', '-'])
        .map(|pair| if pair.len() == 2 { u8::from_str_radix(pair, 16).ok() } else { None })
        .collect::<Option<_>>()
        .ok_or_else(invalid)?;
    bytes.try_into().map_err(|_| invalid())
}
