//! What the app keeps between commands: its folders, the settings, the open registry, the
//! minted batches not yet exported, and the bench's ports.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use registry::MintedRegistration;

use crate::active_registry::ActiveRegistry;
use crate::claims::CardClaims;
use crate::dto::BenchPort;
use crate::error::{CommandError, CommandResult};
use crate::ports::SimulatedBoards;
use crate::settings::Settings;
use crate::token_store::TokenStore;

pub struct AppState {
    pub config_dir: PathBuf,
    settings: RwLock<Settings>,
    /// The registry the settings name, its health, and the operator tokens.
    pub registry: Arc<ActiveRegistry>,
    /// The registration each bench card offers, with its lease.
    pub claims: Arc<CardClaims>,
    /// Minted batches by batch ID, holding the only copy of their tokens until the user
    /// exports or discards them.
    batches: Mutex<HashMap<String, Vec<MintedRegistration>>>,
    /// The ports seen by the last discovery pass.
    pub ports: Mutex<Vec<BenchPort>>,
    pub simulated: SimulatedBoards,
}

impl AppState {
    pub fn new(config_dir: PathBuf, settings: Settings, tokens: TokenStore) -> AppState {
        AppState {
            config_dir,
            registry: Arc::new(ActiveRegistry::new(settings.registry.clone(), tokens)),
            settings: RwLock::new(settings),
            claims: Arc::new(CardClaims::default()),
            batches: Mutex::new(HashMap::new()),
            ports: Mutex::new(Vec::new()),
            simulated: SimulatedBoards::default(),
        }
    }

    pub fn settings(&self) -> Settings {
        self.settings.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Replaces the settings. When they name another registry, or `new_token` is set because the
    /// operator token changed, the registry is reopened on next use and the bench cards'
    /// leases on the old one are released; running flash jobs keep their handle.
    pub fn replace_settings(&self, settings: Settings, new_token: bool) {
        let registry = settings.registry.clone();
        *self.settings.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = settings;
        if self.registry.switch(registry, new_token) {
            self.claims.release_all();
        }
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
