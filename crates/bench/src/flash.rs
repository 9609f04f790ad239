//! Flashing a board for a registration and recording the attempt in the registry.
//!
//! The flasher talks to the board and reports; this workflow decides what the registry learns.
//! Every attempt that reached the board is recorded as a flash record, successful or not,
//! because support staff need the history. A plan that fails its checks never touched a board
//! and is not recorded. A successful record also marks the registration provisioned, in the
//! same registry transaction.

use chrono::Utc;
use factory_core::{NodeId, Registration};
use flasher::{FlashEvent, FlashFailure, FlashOptions, FlashPlan, FlashReport, PortInfo};
use registry::{
    FlashOutcome, FlashRecord, NewFlashRecord, Permission, RegionDigest, Registry, RegistryError,
};

/// A flash request: the registration, the port and the plan.
#[derive(Debug, Clone)]
pub struct FlashRequest {
    pub node_id: NodeId,
    pub port: PortInfo,
    pub plan: FlashPlan,
    /// Reset mode, baud rate, erase-all, verification and stub settings. The expected chip and
    /// the registration name are filled in from the registration.
    pub options: FlashOptions,
}

/// A flashed and recorded board.
#[derive(Debug, Clone)]
pub struct FlashSuccess {
    pub registration: Registration,
    pub report: FlashReport,
    pub record: FlashRecord,
}

/// The failure of a flash job to end in a recorded success.
#[derive(Debug, thiserror::Error)]
pub enum FlashJobError {
    #[error(transparent)]
    Registry(#[from] RegistryError),

    /// The flasher failed. `record` is the failed attempt stored in the registry, or `None`
    /// when the job never reached the board.
    #[error("{}", failure.error)]
    Flash { failure: Box<FlashFailure>, record: Option<Box<FlashRecord>> },

    /// The board was flashed and verified, but the registry did not store the result.
    #[error(
        "the board (MAC {mac}) was flashed and verified, but recording the flash in the registry failed, so the registration is not marked provisioned: {source}; fix that cause, then flash the same board for the same registration again, which records it"
    )]
    RecordFailed {
        mac: String,
        report: Box<FlashReport>,
        #[source]
        source: RegistryError,
    },
}

impl FlashJobError {
    /// Returns a stable code: the flasher's, or the registry's.
    pub fn code(&self) -> &'static str {
        match self {
            FlashJobError::Registry(error) => error.code(),
            FlashJobError::Flash { failure, .. } => failure.error.code().as_str(),
            FlashJobError::RecordFailed { .. } => "record_failed",
        }
    }

    /// Returns the operator hint for the code, when there is one.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            FlashJobError::Flash { failure, .. } => Some(failure.error.hint()),
            _ => None,
        }
    }
}

/// The permissions flashing needs: a board that cannot be recorded is not flashed.
pub const REQUIRED_PERMISSIONS: [Permission; 2] = [Permission::Read, Permission::RecordFlash];

/// Flashes `request.plan` onto the board at `request.port` for the registration, and records
/// the attempt. Events from the flasher pass through `on_event`, followed by `Recorded` once
/// the registry stored the attempt.
pub fn flash_and_record(
    registry: &dyn Registry,
    request: FlashRequest,
    on_event: &mut dyn FnMut(&FlashEvent),
) -> Result<FlashSuccess, FlashJobError> {
    registry.check_permissions(&REQUIRED_PERMISSIONS)?;
    let registration = registry.get(&request.node_id)?;
    let mut options = request.options.clone();
    options.expected_chip = registration.target_chip;
    options.registration = Some(registration.node_id.to_string());

    let mut reached_board = false;
    let result = flasher::flash(&request.port, &request.plan, &options, &mut |event| {
        if matches!(event, FlashEvent::Connecting { .. }) {
            reached_board = true;
        }
        on_event(event);
    });

    match result {
        Ok(report) => record_success(registry, &request, report, on_event),
        Err(failure) if reached_board => {
            let attempt = failed_attempt(&request, &failure);
            let record = registry.record_flash(&attempt)?;
            on_event(&FlashEvent::Recorded);
            Err(FlashJobError::Flash { failure: Box::new(failure), record: Some(Box::new(record)) })
        }
        Err(failure) => Err(FlashJobError::Flash { failure: Box::new(failure), record: None }),
    }
}

fn record_success(
    registry: &dyn Registry,
    request: &FlashRequest,
    report: FlashReport,
    on_event: &mut dyn FnMut(&FlashEvent),
) -> Result<FlashSuccess, FlashJobError> {
    let attempt = NewFlashRecord {
        node_id: request.node_id.clone(),
        attempted_at: Utc::now(),
        port: request.port.path.clone(),
        bench_host: bench_host(),
        chip: Some(report.chip),
        chip_revision: report.revision.clone(),
        mac: Some(report.mac.clone()),
        flash_size: Some(report.flash_size),
        regions: region_digests(&report.regions),
        outcome: FlashOutcome::Success,
        error_code: None,
        error_message: None,
    };

    let record = match registry.record_flash(&attempt) {
        Ok(record) => record,
        Err(source) => {
            return Err(FlashJobError::RecordFailed {
                mac: report.mac.clone(),
                report: Box::new(report),
                source,
            });
        }
    };
    on_event(&FlashEvent::Recorded);
    let registration = registry.get(&request.node_id)?;
    tracing::info!(node_id = %request.node_id, mac = %report.mac, "flashed and recorded");
    Ok(FlashSuccess { registration, report, record })
}

fn failed_attempt(request: &FlashRequest, failure: &FlashFailure) -> NewFlashRecord {
    let facts = failure.facts.as_ref();
    NewFlashRecord {
        node_id: request.node_id.clone(),
        attempted_at: Utc::now(),
        port: request.port.path.clone(),
        bench_host: bench_host(),
        chip: facts.map(|facts| facts.chip),
        chip_revision: facts.and_then(|facts| facts.revision.clone()),
        mac: facts.map(|facts| facts.mac.clone()),
        flash_size: facts.and_then(|facts| facts.flash_size),
        regions: region_digests(&failure.regions),
        outcome: FlashOutcome::Failed,
        error_code: Some(failure.error.code().as_str().to_owned()),
        error_message: Some(failure.error.to_string()),
    }
}

fn region_digests(regions: &[flasher::RegionReport]) -> Vec<RegionDigest> {
    regions
        .iter()
        .map(|region| RegionDigest {
            offset: region.offset,
            size: u64::from(region.size),
            sha256: region.sha256.clone(),
        })
        .collect()
}

/// Returns the name of this computer, recorded so support staff can tell benches apart.
pub fn bench_host() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}
