//! The bench's ports: USB serial ports found by polling, and simulated boards started in this
//! process. Changes are broadcast to every window as the `ports-changed` event.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use factory_core::Chip;
use flasher::{PortInfo, PortListOptions};
use rom_sim::{BoardConfig, Fault, SimBoard, SimChip};
use tauri::{AppHandle, Emitter, Manager};

use crate::dto::{BenchPort, ChipName, PortsChanged};
use crate::error::{CommandError, CommandResult};
use crate::state::{AppState, lock};

/// The app-wide event of ports that appeared or went.
pub const PORTS_CHANGED_EVENT: &str = "ports-changed";

/// How often the watcher lists the serial ports. USB enumeration takes a moment anyway, so
/// a board's card appears about a second after it is plugged in.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// The bridge name shown for simulated boards.
const SIMULATED_BRIDGE: &str = "Simulated";

/// Simulated boards, kept alive for as long as the app runs.
#[derive(Default)]
pub struct SimulatedBoards {
    boards: Mutex<Vec<SimBoard>>,
}

impl SimulatedBoards {
    /// Starts `count` boards, cycling through ESP32, ESP32-C3 and ESP32-S3, each with its own
    /// MAC address and the given faults.
    pub fn attach(&self, count: u32, faults: &[Fault]) -> CommandResult<Vec<BenchPort>> {
        let mut boards = lock(&self.boards);
        let mut added = Vec::new();
        for _ in 0..count {
            let position = boards.len();
            let chip = SimChip::ALL[position % SimChip::ALL.len()];
            let mut config = BoardConfig::new(chip);
            config.mac[5] = config.mac[5].wrapping_add(u8::try_from(position % 250).unwrap_or(0) * 16);
            config.faults = faults.to_vec();

            let board = SimBoard::start(config).map_err(|error| {
                CommandError::new(
                    "simulator_failed",
                    format!("failed to start a simulated {}: {error}", chip.name()),
                )
            })?;
            tracing::info!(port = %board.port_path().display(), chip = chip.name(), ?faults, "attached simulated board");
            added.push(simulated_port(&board));
            boards.push(board);
        }
        Ok(added)
    }

    pub fn ports(&self) -> Vec<BenchPort> {
        lock(&self.boards).iter().map(simulated_port).collect()
    }
}

fn simulated_port(board: &SimBoard) -> BenchPort {
    let chip = match board.chip() {
        SimChip::Esp32 => Chip::Esp32,
        SimChip::Esp32c3 => Chip::Esp32c3,
        SimChip::Esp32s3 => Chip::Esp32s3,
    };
    BenchPort {
        name: board.port_path().display().to_string(),
        bridge: Some(SIMULATED_BRIDGE.to_owned()),
        vid: None,
        pid: None,
        serial_number: None,
        simulated: true,
        chip: Some(ChipName::from(chip)),
    }
}

fn usb_port(info: PortInfo) -> BenchPort {
    BenchPort {
        name: info.path,
        bridge: info.bridge.map(|bridge| bridge.display_name().to_owned()),
        vid: info.usb.as_ref().map(|usb| usb.vid),
        pid: info.usb.as_ref().map(|usb| usb.pid),
        serial_number: info.usb.and_then(|usb| usb.serial_number),
        simulated: false,
        chip: None,
    }
}

/// Compares two snapshots by port name. A port whose details changed counts as gone and back.
pub fn diff(before: &[BenchPort], after: &[BenchPort]) -> PortsChanged {
    let old: BTreeMap<&str, &BenchPort> = before.iter().map(|port| (port.name.as_str(), port)).collect();
    let new: BTreeMap<&str, &BenchPort> = after.iter().map(|port| (port.name.as_str(), port)).collect();
    PortsChanged {
        added: after.iter().filter(|port| old.get(port.name.as_str()) != Some(port)).cloned().collect(),
        removed: before
            .iter()
            .filter(|port| new.get(port.name.as_str()).is_none_or(|current| current != port))
            .map(|port| port.name.clone())
            .collect(),
    }
}

