//! Whole bench jobs from an ESP-IDF project: patch a private sdkconfig, build it with the
//! stand-in idf.py, flash a simulated board with the real espflash, and record the result.

use std::path::{Path, PathBuf};

use bench::BenchSettings;
use bench::job::{FirmwareSource, JobEvent, JobRequest, JobSettings, JobStage, run_job};
use bench::provision::TokenSource;
use factory_core::{Chip, NodeId, RegistrationStatus};
use flasher::{FlashEvent, FlashOptions, PortInfo, ResetMode};
use registry::{MintRequest, NodeMetadata, Registry, SqliteRegistry};
use rom_sim::{BoardConfig, Fault, SimBoard, SimChip};
use tempfile::TempDir;

struct Setup {
    folder: TempDir,
    registry: SqliteRegistry,
    settings: JobSettings,
    project: PathBuf,
}

fn shared_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

impl Setup {
    fn new(sdkconfig: &[u8]) -> Setup {
        let folder = TempDir::new().unwrap();
        let registry = SqliteRegistry::open(&folder.path().join("registry.sqlite3")).unwrap();
        let project = folder.path().join("ultranode");
        std::fs::create_dir_all(&project).unwrap();
        std::fs::write(project.join("sdkconfig"), sdkconfig).unwrap();
        let settings = JobSettings {
            bench: BenchSettings {
                firmware_dir: folder.path().join("firmware"),
                public_url: "https://ota.example.com".into(),
            },
            idf_location: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/idf.py")),
            jobs_dir: folder.path().join("jobs"),
        };
        Setup { folder, registry, settings, project }
    }

    fn with_real_sdkconfig() -> Setup {
        Setup::new(
            &std::fs::read(shared_data().join("sdkconfig/esp32c3_idf4.4.1_ads1256_CRLF.sdkconfig")).unwrap(),
        )
    }

    fn mint(&self) -> NodeId {
        let request = MintRequest {
            count: 1,
            target_chip: Some(Chip::Esp32c3),
            metadata: NodeMetadata::None,
            idempotency_key: None,
        };
        self.registry.mint_batch(&request).unwrap().remove(0).registration.node_id
    }

    fn request(&self, node_id: &NodeId, board: &SimBoard) -> JobRequest {
        JobRequest {
            node_id: node_id.clone(),
            port: PortInfo::explicit(board.port_path().to_str().unwrap()),
            source: FirmwareSource::Project(self.project.clone()),
            token: TokenSource::Rotate,
            options: FlashOptions { reset: ResetMode::None, ..FlashOptions::default() },
            keep_build_files: false,
        }
    }

