//! Commands of the Bench screen: ports, simulated boards and flash jobs.

use std::path::PathBuf;
use std::sync::Arc;

use bench::flash::FlashJobError;
use bench::job::{
    FirmwareSource as JobSource, JobError, JobEvent, JobRequest, JobSettings, JobStage as BenchStage,
};
use bench::provision::TokenSource;
use flasher::{FlashEvent, FlashOptions, PortInfo, ResetMode as FlasherReset};
use rom_sim::Fault;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};

use super::registrations::parse_token;
use super::{blocking, parse_node_id};
use crate::dto::{
    BenchPort, CardClaim, ChipName, FirmwareSource, FlashJobEvent, FlashJobInput, JobStage, TokenChoice,
    redact_line,
};
use crate::error::{CommandError, CommandResult, bench_code, registry_code};
use crate::ports;
use crate::settings::ResetMode;
use crate::state::{AppState, lock};

#[tauri::command]
pub fn list_ports(state: State<'_, AppState>) -> Vec<BenchPort> {
    lock(&state.ports).clone()
}

/// The most simulated boards one request may attach; each one is a thread and a pty.
const MAX_SIMULATED_PER_REQUEST: u32 = 16;

/// Attaches simulated boards, optionally with fault knobs such as `stall-after=40` (a cable
/// pulled mid-write) for training and tests.
#[tauri::command]
pub async fn attach_simulated_boards(
    app: AppHandle,
    count: u32,
    faults: Option<Vec<String>>,
) -> CommandResult<Vec<BenchPort>> {
    if count == 0 || count > MAX_SIMULATED_PER_REQUEST {
        return Err(CommandError::invalid(format!(
            "invalid board count {count}: attach between 1 and {MAX_SIMULATED_PER_REQUEST} at a time"
        )));
    }
    let faults = faults
        .unwrap_or_default()
        .iter()
        .map(|knob| knob.parse::<Fault>().map_err(|error| CommandError::invalid(error.to_string())))
        .collect::<CommandResult<Vec<_>>>()?;

    blocking(move || {
        let added = app.state::<AppState>().simulated.attach(count, &faults)?;
        ports::refresh(&app, &mut None);
        Ok(added)
    })
    .await
}

/// Returns the registration a bench card offers: the one it holds, or else the next one (a
/// reservation under a lease on a registry server). `chip` is the board's chip, when known.
#[tauri::command]
pub async fn card_registration(
    state: State<'_, AppState>,
    port: String,
    chip: Option<ChipName>,
) -> CommandResult<CardClaim> {
    let (active, claims) = (Arc::clone(&state.registry), Arc::clone(&state.claims));
    blocking(move || claims.current(&active, &port, chip.map(Into::into))).await
}

/// Gives up the card's registration, releasing its lease, and takes the next one.
#[tauri::command]
pub async fn next_card_registration(
    state: State<'_, AppState>,
    port: String,
    chip: Option<ChipName>,
) -> CommandResult<CardClaim> {
    let (active, claims) = (Arc::clone(&state.registry), Arc::clone(&state.claims));
    blocking(move || claims.next(&active, &port, chip.map(Into::into))).await
}

/// Makes a typed or scanned registration the card's, releasing the lease of the one before.
#[tauri::command]
pub async fn pick_card_registration(
    state: State<'_, AppState>,
    port: String,
    node_id: String,
) -> CommandResult<CardClaim> {
    let (active, claims) = (Arc::clone(&state.registry), Arc::clone(&state.claims));
    let node_id = parse_node_id(&node_id)?;
    blocking(move || claims.pick(&active, &port, &node_id)).await
}

