//! Commands of the Bench screen: ports, simulated boards and flash jobs.

use rom_sim::Fault;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};

use super::blocking;
use crate::ports;

use crate::dto::{BenchPort, FlashJobEvent, FlashJobInput};
use crate::error::{CommandError, CommandResult};
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

#[tauri::command]
pub fn start_flash_job(input: FlashJobInput, on_event: Channel<FlashJobEvent>) -> CommandResult<String> {
    // FIXME: run the build-flash-record workflow of the `bench` crate once it exists.
    let error = CommandError::new(
        "workflow_unavailable",
        format!("cannot flash {} on {}: flashing is not built into this app yet", input.node_id, input.port),
    );
    let _ = on_event.send(FlashJobEvent::Failed { error: error.clone() });
    Err(error)
}

#[tauri::command]
pub fn cancel_flash_job(job_id: String) -> CommandResult<()> {
    Err(CommandError::new("job_not_found", format!("no flash job {job_id} is running")))
}
