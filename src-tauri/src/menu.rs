//! The window's menu: quitting, and attaching simulated boards for training.

use tauri::menu::{Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::{AppHandle, Manager, Runtime};

use crate::ports;
use crate::state::AppState;

const ATTACH_SIMULATED: &str = "attach-simulated-board";
const ATTACH_SIMULATED_UNPLUGGED: &str = "attach-simulated-board-unplugged";

/// The number of commands a board with the pulled-cable fault replies to before it goes silent:
/// enough to connect, upload the stub and start writing, so the cable seems pulled mid-write.
// NOTE: 32 was counted for an ESP32-C3 build of the stand-in idf.py flashed at 460800 baud
// (tests/e2e); with other chips or baud rates the board may go quiet while still connecting.
const PULLED_CABLE_AFTER: u32 = 32;

pub fn build<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<Menu<R>> {
    let file = Submenu::with_items(app, "File", true, &[&PredefinedMenuItem::quit(app, Some("Quit"))?])?;
    let bench = Submenu::with_items(
        app,
        "Bench",
        true,
        &[
            &MenuItem::with_id(app, ATTACH_SIMULATED, "Attach simulated board", true, None::<&str>)?,
            &MenuItem::with_id(
                app,
                ATTACH_SIMULATED_UNPLUGGED,
                "Attach simulated board whose cable is pulled mid-write",
                true,
                None::<&str>,
            )?,
        ],
    )?;
    Menu::with_items(app, &[&file, &bench])
}

pub fn handle(app: &AppHandle, id: &str) {
    let faults = match id {
        ATTACH_SIMULATED => Vec::new(),
        ATTACH_SIMULATED_UNPLUGGED => vec![rom_sim::Fault::StallAfter(PULLED_CABLE_AFTER)],
        _ => return,
    };
    let app = app.clone();
    // Starting a board opens a pty and a thread; keep that off the UI thread.
    std::thread::spawn(move || match app.state::<AppState>().simulated.attach(1, &faults) {
        Ok(_) => {
            ports::refresh(&app, &mut None);
        }
        Err(error) => tracing::error!(code = %error.code, "{}", error.message),
    });
}
