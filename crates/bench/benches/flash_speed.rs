//! Speed of writing a 1 MiB image to a simulated ESP32-C3: Node Factory's flash workflow against
//! the espflash 4.7.0 command line and esptool, on boards paced like a 921,600 baud UART.
//!
//! Run with `cargo bench -p bench --bench flash_speed`. Set `ESPFLASH_CLI` to the `espflash`
//! binary, or put it on `PATH`; without it the espflash row is skipped. esptool runs as
//! `python3 -m esptool`. `FLASH_SPEED_RUNS` overrides the number of runs per case (default 5).
//!
//! Every run gets a fresh board that starts at 115,200 baud, as a ROM loader does, and each tool
//! switches it to 921,600 with CHANGE_BAUDRATE. After each run the board's flash must hold the
//! image. The wire-time ideal counts only the image data the board received (compressed where
//! the tool compressed it), at 10 bits per byte.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::{Duration, Instant};

use bench::flash::{FlashRequest, flash_and_record};
use factory_core::Chip;
use flasher::{FlashEvent, FlashOptions, FlashPlan, PortInfo, ResetMode};
use rand::{RngCore, SeedableRng, rngs::StdRng};
use registry::{MintRequest, NodeMetadata, Registry, SqliteRegistry};
use rom_sim::{BoardConfig, Command, LoggedCommand, SimBoard, SimChip};
use tempfile::TempDir;

const DEFAULT_RUNS: usize = 5;
const IMAGE_SIZE: usize = 1024 * 1024;
const OFFSET: u32 = 0x10000;
const ROM_BAUD: u32 = 115_200;
const FLASH_BAUD: u32 = 921_600;
/// A UART frame for one byte: start bit, eight data bits, stop bit.
const BITS_PER_BYTE: f64 = 10.0;
/// FLASH_DATA, FLASH_DEFL_DATA and MEM_DATA payloads start with a 16-byte header before the data.
const DATA_HEADER_LEN: usize = 16;
/// A request frame's bytes besides its payload: the 8-byte header and the two SLIP delimiters.
/// SLIP escapes add one byte for each 0xC0 or 0xDB in the frame, which the board's log does not
/// count.
const FRAME_OVERHEAD: usize = 10;
/// Real ESP-IDF second-stage bootloaders, which are flashable code and data.
const FIRMWARE_FILES: [&str; 3] = [
    "bootloaders_esp32-bootloader.bin",
    "bootloaders_esp32c3-bootloader.bin",
    "bootloaders_esp32s3-bootloader.bin",
];

fn main() {
    let runs = env::var("FLASH_SPEED_RUNS")
        .ok()
        .map(|text| text.parse().expect("FLASH_SPEED_RUNS must be a positive whole number"))
        .unwrap_or(DEFAULT_RUNS)
        .max(1);
    let folder = TempDir::new().expect("a temporary folder");
    let espflash = find_espflash_cli();

    println!("Writing {IMAGE_SIZE} bytes at {OFFSET:#x} to a simulated ESP32-C3, {runs} runs per case.");
    println!("Boards start at {ROM_BAUD} baud; every tool switches them to {FLASH_BAUD}.\n");

    let images = [
        ("firmware", firmware_image(), "real firmware bytes"),
        ("random", random_image(), "incompressible random bytes"),
    ];
    for (name, image, description) in images {
        let path = folder.path().join(format!("{name}.bin"));
        fs::write(&path, &image).expect("the image file is written");
        println!("## {name} image: {description}\n");

        let registry_path = folder.path().join(format!("registry-{name}.sqlite3"));
        let registry = SqliteRegistry::open(&registry_path).expect("the registry opens");
        let node_factory = (0..runs).map(|_| run_node_factory(&registry, &path, &image)).collect();
        let mut rows = vec![CaseResult::new("Node Factory (flash_and_record)", node_factory)];
        match &espflash {
            Ok(cli) => {
                let label = format!("espflash {} command line", cli.version);
                rows.push(CaseResult::new(&label, (0..runs).map(|_| cli.run(&path, &image)).collect()));
                let wrapper = median(&(0..runs).map(|_| cli.wrapper_time()).collect::<Vec<_>>());
                println!("espflash times include {} for the mount namespace wrapper.\n", seconds(wrapper));
            }
            Err(reason) => println!("espflash command line skipped: {reason}\n"),
        }
        match esptool_version() {
            Ok(version) => {
                let label = format!("esptool {version}");
                let esptool_runs: Vec<Run> = (0..runs).map(|_| run_esptool(&path, &image)).collect();
                print_esptool_notes(&esptool_runs, runs);
                rows.push(CaseResult::new(&label, esptool_runs));
            }
            Err(reason) => println!("esptool skipped: {reason}\n"),
        }

        print_totals(&rows);
        print_breakdown(&rows[0]);
    }
}

