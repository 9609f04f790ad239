//! A running simulated board: the pseudo-terminal and the thread that serves it.

use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use serialport::{SerialPort, TTYPort};
use tracing::{info, warn};

use crate::loader::Loader;
use crate::{BoardConfig, LoaderState, LoggedCommand, SimChip, SimError, slip};

/// How long one read of the master side waits before the thread checks for a stop request.
const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// With pacing on, replies go out in pieces of this many bytes, each after its wire time.
const PACING_CHUNK: usize = 64;
/// A UART frame for one byte: start bit, eight data bits, stop bit.
const BITS_PER_BYTE: f64 = 10.0;

/// A simulated board serving the bootloader protocol on a pseudo-terminal.
///
/// Dropping the board (or calling [`SimBoard::stop`]) stops its thread and closes the
/// pseudo-terminal.
#[derive(Debug)]
pub struct SimBoard {
    port_path: PathBuf,
    chip: SimChip,
    mac: [u8; 6],
    loader: Arc<Mutex<Loader>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// The pair's own slave descriptor, held for the board's whole life: while no slave
    /// descriptor is open, reads on the master fail with POLLHUP (`BrokenPipe`).
    _slave: TTYPort,
}

impl SimBoard {
    /// Opens a pseudo-terminal and starts serving the board described by `config`.
    pub fn start(config: BoardConfig) -> Result<SimBoard, SimError> {
        let loader = Arc::new(Mutex::new(Loader::new(&config)?));
        let (mut master, slave) = TTYPort::pair()?;
        let port_path = PathBuf::from(slave.name().ok_or(SimError::NoPtyPath)?);
        master.set_timeout(POLL_INTERVAL)?;

        let stop = Arc::new(AtomicBool::new(false));
        let server = Server {
            master,
            loader: Arc::clone(&loader),
            stop: Arc::clone(&stop),
            pacing: config.pacing_baud.is_some(),
        };
        let thread = thread::Builder::new()
            .name(format!("rom-sim {}", config.chip))
            .spawn(move || server.run())
            .map_err(|source| SimError::Thread { port: port_path.clone(), source })?;

        info!(
            port = %port_path.display(),
            chip = %config.chip,
            faults = ?config.faults,
            "simulated board started"
        );
        Ok(SimBoard {
            port_path,
            chip: config.chip,
            mac: config.mac,
            loader,
            stop,
            thread: Some(thread),
            _slave: slave,
        })
    }

    /// Returns the device path that code under test opens, such as `/dev/pts/7`.
    pub fn port_path(&self) -> &Path {
        &self.port_path
    }

    /// Returns a copy of the whole flash.
    pub fn flash_contents(&self) -> Vec<u8> {
        self.lock().flash().contents()
    }

    /// Returns `len` bytes of flash at `offset`, fewer if the range runs past the end.
    pub fn read_flash(&self, offset: u32, len: u32) -> Vec<u8> {
        self.lock().flash().stored(offset, len)
    }

    /// Returns every request received so far, oldest first.
    pub fn command_log(&self) -> Vec<LoggedCommand> {
        self.lock().log().to_vec()
    }

    /// Returns the loader that replies right now.
    pub fn state(&self) -> LoaderState {
        self.lock().state()
    }

    /// Resets the chip into the ROM loader, as pressing RESET while holding BOOT does. The flash
    /// keeps its contents and the fault knobs stay in force.
    pub fn reset(&self) {
        self.lock().reset();
        info!(port = %self.port_path.display(), "simulated board reset into the ROM loader");
    }

    /// Returns the MAC address stored in the board's eFuses.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// Returns the chip the board carries (not the one a `wrong-chip` fault reports).
    pub fn chip(&self) -> SimChip {
        self.chip
    }

    /// Stops the board thread and closes the pseudo-terminal.
    pub fn stop(self) {
        drop(self);
    }

    fn lock(&self) -> MutexGuard<'_, Loader> {
        // A panic in the board thread must not hide the flash from the test that inspects it.
        self.loader.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for SimBoard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            warn!(port = %self.port_path.display(), "simulated board thread panicked");
        }
        info!(port = %self.port_path.display(), "simulated board stopped");
    }
}