/// Starts a bench job (patch, build, flash, record) on its own thread and returns its ID at
/// once. Progress, then `finished` or `failed`, arrive on `on_event`.
#[tauri::command]
pub async fn start_flash_job(
    app: AppHandle,
    state: State<'_, AppState>,
    input: FlashJobInput,
    on_event: Channel<FlashJobEvent>,
) -> CommandResult<String> {
    let active = Arc::clone(&state.registry);
    let registry = blocking(move || active.registry()).await?;
    let claims = Arc::clone(&state.claims);
    let settings = state.settings();
    let node_id = parse_node_id(&input.node_id)?;
    let (token, secret) = match &input.token {
        TokenChoice::Rotate => (TokenSource::Rotate, String::new()),
        TokenChoice::Existing { ota_token } => {
            (TokenSource::Provided(parse_token(ota_token)?), ota_token.trim().to_owned())
        }
    };
    let simulated = state.simulated.ports().iter().any(|port| port.name == input.port);
    let source = match &input.source {
        FirmwareSource::Project { path } => JobSource::Project(PathBuf::from(path)),
        FirmwareSource::BuildFolder { path } => JobSource::BuildFolder(PathBuf::from(path)),
        FirmwareSource::Elf { path } => JobSource::Elf(PathBuf::from(path)),
    };
    let options = FlashOptions {
        // A simulated board sits on a pseudo-terminal, which has no DTR or RTS lines.
        reset: if simulated || settings.reset_mode == ResetMode::NoReset {
            FlasherReset::None
        } else {
            FlasherReset::Auto
        },
        baud: Some(settings.default_baud),
        erase_all: input.erase_all,
        ..FlashOptions::default()
    };
    let job_settings = JobSettings {
        bench: settings.bench_settings(),
        idf_location: Some(settings.esp_idf_path.trim()).filter(|path| !path.is_empty()).map(PathBuf::from),
        jobs_dir: app.path().app_local_data_dir()?.join("jobs"),
    };
    let job_id = uuid::Uuid::new_v4().simple().to_string();
    let port_name = input.port.clone();
    let keep_build_files = input.keep_build_files;

    let span_job_id = job_id.clone();
    std::thread::Builder::new()
        .name(format!("flash-job-{port_name}"))
        .spawn(move || {
            let span = tracing::info_span!("flash_job", job_id = %span_job_id, %node_id, port = %port_name);
            let _entered = span.enter();
            let request = JobRequest {
                node_id: node_id.clone(),
                port: PortInfo::explicit(&port_name),
                source,
                token,
                options,
                keep_build_files,
            };
            let mut events = EventTranslator::default();
            let send = |event: FlashJobEvent| {
                // The window may be gone; the job still finishes and is recorded.
                let _ = on_event.send(event);
            };

            let result = bench::job::run_job(registry.as_ref(), &job_settings, &request, &mut |event| {
                for translated in events.translate(event, &secret) {
                    send(translated);
                }
            });
            match result {
                Ok(success) => {
                    tracing::info!(mac = %success.flash.report.mac, "board flashed and recorded");
                    claims.flashed(&port_name, &node_id);
                    send(FlashJobEvent::Finished {
                        node_id: node_id.to_string(),
                        mac: success.flash.report.mac,
                    });
                }
                Err(error) => {
                    tracing::warn!(code = error.code(), %error, "flash job failed");
                    send(FlashJobEvent::Failed { error: job_error(&error) });
                }
            }
        })
        .map_err(|error| CommandError::new("internal", format!("failed to start the flash job: {error}")))?;
    Ok(job_id)
}

pub(crate) fn job_error(error: &JobError) -> CommandError {
    let code = match error {
        JobError::Bench(bench) => bench_code(bench),
        JobError::Flash(FlashJobError::Registry(registry)) => registry_code(registry),
        JobError::Flash(_) => error.code(),
    };
    let mut converted = CommandError::new(code, error.to_string());
    if let Some(hint) = error.hint() {
        converted.hint = Some(hint.to_owned());
    }
    converted.recovered_token = error.recovered_token().map(|token| token.expose_secret().to_owned());
    converted
}