/// One finished run of one tool.
struct Run {
    total: Duration,
    /// The commands the board received, in order.
    log: Vec<LoggedCommand>,
    /// Node Factory's progress events with the time since the run started.
    events: Vec<(Duration, FlashEvent)>,
    /// The write time esptool prints, to a tenth of a second: from the reply to FLASH_DEFL_BEGIN
    /// (FLASH_BEGIN for an uncompressed write) to the reply to the matching END command.
    reported_write: Option<Duration>,
}

/// All runs of one tool on one image.
struct CaseResult {
    label: String,
    runs: Vec<Run>,
}

impl CaseResult {
    fn new(label: &str, runs: Vec<Run>) -> CaseResult {
        CaseResult { label: label.to_owned(), runs }
    }

    fn totals(&self) -> Vec<Duration> {
        self.runs.iter().map(|run| run.total).collect()
    }
}

// ---- Images ----

/// Builds the compressible image: the bootloaders repeated to 1 MiB. One round of the three
/// files is 68,256 bytes, longer than deflate's 32 KiB window, so no round is coded as a copy of
/// the one before. Neighbouring bootloaders share code, so zlib level 9 shrinks the image to 53%
/// and each file alone to about 64%.
fn firmware_image() -> Vec<u8> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/firmware");
    let mut round = Vec::new();
    for name in FIRMWARE_FILES {
        let path = folder.join(name);
        let bytes = fs::read(&path).unwrap_or_else(|error| {
            panic!(
                "failed to read firmware {} ({error}); the benchmark reads it from the shared data folder \
                 next to the repository checkout",
                path.display()
            )
        });
        round.extend_from_slice(&bytes);
    }
    round.iter().copied().cycle().take(IMAGE_SIZE).collect()
}

/// Builds the incompressible image from a fixed seed, so every run and every machine writes the
/// same bytes.
fn random_image() -> Vec<u8> {
    let mut image = vec![0u8; IMAGE_SIZE];
    StdRng::seed_from_u64(0x0e5f_1a54).fill_bytes(&mut image);
    image
}

// ---- Boards ----

fn start_board() -> SimBoard {
    let mut config = BoardConfig::new(SimChip::Esp32c3);
    config.pacing_baud = Some(ROM_BAUD);
    SimBoard::start(config).expect("the simulated board starts")
}

/// Stops the board and panics unless its flash contains `image` at [`OFFSET`], so a tool that
/// skipped or lost data cannot post a good time.
fn finish_board(board: SimBoard, image: &[u8], tool: &str) -> Vec<LoggedCommand> {
    let written = board.read_flash(OFFSET, image.len() as u32);
    assert!(written == image, "{tool}: the board's flash does not hold the image after the run");
    let log = board.command_log();
    board.stop();
    log
}

// ---- Node Factory ----

