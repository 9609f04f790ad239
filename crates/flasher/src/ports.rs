//! Serial port discovery: which ports exist and which USB-to-serial bridge sits behind each.

use std::fmt;

use serde::{Deserialize, Serialize};
use serialport::{SerialPortInfo, SerialPortType};

use crate::error::FlashError;

/// The USB-to-serial bridge (or the chip's own USB peripheral) behind a port, recognised from the
/// USB vendor and product IDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bridge {
    /// Silicon Labs CP210x (10c4:ea60).
    Cp210x,
    /// WCH CH340 (1a86:7523, 1a86:7522).
    Ch340,
    /// WCH CH343 (1a86:55d3).
    Ch343,
    /// WCH CH9102 (1a86:55d4).
    Ch9102,
    /// FTDI FT232R, FT2232, FT232H and FT231X (0403:6001, 6010, 6014, 6015).
    Ftdi,
    /// The USB-Serial-JTAG peripheral of the ESP32-C3 and ESP32-S3 (303a:1001).
    UsbSerialJtag,
    /// Espressif's native USB (USB-OTG CDC-ACM) and its ROM download mode (303a:0002, 0009, 4001).
    EspressifNativeUsb,
}

/// USB vendor ID, product ID and bridge, as numbers: the operating systems print the IDs in
/// different cases and widths, so they are never compared as text.
const BRIDGE_TABLE: [(u16, u16, Bridge); 13] = [
    (0x10c4, 0xea60, Bridge::Cp210x),
    (0x1a86, 0x7523, Bridge::Ch340),
    (0x1a86, 0x7522, Bridge::Ch340),
    (0x1a86, 0x55d3, Bridge::Ch343),
    (0x1a86, 0x55d4, Bridge::Ch9102),
    (0x0403, 0x6001, Bridge::Ftdi),
    (0x0403, 0x6010, Bridge::Ftdi),
    (0x0403, 0x6014, Bridge::Ftdi),
    (0x0403, 0x6015, Bridge::Ftdi),
    (0x303a, 0x1001, Bridge::UsbSerialJtag),
    (0x303a, 0x0002, Bridge::EspressifNativeUsb),
    (0x303a, 0x0009, Bridge::EspressifNativeUsb),
    (0x303a, 0x4001, Bridge::EspressifNativeUsb),
];

impl Bridge {
    /// Recognises a bridge from its USB vendor and product ID.
    pub fn from_usb_ids(vid: u16, pid: u16) -> Option<Bridge> {
        BRIDGE_TABLE.iter().find(|(v, p, _)| *v == vid && *p == pid).map(|(_, _, bridge)| *bridge)
    }

    /// Returns the name shown to people, for example "CP210x" or "USB-Serial-JTAG".
    pub fn display_name(self) -> &'static str {
        match self {
            Bridge::Cp210x => "CP210x",
            Bridge::Ch340 => "CH340",
            Bridge::Ch343 => "CH343",
            Bridge::Ch9102 => "CH9102",
            Bridge::Ftdi => "FTDI",
            Bridge::UsbSerialJtag => "USB-Serial-JTAG",
            Bridge::EspressifNativeUsb => "Espressif native USB",
        }
    }
}

impl fmt::Display for Bridge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

/// USB details of a serial device, as the operating system reports them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UsbDetails {
    pub vid: u16,
    pub pid: u16,
    pub serial_number: Option<String>,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
}

/// One serial port a board may sit on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PortInfo {
    /// The path or name to open: `/dev/ttyUSB0`, `/dev/cu.usbserial-0001`, `COM3`, `/dev/pts/4`.
    pub path: String,
    /// USB details, or `None` for a port that is not a USB device (a pseudo-terminal, a
    /// motherboard UART) or that was given by path and not found in the system's list.
    pub usb: Option<UsbDetails>,
    /// The recognised bridge, or `None` when the USB IDs are not in the bridge table.
    pub bridge: Option<Bridge>,
}

impl PortInfo {
    /// Describes a port the user named explicitly. The path is always accepted, even when the
    /// system does not list it (a pseudo-terminal, a symlink from a udev rule). When the system
    /// lists it, its USB details are used.
    pub fn explicit(path: &str) -> PortInfo {
        let listed = serialport::available_ports().unwrap_or_default();
        PortInfo::explicit_among(path, listed)
    }

    /// Like [`PortInfo::explicit`], looking the path up in the given list instead of the system's.
    pub fn explicit_among(path: &str, listed: Vec<SerialPortInfo>) -> PortInfo {
        listed
            .into_iter()
            .map(PortInfo::from_serialport)
            .find(|port| port.path == path)
            .unwrap_or_else(|| PortInfo { path: path.to_owned(), usb: None, bridge: None })
    }

