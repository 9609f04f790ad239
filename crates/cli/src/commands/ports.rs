//! `node-factory ports`: the serial ports that may carry a board.

use clap::Args;
use flasher::{PortListOptions, list_ports};

use crate::failure::Failure;
use crate::table;

#[derive(Args)]
pub struct PortsArgs {
    /// Also list ports that are not USB or whose USB bridge is unknown.
    #[arg(long)]
    all: bool,
}

pub fn run(args: &PortsArgs) -> Result<(), Failure> {
    let ports = list_ports(&PortListOptions { include_all: args.all }).map_err(Failure::other)?;

    if ports.is_empty() {
        eprintln!("no board found; plug in a board, or pass --all to list every serial port");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = ports
        .iter()
        .map(|port| {
            let usb = port.usb.as_ref();
            vec![
                port.path.clone(),
                port.bridge
                    .map(|bridge| bridge.display_name().to_owned())
                    .unwrap_or_else(|| "unknown".to_owned()),
                usb.map(|usb| format!("{:04x}:{:04x}", usb.vid, usb.pid)).unwrap_or_default(),
                usb.and_then(|usb| usb.serial_number.clone()).unwrap_or_default(),
                usb.and_then(|usb| usb.product.clone()).unwrap_or_default(),
            ]
        })
        .collect();
    print!("{}", table::render(&["PORT", "BRIDGE", "VID:PID", "SERIAL", "PRODUCT"], &rows));
    Ok(())
}