fn run_node_factory(registry: &SqliteRegistry, image_path: &Path, image: &[u8]) -> Run {
    let request = MintRequest {
        count: 1,
        target_chip: Some(Chip::Esp32c3),
        metadata: NodeMetadata::None,
        idempotency_key: None,
    };
    let node_id = registry.mint_batch(&request).expect("minting works").remove(0).registration.node_id;

    let board = start_board();
    let region = format!("{OFFSET:#x}:{}", image_path.display());
    let request = FlashRequest {
        node_id,
        port: PortInfo::explicit(board.port_path().to_str().expect("a UTF-8 port path")),
        plan: FlashPlan::from_region_args(&[region]).expect("a valid region argument"),
        options: FlashOptions {
            reset: ResetMode::None,
            baud: Some(FLASH_BAUD),
            verify: true,
            use_stub: true,
            ..FlashOptions::default()
        },
    };

    let mut events = Vec::new();
    let start = Instant::now();
    let result =
        flash_and_record(registry, request, &mut |event| events.push((start.elapsed(), event.clone())));
    let total = start.elapsed();
    if let Err(error) = result {
        panic!("Node Factory failed to flash the simulated board: {error}");
    }
    let log = finish_board(board, image, "Node Factory");
    Run { total, log, events, reported_write: None }
}

// ---- espflash command line ----

/// Mounts the board's pseudo-terminal (`$0`) over a listed serial device node (`$1`), then runs
/// the rest of the arguments. It runs inside `unshare --mount`, so the mount is visible to that
/// process alone.
const BIND_AND_RUN: &str = r#"mount --bind "$0" "$1" && shift && exec "$@""#;

struct EspflashCli {
    binary: PathBuf,
    version: String,
    /// A serial device node that serialport's enumeration lists, such as `/dev/ttyS0`.
    listed_port: PathBuf,
}

/// Finds the espflash binary through `ESPFLASH_CLI`, then `PATH`, reads its version, and checks
/// that a pseudo-terminal can be presented to it under a listed port name.
fn find_espflash_cli() -> Result<EspflashCli, String> {
    let binary = match env::var_os("ESPFLASH_CLI") {
        Some(path) => PathBuf::from(path),
        None => env::var_os("PATH")
            .iter()
            .flat_map(env::split_paths)
            .map(|folder| folder.join("espflash"))
            .find(|candidate| candidate.is_file())
            .ok_or(
                "no `espflash` on PATH and ESPFLASH_CLI is not set; install it with \
                    `cargo install espflash --version 4.7.0 --locked`",
            )?,
    };
    let output = Process::new(&binary)
        .arg("--version")
        .output()
        .map_err(|error| format!("failed to run {} ({error})", binary.display()))?;
    // `espflash --version` prints `espflash 4.7.0`.
    let text = String::from_utf8_lossy(&output.stdout);
    let version = text.split_whitespace().nth(1).unwrap_or("(unknown version)").to_owned();
    if version != "4.7.0" {
        println!("note: {} is espflash {version}; the comparison is meant for 4.7.0\n", binary.display());
    }

    let listed_port = listed_serial_device().ok_or(
        "espflash's command line accepts only ports that /sys/class/tty lists, and this machine \
         lists no serial device node to mount the pseudo-terminal over",
    )?;
    let probe = Process::new("unshare").args(["--mount", "--", "true"]).output();
    if !probe.is_ok_and(|output| output.status.success()) {
        return Err("`unshare --mount` failed; presenting the pseudo-terminal to espflash's command line \
                    needs util-linux's unshare and root (CAP_SYS_ADMIN)"
            .to_owned());
    }
    Ok(EspflashCli { binary, version, listed_port })
}

