//! What the app keeps between commands: its folders, the settings, the open registry, the
//! minted batches not yet exported, and the bench's ports.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use registry::{MintedRegistration, Registry, SqliteRegistry};

use crate::dto::BenchPort;
use crate::error::{CommandError, CommandResult};
use crate::ports::SimulatedBoards;
use crate::settings::{RegistrySettings, Settings};

pub struct AppState {
    pub config_dir: PathBuf,
    settings: RwLock<Settings>,
    registry: Mutex<Option<Arc<dyn Registry>>>,
    /// Minted batches by batch ID, holding the only copy of their tokens until the user
    /// exports or discards them.
    batches: Mutex<HashMap<String, Vec<MintedRegistration>>>,
    /// The ports seen by the last discovery pass.
    pub ports: Mutex<Vec<BenchPort>>,
    pub simulated: SimulatedBoards,
}

impl AppState {
    pub fn new(config_dir: PathBuf, settings: Settings) -> AppState {
        AppState {
            config_dir,
            settings: RwLock::new(settings),
            registry: Mutex::new(None),
            batches: Mutex::new(HashMap::new()),
            ports: Mutex::new(Vec::new()),
            simulated: SimulatedBoards::default(),
        }
    }

    pub fn settings(&self) -> Settings {
        self.settings.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Replaces the settings and closes the registry, so the next command opens the one
    /// the new settings name.
    pub fn replace_settings(&self, settings: Settings) {
        *self.settings.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = settings;
        *lock(&self.registry) = None;
    }

    /// Returns the registry the settings name, opening it on first use.
    pub fn registry(&self) -> CommandResult<Arc<dyn Registry>> {
        let mut slot = lock(&self.registry);
        if let Some(registry) = slot.as_ref() {
            return Ok(Arc::clone(registry));
        }

        let opened: Arc<dyn Registry> = match self.settings().registry {
            RegistrySettings::Embedded { path } => Arc::new(SqliteRegistry::open(path.as_ref())?),
            // FIXME: open the HTTP registry client once the registry crate exports it, with the
            // operator token read from the OS keyring.
            RegistrySettings::Remote { url } => {
                return Err(CommandError::new(
                    "remote_registry_unavailable",
                    format!("remote registry {url} is not supported by this build"),
                ));
            }
        };
        *slot = Some(Arc::clone(&opened));
        Ok(opened)
    }

    pub fn store_batch(&self, batch_id: String, minted: Vec<MintedRegistration>) {
        lock(&self.batches).insert(batch_id, minted);
    }

    pub fn batch(&self, batch_id: &str) -> CommandResult<Vec<MintedRegistration>> {
        lock(&self.batches).get(batch_id).cloned().ok_or_else(|| {
            CommandError::new(
                "batch_not_found",
                format!("minted batch {batch_id} is no longer held; its tokens were discarded"),
            )
        })
    }

    pub fn discard_batch(&self, batch_id: &str) {
        lock(&self.batches).remove(batch_id);
    }
}

/// Locks a mutex, recovering from a panic in another holder: every value behind these locks
/// is replaced whole, so a poisoned one is still consistent.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