    fn from_serialport(info: SerialPortInfo) -> PortInfo {
        let usb = match info.port_type {
            SerialPortType::UsbPort(usb) => Some(UsbDetails {
                vid: usb.vid,
                pid: usb.pid,
                serial_number: usb.serial_number,
                manufacturer: usb.manufacturer,
                product: usb.product,
            }),
            SerialPortType::PciPort | SerialPortType::BluetoothPort | SerialPortType::Unknown => None,
        };
        let bridge = usb.as_ref().and_then(|usb| Bridge::from_usb_ids(usb.vid, usb.pid));
        PortInfo { path: info.port_name, usb, bridge }
    }
}

/// The filter of [`list_ports`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortListOptions {
    /// Also list ports that are not USB devices or whose USB IDs match no known bridge. Off by
    /// default because a bench computer has several such ports (motherboard UARTs, modems, other
    /// USB gadgets) and none of them carries a board.
    pub include_all: bool,
}

/// Lists the serial ports of this computer that may carry a board, sorted by path.
pub fn list_ports(options: &PortListOptions) -> Result<Vec<PortInfo>, FlashError> {
    let listed = serialport::available_ports()
        .map_err(|error| FlashError::PortListFailed { detail: error.to_string() })?;
    Ok(select_ports(listed, options))
}

/// Turns the system's port list into [`PortInfo`]s: classifies bridges, applies the filter and
/// folds macOS `cu.`/`tty.` twins. Pure, so it is tested on any system.
pub fn select_ports(listed: Vec<SerialPortInfo>, options: &PortListOptions) -> Vec<PortInfo> {
    let ports: Vec<PortInfo> = listed
        .into_iter()
        .map(PortInfo::from_serialport)
        .filter(|port| options.include_all || port.bridge.is_some())
        .collect();

    let mut ports = fold_macos_twins(ports);
    ports.sort_by(|a, b| a.path.cmp(&b.path));
    ports
}