    fn job_folders(&self) -> usize {
        std::fs::read_dir(&self.settings.jobs_dir).map(|entries| entries.count()).unwrap_or(0)
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

#[test]
fn project_job_builds_flashes_and_records() {
    let setup = Setup::with_real_sdkconfig();
    let project_sdkconfig = std::fs::read(setup.project.join("sdkconfig")).unwrap();
    let node_id = setup.mint();
    let board = SimBoard::start(BoardConfig::new(SimChip::Esp32c3)).unwrap();
    let mut events = Vec::new();

    let success = run_job(&setup.registry, &setup.settings, &setup.request(&node_id, &board), &mut |event| {
        events.push(event)
    })
    .unwrap();

    let stages: Vec<JobStage> = events
        .iter()
        .filter_map(|event| if let JobEvent::Stage { stage } = event { Some(*stage) } else { None })
        .collect();
    assert_eq!(stages, [JobStage::Patching, JobStage::Building, JobStage::Flashing]);
    assert!(events.iter().any(
        |event| matches!(event, JobEvent::BuildOutput { line } if line.contains("Project build complete"))
    ));
    assert_eq!(events.last(), Some(&JobEvent::Flash { event: FlashEvent::Recorded }));

    let token = success.new_token.expect("the job rotated the token");
    let registration = setup.registry.get(&node_id).unwrap();
    assert_eq!(registration.status(), RegistrationStatus::Provisioned);
    assert!(registration.token_hash.matches(token.expose_secret()));
    assert!(contains(
        &board.read_flash(0x10000, 0x8000),
        format!("\"CONFIG_UL_NODE_ID\": \"{node_id}\"").as_bytes()
    ));
    assert_eq!(setup.job_folders(), 0, "the token-bearing build folder is deleted");
    assert_eq!(
        std::fs::read(setup.project.join("sdkconfig")).unwrap(),
        project_sdkconfig,
        "the project is untouched"
    );
}

#[test]
fn kept_build_folder_survives() {
    let setup = Setup::with_real_sdkconfig();
    let node_id = setup.mint();
    let board = SimBoard::start(BoardConfig::new(SimChip::Esp32c3)).unwrap();
    let mut request = setup.request(&node_id, &board);
    request.keep_build_files = true;

    let success = run_job(&setup.registry, &setup.settings, &request, &mut |_| {}).unwrap();

    let kept = success.kept_build_folder.expect("a kept folder");
    assert!(kept.join("build/flasher_args.json").is_file());
    assert!(std::fs::read_to_string(kept.join("sdkconfig")).unwrap().contains(node_id.as_str()));
}

#[test]
fn cable_pulled_mid_write_keeps_registration_available() {
    let setup = Setup::with_real_sdkconfig();
    let node_id = setup.mint();
    let mut config = BoardConfig::new(SimChip::Esp32c3);
    config.faults = vec![Fault::StallAfter(25)];
    let board = SimBoard::start(config).unwrap();

    let error =
        run_job(&setup.registry, &setup.settings, &setup.request(&node_id, &board), &mut |_| {}).unwrap_err();

    assert_eq!(error.code(), "board_stopped_answering", "{error}");
    assert!(error.hint().unwrap().contains("cable"), "{:?}", error.hint());
    let token = error.recovered_token().expect("the rotated token travels with the error");
    let registration = setup.registry.get(&node_id).unwrap();
    assert_eq!(registration.status(), RegistrationStatus::Available);
    assert!(registration.token_hash.matches(token.expose_secret()));
    assert_eq!(setup.registry.flash_history(&node_id).unwrap().len(), 1);
    assert_eq!(setup.job_folders(), 0);
}

#[test]
fn broken_sdkconfig_fails_build_before_flashing() {
    let setup = Setup::new(b"CONFIG_IDF_TARGET=\"esp32c3\"\nthis line is not an assignment\n");
    let node_id = setup.mint();
    let board = SimBoard::start(BoardConfig::new(SimChip::Esp32c3)).unwrap();
    let mut events = Vec::new();

    let error = run_job(&setup.registry, &setup.settings, &setup.request(&node_id, &board), &mut |event| {
        events.push(event)
    })
    .unwrap_err();

    assert_eq!(error.code(), "build_failed");
    assert!(error.to_string().contains("malformed sdkconfig line"), "{error}");
    assert!(error.recovered_token().is_some());
    assert!(!events.iter().any(|event| matches!(event, JobEvent::Stage { stage: JobStage::Flashing })));
    assert!(board.command_log().is_empty());
    assert!(setup.registry.flash_history(&node_id).unwrap().is_empty());
    assert_eq!(setup.job_folders(), 0);
}

#[test]
fn missing_idf_fails_before_registry_changes() {
    let mut setup = Setup::with_real_sdkconfig();
    setup.settings.idf_location = Some(setup.folder.path().join("no-esp-idf"));
    let node_id = setup.mint();
    let before = setup.registry.get(&node_id).unwrap();
    let board = SimBoard::start(BoardConfig::new(SimChip::Esp32c3)).unwrap();

    let result = run_job(&setup.registry, &setup.settings, &setup.request(&node_id, &board), &mut |_| {});

    // A machine with idf.py on PATH finds it there; only without one is this an error.
    if let Err(error) = result {
        assert_eq!(error.code(), "idf_not_found");
        assert!(error.hint().unwrap().contains("export.sh"));
        assert_eq!(setup.registry.get(&node_id).unwrap(), before, "the token was not rotated");
    }
}
