//! A bench job: the whole main task for one board, from firmware source to recorded result.
//!
//! With an ESP-IDF project as the source, the job writes the registration's identity into a
//! private copy of the project's `sdkconfig`, builds it with `idf.py`, flashes the build and
//! records the result. With a build folder or an ELF, it only flashes and records. The order is
//! the provisioning order: check, change the registry, write files, then flash; the
//! registration is marked provisioned only by a verified, recorded flash.

use std::path::{Path, PathBuf};

use factory_core::{Chip, NodeId, OtaToken, Registration};
use flasher::{ElfImage, FlashEvent, FlashOptions, FlashPlan, PortInfo};
use registry::Registry;
use serde::{Deserialize, Serialize};

use crate::build::{BuildFolder, find_idf, run_build};
use crate::flash::{FlashJobError, FlashRequest, FlashSuccess, flash_and_record};
use crate::provision::{ProvisionRequest, TokenSource, provision};
use crate::{BenchError, BenchSettings};

/// The firmware a job flashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "path", rename_all = "snake_case")]
pub enum FirmwareSource {
    /// An ESP-IDF project folder, patched and built for each board.
    Project(PathBuf),
    /// An existing ESP-IDF build folder with `flasher_args.json`.
    BuildFolder(PathBuf),
    /// An application ELF.
    Elf(PathBuf),
}

/// Settings of the machine the jobs run on.
#[derive(Debug, Clone)]
pub struct JobSettings {
    pub bench: BenchSettings,
    /// The ESP-IDF folder, or `None` to look at `IDF_PATH` and `PATH`.
    pub idf_location: Option<PathBuf>,
    /// The folder for the private build folders of project jobs.
    pub jobs_dir: PathBuf,
}

/// One board to flash.
#[derive(Debug, Clone)]
pub struct JobRequest {
    pub node_id: NodeId,
    pub port: PortInfo,
    pub source: FirmwareSource,
    /// For project sources: the token written into the firmware. Ignored for prebuilt firmware,
    /// which already carries its token.
    pub token: TokenSource,
    pub options: FlashOptions,
    /// Keeps the private build folder, which contains the OTA token, after a successful flash.
    pub keep_build_files: bool,
}

/// The stage a job is in, for front ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStage {
    Patching,
    Building,
    Flashing,
}

/// Progress of a job, in order: stages, the build's output lines, and the flasher's events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobEvent {
    Stage { stage: JobStage },
    BuildOutput { line: String },
    Flash { event: FlashEvent },
}

/// A flashed, verified and recorded board.
#[derive(Debug, Clone)]
pub struct JobSuccess {
    pub flash: FlashSuccess,
    /// The token minted for this board when the job rotated it; shown once.
    pub new_token: Option<OtaToken>,
    /// The build folder, when the user chose to keep it.
    pub kept_build_folder: Option<PathBuf>,
}

/// The failure of a job.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Bench(#[from] BenchError),

    #[error(transparent)]
    Flash(#[from] FlashJobError),
}

impl JobError {
    pub fn code(&self) -> &'static str {
        match self {
            JobError::Bench(error) => error.code(),
            JobError::Flash(error) => error.code(),
        }
    }

    /// Returns the token minted for the job before it failed, which the user must see because
    /// it is stored nowhere else.
    pub fn recovered_token(&self) -> Option<&OtaToken> {
        match self {
            JobError::Bench(error) => error.recovered_token(),
            JobError::Flash(_) => None,
        }
    }

    pub fn hint(&self) -> Option<&'static str> {
        match self {
            JobError::Bench(error) => error.hint(),
            JobError::Flash(error) => error.hint(),
        }
    }
}