/// Keeps one entry per device where macOS lists both `/dev/cu.X` and `/dev/tty.X`. The `cu.`
/// (call-up) node is kept because opening it does not wait for the carrier-detect line, which USB
/// bridges on ESP boards do not drive. A `tty.` entry without a `cu.` twin is kept as it is.
pub fn fold_macos_twins(ports: Vec<PortInfo>) -> Vec<PortInfo> {
    let call_up_paths: Vec<String> =
        ports.iter().filter(|port| port.path.starts_with("/dev/cu.")).map(|port| port.path.clone()).collect();

    ports
        .into_iter()
        .filter(|port| match port.path.strip_prefix("/dev/tty.") {
            Some(device) => !call_up_paths.iter().any(|path| path == &format!("/dev/cu.{device}")),
            None => true,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serialport::UsbPortInfo;

    use super::*;

    fn usb(path: &str, vid: u16, pid: u16) -> SerialPortInfo {
        SerialPortInfo {
            port_name: path.to_owned(),
            port_type: SerialPortType::UsbPort(UsbPortInfo {
                vid,
                pid,
                serial_number: Some("0001".into()),
                manufacturer: Some("maker".into()),
                product: Some("board".into()),
            }),
        }
    }

    fn plain(path: &str) -> SerialPortInfo {
        SerialPortInfo { port_name: path.to_owned(), port_type: SerialPortType::Unknown }
    }

    #[test]
    fn bridge_table_classifies_known_ids() {
        let cases = [
            (0x10c4, 0xea60, Some(Bridge::Cp210x), "CP210x"),
            (0x1a86, 0x7523, Some(Bridge::Ch340), "CH340"),
            (0x1a86, 0x7522, Some(Bridge::Ch340), "CH340"),
            (0x1a86, 0x55d3, Some(Bridge::Ch343), "CH343"),
            (0x1a86, 0x55d4, Some(Bridge::Ch9102), "CH9102"),
            (0x0403, 0x6001, Some(Bridge::Ftdi), "FTDI"),
            (0x0403, 0x6010, Some(Bridge::Ftdi), "FTDI"),
            (0x0403, 0x6014, Some(Bridge::Ftdi), "FTDI"),
            (0x0403, 0x6015, Some(Bridge::Ftdi), "FTDI"),
            (0x303a, 0x1001, Some(Bridge::UsbSerialJtag), "USB-Serial-JTAG"),
            (0x303a, 0x0002, Some(Bridge::EspressifNativeUsb), "Espressif native USB"),
            (0x303a, 0x0009, Some(Bridge::EspressifNativeUsb), "Espressif native USB"),
            (0x303a, 0x4001, Some(Bridge::EspressifNativeUsb), "Espressif native USB"),
        ];
        for (vid, pid, bridge, name) in cases {
            assert_eq!(Bridge::from_usb_ids(vid, pid), bridge, "{vid:04x}:{pid:04x}");
            assert_eq!(bridge.unwrap().display_name(), name);
        }
    }

    #[test]
    fn bridge_table_rejects_unknown_ids() {
        let cases = [
            (0x10c4, 0xea61),
            (0x1a86, 0x7524),
            (0x0403, 0x6011),
            (0x303a, 0x1002),
            (0x2341, 0x0043),
            (0, 0),
        ];
        for (vid, pid) in cases {
            assert_eq!(Bridge::from_usb_ids(vid, pid), None, "{vid:04x}:{pid:04x}");
        }
    }

    #[test]
    fn select_ports_keeps_known_bridges_by_default() {
        let listed = vec![
            usb("/dev/ttyUSB1", 0x1a86, 0x7523),
            plain("/dev/ttyS0"),
            usb("/dev/ttyACM0", 0x2341, 0x0043),
            usb("/dev/ttyUSB0", 0x10c4, 0xea60),
        ];
        let ports = select_ports(listed, &PortListOptions::default());
        let paths: Vec<&str> = ports.iter().map(|port| port.path.as_str()).collect();
        assert_eq!(paths, ["/dev/ttyUSB0", "/dev/ttyUSB1"]);
        assert_eq!(ports[0].bridge, Some(Bridge::Cp210x));
        assert_eq!(ports[0].usb.as_ref().unwrap().serial_number.as_deref(), Some("0001"));
    }

    #[test]
    fn select_ports_include_all_keeps_the_rest() {
        let listed = vec![
            usb("/dev/ttyACM0", 0x2341, 0x0043),
            plain("/dev/ttyS0"),
            usb("/dev/ttyUSB0", 0x10c4, 0xea60),
        ];
        let ports = select_ports(listed, &PortListOptions { include_all: true });
        let paths: Vec<&str> = ports.iter().map(|port| port.path.as_str()).collect();
        assert_eq!(paths, ["/dev/ttyACM0", "/dev/ttyS0", "/dev/ttyUSB0"]);
        assert_eq!(ports[0].bridge, None);
        assert!(ports[0].usb.is_some());
        assert_eq!(ports[1].usb, None);
    }

    #[test]
    fn macos_twins_fold_to_call_up_node() {
        let listed = vec![
            usb("/dev/tty.usbserial-0001", 0x10c4, 0xea60),
            usb("/dev/cu.usbserial-0001", 0x10c4, 0xea60),
            usb("/dev/tty.usbmodem101", 0x303a, 0x1001),
            usb("/dev/cu.usbmodem101", 0x303a, 0x1001),
            usb("/dev/tty.wchusbserial2", 0x1a86, 0x55d4),
        ];
        let ports = select_ports(listed, &PortListOptions::default());
        let paths: Vec<&str> = ports.iter().map(|port| port.path.as_str()).collect();
        assert_eq!(paths, ["/dev/cu.usbmodem101", "/dev/cu.usbserial-0001", "/dev/tty.wchusbserial2"]);
    }

    #[test]
    fn linux_tty_paths_are_not_folded() {
        let ports = vec![
            PortInfo { path: "/dev/ttyUSB0".into(), usb: None, bridge: None },
            PortInfo { path: "/dev/tty.ttyUSB0".into(), usb: None, bridge: None },
        ];
        assert_eq!(fold_macos_twins(ports.clone()), ports);
    }

    #[test]
    fn explicit_path_uses_listed_details() {
        let listed = vec![usb("/dev/ttyUSB0", 0x303a, 0x1001)];
        let port = PortInfo::explicit_among("/dev/ttyUSB0", listed);
        assert_eq!(port.bridge, Some(Bridge::UsbSerialJtag));
        assert_eq!(port.usb.unwrap().pid, 0x1001);
    }

    #[test]
    fn explicit_path_is_accepted_when_unlisted() {
        let port = PortInfo::explicit_among("/dev/pts/7", vec![usb("/dev/ttyUSB0", 0x10c4, 0xea60)]);
        assert_eq!(port, PortInfo { path: "/dev/pts/7".into(), usb: None, bridge: None });
    }
}