/// Lists the ports now, stores the snapshot and emits what changed. Returns the change.
pub fn refresh(app: &AppHandle, last_error: &mut Option<String>) -> PortsChanged {
    let state = app.state::<AppState>();
    let mut current = match flasher::list_ports(&PortListOptions::default()) {
        Ok(ports) => {
            *last_error = None;
            ports.into_iter().map(usb_port).collect()
        }
        Err(error) => {
            // Logged once per distinct error, because the watcher retries every second.
            let message = error.to_string();
            if last_error.as_deref() != Some(message.as_str()) {
                tracing::warn!(%message, "listing serial ports failed; retrying every second");
                *last_error = Some(message);
            }
            Vec::new()
        }
    };
    current.extend(state.simulated.ports());
    current.sort_by(|a, b| a.name.cmp(&b.name));

    let change = {
        let mut snapshot = lock(&state.ports);
        let change = diff(&snapshot, &current);
        *snapshot = current;
        change
    };
    if !change.added.is_empty() || !change.removed.is_empty() {
        tracing::info!(added = change.added.len(), removed = change.removed.len(), "ports changed");
        // A board that went away gives its card's registration back to the other benches.
        state.claims.release_ports(&change.removed);
        if let Err(error) = app.emit(PORTS_CHANGED_EVENT, &change) {
            tracing::error!(%error, "failed to send the ports-changed event");
        }
    }
    change
}

/// Starts the background thread that polls the ports for the life of the app.
pub fn spawn_watcher(app: AppHandle) {
    let spawned = std::thread::Builder::new().name("port-watcher".to_owned()).spawn(move || {
        let mut last_error = None;
        loop {
            refresh(&app, &mut last_error);
            std::thread::sleep(POLL_INTERVAL);
        }
    });
    if let Err(error) = spawned {
        tracing::error!(%error, "failed to start the port watcher; ports will not update");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(name: &str, bridge: &str) -> BenchPort {
        BenchPort {
            name: name.to_owned(),
            bridge: Some(bridge.to_owned()),
            vid: None,
            pid: None,
            serial_number: None,
            simulated: false,
            chip: None,
        }
    }

    #[test]
    fn diff_reports_added_and_removed() {
        let before = [port("/dev/ttyUSB0", "CP210x"), port("/dev/ttyUSB1", "CH340")];
        let after = [port("/dev/ttyUSB1", "CH340"), port("/dev/ttyACM0", "USB-Serial-JTAG")];
        let change = diff(&before, &after);
        assert_eq!(change.added, [port("/dev/ttyACM0", "USB-Serial-JTAG")]);
        assert_eq!(change.removed, ["/dev/ttyUSB0"]);
    }

    #[test]
    fn diff_of_same_snapshot_is_empty() {
        let ports = [port("/dev/ttyUSB0", "CP210x")];
        let change = diff(&ports, &ports);
        assert!(change.added.is_empty() && change.removed.is_empty());
    }

    #[test]
    fn diff_treats_changed_port_as_replugged() {
        let change = diff(&[port("/dev/ttyUSB0", "CP210x")], &[port("/dev/ttyUSB0", "CH340")]);
        assert_eq!(change.added.len(), 1);
        assert_eq!(change.removed, ["/dev/ttyUSB0"]);
    }

    #[test]
    fn simulated_boards_get_distinct_ports_and_macs() {
        let boards = SimulatedBoards::default();
        let ports = boards.attach(3, &[]).unwrap();
        let chips: Vec<_> = ports.iter().map(|port| port.chip).collect();
        assert_eq!(chips, [Some(ChipName::Esp32), Some(ChipName::Esp32c3), Some(ChipName::Esp32s3)]);
        let macs: std::collections::HashSet<_> = lock(&boards.boards).iter().map(SimBoard::mac).collect();
        assert_eq!(macs.len(), 3);
    }
}