/// Returns a device node that serialport 4.10 lists on Linux: one whose `/sys/class/tty` entry has
/// a `device` link to a subsystem it recognises without USB details.
fn listed_serial_device() -> Option<PathBuf> {
    let mut names: Vec<_> =
        fs::read_dir("/sys/class/tty").ok()?.flatten().map(|entry| entry.file_name()).collect();
    names.sort();
    names.into_iter().find_map(|name| {
        let subsystem =
            fs::canonicalize(Path::new("/sys/class/tty").join(&name).join("device/subsystem")).ok()?;
        let known = matches!(subsystem.file_name()?.to_str()?, "serial-base" | "pnp" | "amba" | "pci");
        let node = Path::new("/dev").join(&name);
        (known && node.exists()).then_some(node)
    })
}

impl EspflashCli {
    /// Runs `espflash write-bin`. espflash 4.7.0's command line looks the `--port` path up in
    /// serialport's enumeration and rejects any port it does not find (`serial_not_found`). On
    /// Linux that enumeration scans /sys/class/tty, which has no entries for pseudo-terminals, so
    /// the board's pseudo-terminal is mounted over a listed device node in a mount namespace of
    /// espflash's own, and espflash opens that node.
    fn run(&self, image_path: &Path, image: &[u8]) -> Run {
        let board = start_board();
        let mut process = self.in_mount_namespace(&board);
        process
            .arg(&self.binary)
            .args(["write-bin", "--port"])
            .arg(&self.listed_port)
            .args(["--before", "no-reset", "--after", "no-reset-no-stub"])
            .args(["--baud", &FLASH_BAUD.to_string()])
            .args(["--non-interactive", "--skip-update-check"])
            .arg(format!("{OFFSET:#x}"))
            .arg(image_path)
            // An espflash.toml or espflash_ports.toml in the working folder would change espflash's
            // settings, so it runs in the temporary folder.
            .current_dir(image_path.parent().expect("the image sits in a folder"));
        let (total, _) = time_process(&mut process, "espflash write-bin");
        let log = finish_board(board, image, "espflash");
        Run { total, log, events: Vec::new(), reported_write: None }
    }

    /// Measures the mount namespace wrapper alone, which the espflash times include.
    fn wrapper_time(&self) -> Duration {
        let board = start_board();
        let mut process = self.in_mount_namespace(&board);
        process.arg("true");
        time_process(&mut process, "the mount namespace wrapper").0
    }

    /// Returns an `unshare` command that mounts the board's pseudo-terminal over the listed port
    /// and then runs the arguments that the caller appends.
    fn in_mount_namespace(&self, board: &SimBoard) -> Process {
        let mut process = Process::new("unshare");
        process
            .args(["--mount", "--propagation", "private", "--", "sh", "-c", BIND_AND_RUN])
            .arg(board.port_path())
            .arg(&self.listed_port);
        process
    }
}

// ---- esptool ----

fn esptool_version() -> Result<String, String> {
    let output = Process::new("python3")
        .args(["-m", "esptool", "version"])
        .output()
        .map_err(|error| format!("failed to run python3 ({error})"))?;
    if !output.status.success() {
        return Err("esptool is not installed; install it with `pip install esptool`".to_owned());
    }
    // The last line of `esptool version` is the bare version number.
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text.lines().last().unwrap_or_default().trim().to_owned())
}

/// Runs esptool 5, which compresses, uses its stub and verifies the MD5 digest after writing by
/// default.
fn run_esptool(image_path: &Path, image: &[u8]) -> Run {
    let board = start_board();
    let mut process = Process::new("python3");
    process
        .args(["-m", "esptool", "--port"])
        .arg(board.port_path())
        .args(["--baud", &FLASH_BAUD.to_string()])
        .args(["--before", "no-reset", "--after", "no-reset", "write-flash"])
        .arg(format!("{OFFSET:#x}"))
        .arg(image_path);
    let (total, output) = time_process(&mut process, "esptool write-flash");
    let log = finish_board(board, image, "esptool");
    Run { total, log, events: Vec::new(), reported_write: esptool_write_time(&output) }
}

