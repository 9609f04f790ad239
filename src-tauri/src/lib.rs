//! The Node Factory desktop shell: registers the Tauri commands, the app-wide port events and
//! the window, over the workflows of the `bench` crate.

mod active_registry;
mod claims;
mod commands;
mod connection;
pub mod dto;
mod error;
mod export;
mod health;
mod menu;
pub mod permissions;
mod ports;
mod settings;
mod state;
mod token_store;

#[cfg(test)]
mod remote_tests;

use std::time::Duration;

use tauri::{Emitter, Manager};

pub use crate::error::{CommandError, HINTS};
pub use crate::settings::{RegistrySettings, ResetMode, Settings};

use crate::state::AppState;
use crate::token_store::TokenStore;

/// How long closing the app waits for registry servers to release the bench cards' leases.
const RELEASE_ON_EXIT_LIMIT: Duration = Duration::from_secs(3);

/// Command-line options of the app.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LaunchOptions {
    /// Simulated boards to attach at start (`--simulated-boards N`).
    pub simulated_boards: u32,
}

impl LaunchOptions {
    /// Reads `--simulated-boards N` or `--simulated-boards=N`; other arguments are ignored,
    /// because WebDriver and desktop launchers add their own.
    pub fn parse(arguments: impl IntoIterator<Item = String>) -> Result<LaunchOptions, String> {
        let mut options = LaunchOptions::default();
        let mut arguments = arguments.into_iter();
        while let Some(argument) = arguments.next() {
            let value = match argument.strip_prefix("--simulated-boards") {
                Some("") => arguments.next(),
                Some(rest) if rest.starts_with('=') => Some(rest[1..].to_owned()),
                _ => continue,
            };
            let value = value.unwrap_or_default();
            options.simulated_boards = value.parse().map_err(|_| {
                format!("invalid --simulated-boards value {value:?}: expected a number such as 3")
            })?;
        }
        Ok(options)
    }
}

/// WebKitGTK's environment variable that turns off accelerated compositing.
const WEBKIT_COMPOSITING_VARIABLE: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";

/// Turns off WebKitGTK's accelerated compositing unless the user set the variable. On machines
/// without a GPU it composites in software, and scrolling the registrations table took 77 ms a
/// frame instead of 16 ms (scripts/measure-desktop.mjs under Xvfb on a 2-core VM). The UI has no
/// animations that need it. Must run before any thread starts, because it changes the
/// environment.
#[cfg(target_os = "linux")]
fn disable_webkit_compositing() {
    if std::env::var_os(WEBKIT_COMPOSITING_VARIABLE).is_none() {
        // SAFETY: called first thing in `run`, while the process has a single thread, so no
        // other thread reads the environment during the write.
        unsafe { std::env::set_var(WEBKIT_COMPOSITING_VARIABLE, "1") };
    }
}

/// Starts the app and blocks until its last window closes.
pub fn run() {
    #[cfg(target_os = "linux")]
    disable_webkit_compositing();

    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let options = match LaunchOptions::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("node-factory-app: {message}");
            std::process::exit(2);
        }
    };

    tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .setup(move |app| {
            let config_dir = app.path().app_config_dir()?;
            let settings = settings::load(&config_dir).unwrap_or_else(|error| {
                tracing::error!(code = %error.code, "{}; using default settings", error.message);
                settings::Settings::defaults()
            });
            let state = AppState::new(config_dir, settings, TokenStore::from_env());
            if options.simulated_boards > 0 {
                state.simulated.attach(options.simulated_boards, &[]).map_err(|error| error.message)?;
            }
            let emitter = app.handle().clone();
            state.registry.set_publisher(Box::new(move |status| {
                if let Err(error) = emitter.emit(health::REGISTRY_STATUS_EVENT, status) {
                    tracing::error!(%error, "failed to send the registry-status-changed event");
                }
            }));
            health::spawn(&state.registry, health::Intervals::default())?;
            app.manage(state);

            app.set_menu(menu::build(app.handle())?)?;
            app.on_menu_event(|app, event| menu::handle(app, event.id().as_ref()));
            ports::spawn_watcher(app.handle().clone());
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::registrations::registry_counts,
            commands::registrations::list_registrations,
            commands::registrations::get_registration,
            commands::registrations::rotate_token,
            commands::registrations::rotate_download_id,
            commands::registrations::patch_sdkconfig,
            commands::registrations::list_audit_entries,
            commands::generate::mint_registrations,
            commands::generate::export_batch,
            commands::generate::discard_batch,
            commands::generate::read_metadata_file,
            commands::settings::get_settings,
            commands::settings::save_settings,
            commands::settings::check_esp_idf,
            commands::settings::operator_token_stored,
            commands::settings::remove_operator_token,
            commands::settings::test_connection,
            commands::settings::registry_status,
            commands::bench::list_ports,
            commands::bench::attach_simulated_boards,
            commands::bench::start_flash_job,
            commands::bench::card_registration,
            commands::bench::next_card_registration,
            commands::bench::pick_card_registration,
        ])
        .build(tauri::generate_context!())
        .expect("failed to start the Tauri application")
        .run(|app, event| {
            if let tauri::RunEvent::Exit = event {
                app.state::<AppState>().claims.release_all_within(RELEASE_ON_EXIT_LIMIT);
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(arguments: &[&str]) -> Result<LaunchOptions, String> {
        LaunchOptions::parse(arguments.iter().map(|text| text.to_string()))
    }

    #[test]
    fn launch_options_read_simulated_boards() {
        assert_eq!(parse(&["--simulated-boards", "3"]).unwrap().simulated_boards, 3);
        assert_eq!(parse(&["--simulated-boards=2", "--other"]).unwrap().simulated_boards, 2);
        assert_eq!(parse(&[]).unwrap(), LaunchOptions::default());
    }

    #[test]
    fn launch_options_reject_bad_count() {
        assert!(parse(&["--simulated-boards", "many"]).unwrap_err().contains("many"));
        assert!(parse(&["--simulated-boards"]).is_err());
    }
}
