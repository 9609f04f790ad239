//! Commands of the Bench screen: ports, simulated boards and flash jobs.

use tauri::State;
use tauri::ipc::Channel;

use crate::dto::{BenchPort, FlashJobEvent, FlashJobInput};
use crate::error::{CommandError, CommandResult};
use crate::state::{AppState, lock};

#[tauri::command]
pub fn list_ports(state: State<'_, AppState>) -> Vec<BenchPort> {
    lock(&state.ports).clone()
}

#[tauri::command]
pub fn attach_simulated_boards(count: u32) -> CommandResult<Vec<BenchPort>> {
    // FIXME: start `rom_sim::SimBoard`s once the simulator crate exports them.
    Err(CommandError::new("simulator_unavailable", format!("cannot attach {count} simulated boards")))
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