/// Reads the write time from esptool's `Wrote 1048576 bytes (...) at 0x00010000 in 6.2 seconds`.
fn esptool_write_time(output: &str) -> Option<Duration> {
    let line = output.lines().find(|line| line.starts_with("Wrote "))?;
    let (_, rest) = line.split_once(" in ")?;
    let seconds: f64 = rest.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_secs_f64(seconds))
}

/// Prints the write time esptool reports and the time Python takes to start esptool.
fn print_esptool_notes(esptool_runs: &[Run], runs: usize) {
    let reported: Vec<Duration> = esptool_runs.iter().filter_map(|run| run.reported_write).collect();
    if reported.len() == esptool_runs.len() {
        println!("esptool reports a median write time of {}.", seconds(median(&reported)));
    }
    let starts: Vec<Duration> = (0..runs)
        .map(|_| {
            let mut process = Process::new("python3");
            process.args(["-m", "esptool", "version"]);
            time_process(&mut process, "esptool version").0
        })
        .collect();
    println!(
        "Starting Python and esptool (`python3 -m esptool version`) takes {}.\n",
        seconds(median(&starts))
    );
}

/// Runs a command line tool to the end and returns how long it took, process start included, and
/// its standard output.
fn time_process(process: &mut Process, name: &str) -> (Duration, String) {
    let start = Instant::now();
    let output = process.output().unwrap_or_else(|error| panic!("failed to start {name}: {error}"));
    let total = start.elapsed();
    assert!(
        output.status.success(),
        "{name} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (total, String::from_utf8_lossy(&output.stdout).into_owned())
}

// ---- Report ----

/// Bytes of data in the data commands of `log`: what a tool wrote to flash, after compression.
fn data_bytes(log: &[LoggedCommand], commands: &[Command]) -> usize {
    log.iter()
        .filter(|entry| commands.contains(&entry.command))
        .map(|entry| entry.payload_len.saturating_sub(DATA_HEADER_LEN))
        .sum()
}

fn image_data_bytes(log: &[LoggedCommand]) -> usize {
    data_bytes(log, &[Command::FlashData, Command::FlashDeflData])
}

fn wire_time(bytes: usize, baud: u32) -> Duration {
    Duration::from_secs_f64(bytes as f64 * BITS_PER_BYTE / f64::from(baud))
}

fn print_totals(rows: &[CaseResult]) {
    let reference = median(&rows[0].totals());
    println!(
        "| tool | median | min | median / Node Factory | data on the wire | wire-time ideal | median / ideal |"
    );
    println!("|---|---|---|---|---|---|---|");
    for row in rows {
        let totals = row.totals();
        let data = image_data_bytes(&row.runs[0].log);
        let ideal = wire_time(data, FLASH_BAUD);
        println!(
            "| {} | {} | {} | {:.2} | {data} B | {} | {:.2} |",
            row.label,
            seconds(median(&totals)),
            seconds(*totals.iter().min().expect("at least one run")),
            median(&totals).as_secs_f64() / reference.as_secs_f64(),
            seconds(ideal),
            median(&totals).as_secs_f64() / ideal.as_secs_f64(),
        );
    }
    println!();

    println!(
        "| tool | most SYNC requests in a run | commands at {ROM_BAUD} baud | request bytes at {ROM_BAUD} baud | \
         their wire time | of which the stub | commands in all |"
    );
    println!("|---|---|---|---|---|---|---|");
    for row in rows {
        // A SYNC retry shows as a second SYNC request, in any run.
        let syncs = row
            .runs
            .iter()
            .map(|run| run.log.iter().filter(|entry| entry.command == Command::Sync).count())
            .max()
            .unwrap_or(0);
        // The other columns come from the first run. Runs without retries send the same commands.
        let log = &row.runs[0].log;
        // The reply to CHANGE_BAUDRATE still leaves at the old rate, so it counts as slow.
        let slow = log
            .iter()
            .position(|entry| entry.command == Command::ChangeBaudrate)
            .map_or(log.len(), |at| at + 1);
        let slow_bytes: usize = log[..slow].iter().map(|entry| FRAME_OVERHEAD + entry.payload_len).sum();
        let stub = data_bytes(log, &[Command::MemData]);
        println!(
            "| {} | {syncs} | {slow} | {slow_bytes} B | {} | {} | {} |",
            row.label,
            seconds(wire_time(slow_bytes, ROM_BAUD)),
            seconds(wire_time(stub, ROM_BAUD)),
            log.len()
        );
    }
    println!();
}

/// The end of one phase of a Node Factory run: the first event that matches, or the return of
/// `flash_and_record`.
enum PhaseEnd {
    Event(fn(&FlashEvent) -> bool),
    Return,
}

/// The phases of a Node Factory run, in order.
const PHASES: [(&str, PhaseEnd); 7] = [
    ("registry lookup and plan check", PhaseEnd::Event(|e| matches!(e, FlashEvent::Connecting { .. }))),
    (
        "connect (SYNC, chip detection, stub upload, flash ID, baud switch)",
        PhaseEnd::Event(|e| matches!(e, FlashEvent::Connected { .. })),
    ),
    ("prepare (SPI attach, compress)", PhaseEnd::Event(|e| matches!(e, FlashEvent::RegionStarted { .. }))),
    ("write", PhaseEnd::Event(|e| matches!(e, FlashEvent::Verifying { .. }))),
    ("verify (MD5)", PhaseEnd::Event(|e| matches!(e, FlashEvent::Verified { .. }))),
    ("finish and record (FLASH_DEFL_END, SQLite)", PhaseEnd::Event(|e| matches!(e, FlashEvent::Recorded))),
    ("read back the registration", PhaseEnd::Return),
];

/// Splits a run into the durations of [`PHASES`].
fn phase_times(run: &Run) -> Vec<Duration> {
    let mut previous = Duration::ZERO;
    PHASES
        .iter()
        .map(|(label, end)| {
            let at = match end {
                PhaseEnd::Return => run.total,
                PhaseEnd::Event(is_end) => run
                    .events
                    .iter()
                    .find(|(_, event)| is_end(event))
                    .map(|(at, _)| *at)
                    .unwrap_or_else(|| panic!("no event ends the phase `{label}`")),
            };
            let phase = at.saturating_sub(previous);
            previous = at;
            phase
        })
        .collect()
}

fn print_breakdown(row: &CaseResult) {
    let ideal = wire_time(image_data_bytes(&row.runs[0].log), FLASH_BAUD);
    let per_run: Vec<Vec<Duration>> = row.runs.iter().map(phase_times).collect();
    let medians: Vec<Duration> = (0..PHASES.len())
        .map(|phase| median(&per_run.iter().map(|times| times[phase]).collect::<Vec<_>>()))
        .collect();

    println!("| Node Factory phase | median | share of the wire-time ideal |");
    println!("|---|---|---|");
    for ((label, _), time) in PHASES.iter().zip(&medians) {
        println!("| {label} | {} | {} |", seconds(*time), percent(*time, ideal));
    }

    // Connect, verify, and finish-and-record: the per-board cost beyond moving the image.
    let overhead = medians[1] + medians[4] + medians[5];
    println!("| connect + verify + recording | {} | {} |", seconds(overhead), percent(overhead, ideal));
    let outside_write = medians.iter().sum::<Duration>() - medians[3];
    println!(
        "| everything but the write | {} | {} |\n",
        seconds(outside_write),
        percent(outside_write, ideal)
    );
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 1 { sorted[middle] } else { (sorted[middle - 1] + sorted[middle]) / 2 }
}

fn seconds(time: Duration) -> String {
    format!("{:.3} s", time.as_secs_f64())
}

fn percent(part: Duration, whole: Duration) -> String {
    format!("{:.1}%", 100.0 * part.as_secs_f64() / whole.as_secs_f64())
}