/// The board thread: reads the master side, feeds frames to the loader, writes the replies.
struct Server {
    master: TTYPort,
    loader: Arc<Mutex<Loader>>,
    stop: Arc<AtomicBool>,
    pacing: bool,
}

impl Server {
    fn run(mut self) {
        let mut decoder = slip::Decoder::new();
        let mut buffer = [0u8; 4096];

        while !self.stopped() {
            let count = match self.master.read(&mut buffer) {
                Ok(count) => count,
                Err(error) if is_transient(&error) => continue,
                Err(error) => {
                    warn!(%error, "reading the pseudo-terminal failed; the simulated board stops");
                    return;
                }
            };

            let baud = self.lock().baud();
            self.pace(count, baud);

            for &byte in &buffer[..count] {
                let Some(frame) = decoder.push(byte) else {
                    continue;
                };
                // The reply leaves at the rate in force when the request arrived, so a
                // CHANGE_BAUDRATE reply still goes out at the old rate.
                let (baud, writes) = {
                    let mut loader = self.lock();
                    let baud = loader.baud();
                    (baud, loader.handle_frame(&frame))
                };
                for bytes in writes {
                    if !self.send(&bytes, baud) {
                        return;
                    }
                }
            }
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, Loader> {
        self.loader.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sleeps for the time `count` bytes take on the wire, when pacing is on.
    fn pace(&self, count: usize, baud: u32) {
        if self.pacing && count > 0 {
            thread::sleep(Duration::from_secs_f64(count as f64 * BITS_PER_BYTE / f64::from(baud)));
        }
    }

    /// Writes `bytes` to the master side. Returns false when the board should stop.
    fn send(&mut self, bytes: &[u8], baud: u32) -> bool {
        let chunk_len = if self.pacing { PACING_CHUNK } else { bytes.len().max(1) };
        for chunk in bytes.chunks(chunk_len) {
            self.pace(chunk.len(), baud);
            let mut rest = chunk;
            while !rest.is_empty() {
                if self.stopped() {
                    return false;
                }
                match self.master.write(rest) {
                    Ok(written) => rest = &rest[written..],
                    Err(error) if is_transient(&error) => {}
                    Err(error) => {
                        warn!(%error, "writing the pseudo-terminal failed; the simulated board stops");
                        return false;
                    }
                }
            }
        }
        true
    }
}

/// Returns whether an I/O error only means "nothing happened yet".
fn is_transient(error: &std::io::Error) -> bool {
    matches!(error.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock | ErrorKind::Interrupted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<SimBoard>();
    }

    #[test]
    fn board_rejects_unsupported_flash_size() {
        let mut config = BoardConfig::new(SimChip::Esp32);
        config.flash_size = 3 * 1024 * 1024;
        let error = SimBoard::start(config).unwrap_err();
        assert!(matches!(error, SimError::UnsupportedFlashSize { size } if size == 3 * 1024 * 1024));
    }

    #[test]
    fn board_rejects_zero_pacing_baud() {
        let mut config = BoardConfig::new(SimChip::Esp32);
        config.pacing_baud = Some(0);
        assert!(matches!(SimBoard::start(config), Err(SimError::ZeroPacingBaud)));
    }

    #[test]
    fn board_reports_pty_path_and_identity() {
        let board = SimBoard::start(BoardConfig::new(SimChip::Esp32s3)).unwrap();
        assert!(board.port_path().starts_with("/dev/pts"), "{}", board.port_path().display());
        assert!(board.port_path().exists());
        assert_eq!(board.chip(), SimChip::Esp32s3);
        assert_eq!(board.mac(), SimChip::Esp32s3.default_mac());
        assert_eq!(board.state(), LoaderState::Rom);
        assert_eq!(board.flash_contents().len(), 4 * 1024 * 1024);
        assert!(board.command_log().is_empty());
        board.stop();
    }
}
