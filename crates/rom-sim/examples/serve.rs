//! Serves one simulated board until standard input closes.
//!
//! Usage: `cargo run -p rom-sim --example serve -- CHIP [KNOB...]`, for example
//! `serve esp32c3 stall-after=200`. The port path is printed on the first line. Set
//! `RUST_LOG=rom_sim=debug` to log every command.

use std::io::Read;

use rom_sim::{BoardConfig, SimBoard};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();

    let mut args = std::env::args().skip(1);
    let chip =
        args.next().ok_or("usage: serve CHIP [KNOB...]; CHIP is esp32, esp32c3 or esp32s3")?.parse()?;
    let mut config = BoardConfig::new(chip);
    for knob in args {
        config.faults.push(knob.parse()?);
    }

    let board = SimBoard::start(config)?;
    println!("{}", board.port_path().display());

    // Block until the caller closes standard input, then stop the board.
    let mut sink = Vec::new();
    std::io::stdin().read_to_end(&mut sink)?;
    board.stop();
    Ok(())
}
