//! The flash workflow against simulated boards: the real espflash over a real pseudo-terminal,
//! and a real SQLite registry. Every attempt that reached a board is recorded.

use std::path::{Path, PathBuf};

use bench::flash::{FlashJobError, FlashRequest, flash_and_record};
use factory_core::{Chip, NodeId, RegistrationStatus};
use flasher::{ElfImage, FlashEvent, FlashOptions, FlashPlan, PortInfo, ResetMode};
use registry::{FlashOutcome, MintRequest, NodeMetadata, Registry, SqliteRegistry};
use rom_sim::{BoardConfig, Fault, SimBoard, SimChip};
use tempfile::TempDir;

fn firmware(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/firmware").join(name)
}

struct Bench {
    _folder: TempDir,
    registry: SqliteRegistry,
}

impl Bench {
    fn new() -> Bench {
        let folder = TempDir::new().unwrap();
        let registry = SqliteRegistry::open(&folder.path().join("registry.sqlite3")).unwrap();
        Bench { _folder: folder, registry }
    }

    fn mint(&self, chip: Chip) -> NodeId {
        let request = MintRequest {
            count: 1,
            target_chip: Some(chip),
            metadata: NodeMetadata::None,
            idempotency_key: None,
        };
        self.registry.mint_batch(&request).unwrap().remove(0).registration.node_id
    }

    fn flash(
        &self,
        node_id: &NodeId,
        board: &SimBoard,
        elf: &str,
        events: &mut Vec<FlashEvent>,
    ) -> Result<(), FlashJobError> {
        let request = FlashRequest {
            node_id: node_id.clone(),
            port: PortInfo::explicit(board.port_path().to_str().unwrap()),
            plan: FlashPlan::from_elf(ElfImage {
                path: firmware(elf),
                bootloader: None,
                partition_table: None,
            }),
            options: FlashOptions { reset: ResetMode::None, ..FlashOptions::default() },
        };
        flash_and_record(&self.registry, request, &mut |event| events.push(event.clone())).map(drop)
    }
}

#[test]
fn success_marks_provisioned_with_mac() {
    let bench = Bench::new();
    let node_id = bench.mint(Chip::Esp32c3);
    let board = SimBoard::start(BoardConfig::new(SimChip::Esp32c3)).unwrap();
    let mut events = Vec::new();

    bench.flash(&node_id, &board, "esp32c3.elf", &mut events).unwrap();

    assert_eq!(events.last(), Some(&FlashEvent::Recorded));
    let registration = bench.registry.get(&node_id).unwrap();
    assert_eq!(registration.status(), RegistrationStatus::Provisioned);
    let history = bench.registry.flash_history(&node_id).unwrap();
    assert_eq!(history.len(), 1);
    let attempt = &history[0].attempt;
    assert_eq!(attempt.outcome, FlashOutcome::Success);
    let mac = board.mac().iter().map(|byte| format!("{byte:02x}")).collect::<Vec<_>>().join(":");
    assert_eq!(attempt.mac.as_deref(), Some(mac.as_str()));
    assert_eq!(attempt.chip, Some(Chip::Esp32c3));
    assert_eq!(attempt.flash_size, Some(4 * 1024 * 1024));
    assert_eq!(attempt.regions.len(), 3);
    assert!(attempt.regions.iter().all(|region| region.sha256.len() == 64));
}

/// Each fault of the simulated board and the code it must end in. A full flash of this ELF
/// takes 39 commands, so stalling after 30 cuts the cable during the writes.
#[test]
fn every_fault_is_recorded_and_leaves_registration_available() {
    let cases: [(&str, &str); 7] = [
        ("silent", "not_in_download_mode"),
        ("short-sync", "not_in_download_mode"),
        ("wrong-chip=esp32s3", "wrong_chip"),
        ("stall-after=30", "board_stopped_answering"),
        ("error-on=flash-defl-data", "device_error"),
        ("corrupt-flash", "verify_failed"),
        ("no-flash", "no_flash_chip"),
    ];
    let bench = Bench::new();

    for (knob, expected_code) in cases {
        let node_id = bench.mint(Chip::Esp32c3);
        let mut config = BoardConfig::new(SimChip::Esp32c3);
        config.faults = vec![knob.parse::<Fault>().unwrap()];
        let board = SimBoard::start(config).unwrap();
        let mut events = Vec::new();

        let Err(error) = bench.flash(&node_id, &board, "esp32c3.elf", &mut events) else {
            panic!("{knob}: the flash succeeded after {} commands", board.command_log().len());
        };

        assert_eq!(error.code(), expected_code, "{knob}: {error}");
        assert!(error.hint().is_some_and(|hint| !hint.is_empty()), "{knob}");
        assert_eq!(events.last(), Some(&FlashEvent::Recorded), "{knob}");
        let registration = bench.registry.get(&node_id).unwrap();
        assert_eq!(registration.status(), RegistrationStatus::Available, "{knob}");
        let history = bench.registry.flash_history(&node_id).unwrap();
        assert_eq!(history.len(), 1, "{knob}");
        assert_eq!(history[0].attempt.outcome, FlashOutcome::Failed, "{knob}");
        assert_eq!(history[0].attempt.error_code.as_deref(), Some(expected_code), "{knob}");
        if expected_code == "wrong_chip" {
            let mac = board.mac().iter().map(|byte| format!("{byte:02x}")).collect::<Vec<_>>().join(":");
            assert_eq!(
                history[0].attempt.mac.as_deref(),
                Some(mac.as_str()),
                "the wrong board's MAC is recorded"
            );
        }
    }
}

#[test]
fn plan_error_is_not_recorded() {
    let bench = Bench::new();
    let node_id = bench.mint(Chip::Esp32c3);
    let board = SimBoard::start(BoardConfig::new(SimChip::Esp32c3)).unwrap();
    let mut events = Vec::new();

    let error = bench.flash(&node_id, &board, "esp32.elf", &mut events).unwrap_err();

    assert_eq!(error.code(), "plan_chip_mismatch");
    assert!(matches!(error, FlashJobError::Flash { record: None, .. }));
    assert!(bench.registry.flash_history(&node_id).unwrap().is_empty());
    assert!(board.command_log().is_empty(), "the board was never touched");
}

#[test]
fn unknown_registration_touches_no_board() {
    let bench = Bench::new();
    let board = SimBoard::start(BoardConfig::new(SimChip::Esp32c3)).unwrap();

    let error = bench
        .flash(&"zzzzzzzzzzzzzzzz".parse().unwrap(), &board, "esp32c3.elf", &mut Vec::new())
        .unwrap_err();

    assert_eq!(error.code(), "registration_not_found");
    assert!(board.command_log().is_empty());
}