/// Runs one job. See the module documentation for the steps.
pub fn run_job(
    registry: &dyn Registry,
    settings: &JobSettings,
    request: &JobRequest,
    on_event: &mut dyn FnMut(JobEvent),
) -> Result<JobSuccess, JobError> {
    check_job_permissions(registry, request).map_err(BenchError::from)?;
    let (plan, build) = match &request.source {
        FirmwareSource::Project(project) => {
            let (plan, build) = build_project(registry, settings, request, project, on_event)?;
            (plan, Some(build))
        }
        FirmwareSource::BuildFolder(folder) => {
            (FlashPlan::from_build_folder(folder).map_err(plan_error)?, None)
        }
        FirmwareSource::Elf(path) => (
            FlashPlan::from_elf(ElfImage { path: path.clone(), bootloader: None, partition_table: None }),
            None,
        ),
    };

    on_event(JobEvent::Stage { stage: JobStage::Flashing });
    let mut options = request.options.clone();
    if let Some(build) = &build {
        options.idf_target = Some(build.chip);
    }
    let flash_request =
        FlashRequest { node_id: request.node_id.clone(), port: request.port.clone(), plan, options };
    let result = flash_and_record(registry, flash_request, &mut |event| {
        on_event(JobEvent::Flash { event: event.clone() })
    });

    let new_token = build.as_ref().and_then(|build| build.new_token.clone());
    match result {
        Ok(flash) => {
            let kept_build_folder = build.as_ref().and_then(|build| {
                if request.keep_build_files {
                    Some(build.folder.root.clone())
                } else {
                    build.folder.remove();
                    None
                }
            });
            Ok(JobSuccess { flash, new_token, kept_build_folder })
        }
        Err(error) => {
            if let Some(build) = &build {
                build.folder.remove();
            }
            match new_token {
                Some(token) => Err(JobError::Bench(BenchError::AfterRegistryChange {
                    source: Box::new(BenchError::Flash(Box::new(error))),
                    committed: "the OTA token was rotated".to_owned(),
                    new_token: Some(token),
                })),
                None => Err(error.into()),
            }
        }
    }
}

/// Checks up front that the operator may do every step of the job, so that a refusal comes
/// before a file is patched or a board is written.
fn check_job_permissions(
    registry: &dyn Registry,
    request: &JobRequest,
) -> Result<(), registry::RegistryError> {
    let mut needed = crate::flash::REQUIRED_PERMISSIONS.to_vec();
    if matches!(request.source, FirmwareSource::Project(_)) {
        needed
            .extend(crate::provision::required_permissions(&job_provision_request(request, PathBuf::new())));
    }
    registry.check_permissions(&needed)
}

/// The provisioning step of a project job: the token into the private `sdkconfig`, and no
/// marking, because only the recorded flash provisions the registration.
fn job_provision_request(request: &JobRequest, sdkconfig: PathBuf) -> ProvisionRequest {
    ProvisionRequest {
        node_id: request.node_id.clone(),
        config_files: vec![sdkconfig],
        token: request.token.clone(),
        rotate_download_id: false,
        mark_provisioned: false,
    }
}

/// A project build ready to flash.
struct ProjectBuild {
    folder: BuildFolder,
    chip: Chip,
    new_token: Option<OtaToken>,
}

fn build_project(
    registry: &dyn Registry,
    settings: &JobSettings,
    request: &JobRequest,
    project: &Path,
    on_event: &mut dyn FnMut(JobEvent),
) -> Result<(FlashPlan, ProjectBuild), BenchError> {
    on_event(JobEvent::Stage { stage: JobStage::Patching });
    let registration = registry.get(&request.node_id)?;
    let chip = project_chip(&registration, project)?;
    let tool = find_idf(settings.idf_location.as_deref())?;
    let folder = BuildFolder::create(&settings.jobs_dir, project, &registration.node_id, chip)?;

    let provision_request = job_provision_request(request, folder.sdkconfig.clone());
    let provisioned = match provision(registry, &settings.bench, &provision_request) {
        Ok(provisioned) => provisioned,
        Err(error) => {
            folder.remove();
            return Err(error);
        }
    };
    let new_token = provisioned.new_token;

    on_event(JobEvent::Stage { stage: JobStage::Building });
    let built = run_build(&tool, project, &folder, chip, &mut |line| {
        on_event(JobEvent::BuildOutput { line: line.to_owned() })
    })
    .and_then(|()| FlashPlan::from_build_folder(&folder.build_dir).map_err(plan_error));

    match built {
        Ok(plan) => Ok((plan, ProjectBuild { folder, chip, new_token })),
        Err(error) => {
            folder.remove();
            Err(match new_token {
                Some(token) => BenchError::AfterRegistryChange {
                    source: Box::new(error),
                    committed: "the OTA token was rotated".to_owned(),
                    new_token: Some(token),
                },
                None => error,
            })
        }
    }
}

/// Returns the registration's chip, or else the chip the project's `sdkconfig` targets.
fn project_chip(registration: &Registration, project: &Path) -> Result<Chip, BenchError> {
    if let Some(chip) = registration.target_chip {
        return Ok(chip);
    }
    let sdkconfig = project.join("sdkconfig");
    match sdkconfig::SdkConfig::read(&sdkconfig).ok().and_then(|config| config.idf_target()) {
        Some(target) => Ok(target.parse()?),
        None => Err(BenchError::NoTargetChip { node_id: registration.node_id.clone(), path: sdkconfig }),
    }
}

fn plan_error(error: flasher::FlashError) -> BenchError {
    BenchError::Plan(Box::new(error))
}
