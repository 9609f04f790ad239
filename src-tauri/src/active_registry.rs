//! The registry the settings name: its open handle, its generation (how many times the
//! settings switched registries), and its status as the health monitor last saw it.
//!
//! Switching registries drops the handle, so the next command opens the new one; a flash job
//! that is running keeps the handle it started with.

use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

use registry::{Registry, ServerInfo};

use crate::connection;
use crate::dto::{ConnectionState, RegistryStatus, ServerSummary};
use crate::error::{CommandError, CommandResult};
use crate::permissions;
use crate::settings::RegistrySettings;
use crate::state::lock;
use crate::token_store::TokenStore;

/// Receives each status that differs from the one before, such as the app's event emitter.
pub type StatusPublisher = Box<dyn Fn(&RegistryStatus) + Send + Sync>;

/// The result of one health check.
#[derive(Debug, Clone)]
pub enum Probe {
    Online(ServerInfo),
    Unreachable(CommandError),
    Refused(CommandError),
}

pub struct ActiveRegistry {
    inner: Mutex<Inner>,
    tokens: TokenStore,
    publisher: Mutex<Option<StatusPublisher>>,
    /// Wakes the health monitor for an immediate check.
    wake: Mutex<Option<Sender<()>>>,
}

struct Inner {
    generation: u32,
    settings: RegistrySettings,
    handle: Option<Arc<dyn Registry>>,
    status: RegistryStatus,
    /// The server's facts from the last successful check, which decide the permissions.
    server: Option<ServerInfo>,
}

impl ActiveRegistry {
    pub fn new(settings: RegistrySettings, tokens: TokenStore) -> ActiveRegistry {
        let status = initial_status(0, &settings);
        ActiveRegistry {
            inner: Mutex::new(Inner { generation: 0, settings, handle: None, status, server: None }),
            tokens,
            publisher: Mutex::new(None),
            wake: Mutex::new(None),
        }
    }

    pub fn tokens(&self) -> &TokenStore {
        &self.tokens
    }

    /// Sets where status changes go.
    pub fn set_publisher(&self, publisher: StatusPublisher) {
        *lock(&self.publisher) = Some(publisher);
    }

    /// Sets the channel that wakes the health monitor.
    pub fn set_wake(&self, wake: Sender<()>) {
        *lock(&self.wake) = Some(wake);
    }

    /// Asks the health monitor to check now instead of at its next interval.
    pub fn wake(&self) {
        if let Some(wake) = lock(&self.wake).as_ref() {
            // A monitor that has stopped needs no wake-up.
            let _ = wake.send(());
        }
    }

    /// Returns the generation and the registry settings it belongs to.
    pub fn snapshot(&self) -> (u32, RegistrySettings) {
        let inner = lock(&self.inner);
        (inner.generation, inner.settings.clone())
    }

    pub fn status(&self) -> RegistryStatus {
        lock(&self.inner).status.clone()
    }

    /// Returns the registry, opening it on first use. Blocks: call it from a blocking thread.
    pub fn registry(&self) -> CommandResult<Arc<dyn Registry>> {
        Ok(self.current()?.2)
    }

    /// Returns the generation, the settings and the open registry of that generation.
    pub fn current(&self) -> CommandResult<(u32, RegistrySettings, Arc<dyn Registry>)> {
        let (generation, settings) = {
            let inner = lock(&self.inner);
            if let Some(handle) = &inner.handle {
                return Ok((inner.generation, inner.settings.clone(), Arc::clone(handle)));
            }
            (inner.generation, inner.settings.clone())
        };

        // Opening reads the keyring and may touch the disk, so it runs without the lock.
        let opened = connection::open(&settings, &self.tokens)?;
        let mut inner = lock(&self.inner);
        if inner.generation == generation && inner.handle.is_none() {
            inner.handle = Some(Arc::clone(&opened));
        }
        Ok((generation, settings, opened))
    }

    /// Switches to the registry of `settings`, or reopens the same one when `reopen` is set
    /// (a new operator token). Returns whether the registry changed; a change starts a new
    /// generation, publishes its first status and wakes the health monitor.
    pub fn switch(&self, settings: RegistrySettings, reopen: bool) -> bool {
        let status = {
            let mut inner = lock(&self.inner);
            if inner.settings == settings && !reopen {
                return false;
            }
            inner.generation += 1;
            inner.settings = settings;
            inner.handle = None;
            inner.server = None;
            inner.status = initial_status(inner.generation, &inner.settings);
            inner.status.clone()
        };
        tracing::info!(generation = status.generation, location = %status.location, "switched registry");
        self.publish(&status);
        self.wake();
        true
    }