/// Turns the workflow's events into the ones the card shows, adding the stage changes that
/// the flasher's events imply.
#[derive(Default)]
struct EventTranslator {
    writing: bool,
    verifying: bool,
}

impl EventTranslator {
    fn translate(&mut self, event: JobEvent, secret: &str) -> Vec<FlashJobEvent> {
        let stage = |stage| FlashJobEvent::Stage { stage };
        let index = |value: usize| u32::try_from(value).unwrap_or(u32::MAX);
        match event {
            JobEvent::Stage { stage: BenchStage::Patching } => vec![stage(JobStage::Preparing)],
            JobEvent::Stage { stage: BenchStage::Building } => vec![stage(JobStage::Building)],
            JobEvent::Stage { stage: BenchStage::Flashing } => Vec::new(),
            JobEvent::BuildOutput { line } => vec![FlashJobEvent::Log { line: redact_line(&line, secret) }],
            JobEvent::Flash { event } => match event {
                FlashEvent::Connecting { port } => {
                    vec![
                        stage(JobStage::Connecting),
                        FlashJobEvent::Log { line: format!("connecting to {port}") },
                    ]
                }
                FlashEvent::Connected { chip, revision, mac, flash_size } => vec![
                    FlashJobEvent::Log {
                        line: format!(
                            "connected: {} {}, MAC {mac}",
                            chip.display_name(),
                            revision.clone().unwrap_or_default()
                        ),
                    },
                    FlashJobEvent::ChipDetected {
                        chip: ChipName::from(chip),
                        revision,
                        mac,
                        flash_size: Some(crate::dto::saturate(flash_size)),
                    },
                ],
                FlashEvent::Erasing => vec![stage(JobStage::Erasing)],
                FlashEvent::Erased => vec![FlashJobEvent::Log { line: "flash erased".to_owned() }],
                FlashEvent::RegionStarted { index: region, offset, size, name } => {
                    let mut events = Vec::new();
                    if !std::mem::replace(&mut self.writing, true) {
                        events.push(stage(JobStage::Writing));
                    }
                    events.push(FlashJobEvent::RegionStarted {
                        index: index(region),
                        offset,
                        size,
                        name: Some(name),
                    });
                    events
                }
                FlashEvent::Written { index: region, bytes, total } => {
                    vec![FlashJobEvent::RegionProgress { index: index(region), written: bytes, total }]
                }
                FlashEvent::RegionSkipped { index: region, offset } => vec![
                    FlashJobEvent::Log { line: format!("region at 0x{offset:x} unchanged, skipped") },
                    FlashJobEvent::RegionSkipped { index: index(region) },
                ],
                FlashEvent::RegionFinished { index: region } => {
                    vec![FlashJobEvent::RegionDone { index: index(region) }]
                }
                FlashEvent::Verifying { .. } if !std::mem::replace(&mut self.verifying, true) => {
                    vec![stage(JobStage::Verifying)]
                }
                FlashEvent::Verifying { .. } | FlashEvent::Verified { .. } => Vec::new(),
                FlashEvent::Recorded => vec![stage(JobStage::Recording)],
                // The job's result carries the full error, sent as `Failed` when it returns.
                FlashEvent::Failed { .. } => Vec::new(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translator_adds_writing_stage_once() {
        let mut translator = EventTranslator::default();
        let started = |index| JobEvent::Flash {
            event: FlashEvent::RegionStarted { index, offset: 0, size: 10, name: "app.bin".to_owned() },
        };
        assert_eq!(translator.translate(started(0), "").len(), 2);
        assert_eq!(translator.translate(started(1), "").len(), 1);
    }

    #[test]
    fn translator_redacts_build_output() {
        let mut translator = EventTranslator::default();
        let events =
            translator.translate(JobEvent::BuildOutput { line: "token ulota_abc".to_owned() }, "ulota_abc");
        assert_eq!(events, [FlashJobEvent::Log { line: "token …redacted".to_owned() }]);
    }
}