    /// Records what a health check of `generation` found, and publishes the status when it
    /// changed. A check of an earlier generation is ignored.
    pub fn apply(&self, generation: u32, probe: Probe) {
        let published = {
            let mut inner = lock(&self.inner);
            if inner.generation != generation {
                return;
            }
            let previous = inner.status.clone();
            let (state, error) = match probe {
                Probe::Online(info) => {
                    // A server back from an outage may have restarted with other facts, and the
                    // open handle caches them: the next command opens a fresh one.
                    if previous.state != ConnectionState::Online || inner.server.as_ref() != Some(&info) {
                        inner.handle = None;
                    }
                    inner.server = Some(info);
                    (ConnectionState::Online, None)
                }
                Probe::Unreachable(error) => (ConnectionState::Unreachable, Some(error)),
                Probe::Refused(error) => (ConnectionState::Refused, Some(error)),
            };
            let status = RegistryStatus {
                state,
                error,
                server: inner.server.as_ref().map(ServerSummary::from),
                permissions: match &inner.server {
                    Some(info) => permissions::for_role(&info.operator, info.role),
                    None => permissions::unrestricted(),
                },
                ..previous.clone()
            };
            inner.status = status.clone();
            significantly_changed(&previous, &status).then_some(status)
        };

        if let Some(status) = published {
            match &status.error {
                None => tracing::info!(location = %status.location, "registry server is online"),
                Some(error) => tracing::warn!(
                    location = %status.location,
                    state = ?status.state,
                    code = %error.code,
                    "{}",
                    error.message
                ),
            }
            self.publish(&status);
        }
    }

    fn publish(&self, status: &RegistryStatus) {
        if let Some(publisher) = lock(&self.publisher).as_ref() {
            publisher(status);
        }
    }
}

/// Returns the status of a registry that has not been checked yet: a file is always usable.
fn initial_status(generation: u32, settings: &RegistrySettings) -> RegistryStatus {
    let remote = matches!(settings, RegistrySettings::Remote { .. });
    RegistryStatus {
        generation,
        remote,
        location: settings.location().to_owned(),
        state: if remote { ConnectionState::Checking } else { ConnectionState::Local },
        server: None,
        error: None,
        permissions: permissions::unrestricted(),
    }
}

/// Returns whether a status change is worth an event: another state, server facts or error
/// code. A new message with the same code (a different attempt count, for example) is not.
fn significantly_changed(previous: &RegistryStatus, next: &RegistryStatus) -> bool {
    previous.generation != next.generation
        || previous.state != next.state
        || previous.server != next.server
        || previous.error.as_ref().map(|error| &error.code) != next.error.as_ref().map(|error| &error.code)
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    fn remote() -> RegistrySettings {
        RegistrySettings::Remote { url: "http://127.0.0.1:9".to_owned(), ca_certificate: None }
    }

    fn unreachable(detail: &str) -> Probe {
        Probe::Unreachable(CommandError::new("server_unreachable", detail))
    }

    #[test]
    fn switch_starts_generation_and_publishes() {
        let active = ActiveRegistry::new(
            RegistrySettings::Embedded { path: "/tmp/registry.sqlite3".to_owned() },
            TokenStore::in_memory(),
        );
        assert_eq!(active.status().state, ConnectionState::Local);
        let (sender, received) = mpsc::channel();
        active.set_publisher(Box::new(move |status| sender.send(status.clone()).unwrap()));

        assert!(active.switch(remote(), false));
        assert!(!active.switch(remote(), false), "the same settings are no switch");
        assert!(active.switch(remote(), true), "a new token reopens the registry");

        let published: Vec<_> = received.try_iter().collect();
        assert_eq!(published.len(), 2);
        assert_eq!(published[0].generation, 1);
        assert_eq!(published[0].state, ConnectionState::Checking);
        assert!(published[0].remote);
        assert_eq!(published[1].generation, 2);
    }

    #[test]
    fn apply_publishes_only_changes_of_current_generation() {
        let active = ActiveRegistry::new(remote(), TokenStore::in_memory());
        let (sender, received) = mpsc::channel();
        active.set_publisher(Box::new(move |status| sender.send(status.clone()).unwrap()));

        active.apply(0, unreachable("connection refused"));
        active.apply(0, unreachable("connection refused, attempt 2"));
        active.apply(7, Probe::Refused(CommandError::new("not_authorised", "old generation")));

        let published: Vec<_> = received.try_iter().collect();
        assert_eq!(published.len(), 1, "{published:?}");
        assert_eq!(published[0].state, ConnectionState::Unreachable);
        assert_eq!(published[0].error.as_ref().unwrap().code, "server_unreachable");
        assert_eq!(active.status().error.unwrap().message, "connection refused, attempt 2");
    }

    #[test]
    fn remote_without_token_fails_to_open() {
        let active = ActiveRegistry::new(remote(), TokenStore::in_memory());
        assert_eq!(active.registry().err().unwrap().code, "not_authorised");
    }
}
