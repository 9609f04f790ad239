//! The health monitor of a registry server: a thread that requests the server's facts every few
//! seconds and right after the settings change. It records each result in the
//! [`ActiveRegistry`], which publishes every change as the `registry-status-changed` event.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::active_registry::{ActiveRegistry, Probe};
use crate::connection;
use crate::error::{CommandError, CommandResult};
use crate::settings::RegistrySettings;
use crate::token_store::TokenStore;

/// The app-wide event that carries a changed `RegistryStatus`.
pub const REGISTRY_STATUS_EVENT: &str = "registry-status-changed";

/// How often the monitor checks a server.
#[derive(Debug, Clone, Copy)]
pub struct Intervals {
    /// Between checks of a server that responded, or failed to.
    pub regular: Duration,
    /// Between checks of a server that refused the token. Each refused check counts as a
    /// failed sign-in, which the server slows down, and only a new token (which wakes the
    /// monitor) fixes it.
    pub refused: Duration,
}

impl Default for Intervals {
    fn default() -> Self {
        Intervals { regular: Duration::from_secs(5), refused: Duration::from_secs(60) }
    }
}

/// Checks the registry of `settings` once; `None` for a registry file, which needs no check.
pub fn probe(settings: &RegistrySettings, tokens: &TokenStore) -> Option<Probe> {
    let RegistrySettings::Remote { url, ca_certificate } = settings else {
        return None;
    };
    let checked = (|| -> CommandResult<registry::ServerInfo> {
        let token = connection::stored_token(url, tokens)?;
        let options =
            connection::with_ca_certificate(connection::health_options(), ca_certificate.as_deref())?;
        // A new client each time, because a client caches the server's facts.
        connection::fetch_server_info(&connection::open_server(url, token, options)?)
    })();
    Some(match checked {
        Ok(info) => Probe::Online(info),
        Err(error) => classify(error),
    })
}

/// Sorts a failed check into refused (the server rejected the token, or no token could be read)
/// and unreachable (everything else: no connection, a timeout, a failure, a bad certificate).
pub fn classify(error: CommandError) -> Probe {
    match error.code.as_str() {
        "not_authorised" | "forbidden" | "too_many_attempts" | "keyring_unavailable" | "keyring_failed" => {
            Probe::Refused(error)
        }
        _ => Probe::Unreachable(error),
    }
}

/// Starts the monitor thread. It keeps a weak reference to the registry and stops once the
/// registry is dropped.
pub fn spawn(active: &Arc<ActiveRegistry>, intervals: Intervals) -> std::io::Result<()> {
    let (wake, woken) = mpsc::channel();
    active.set_wake(wake);
    let weak = Arc::downgrade(active);
    std::thread::Builder::new()
        .name("registry-health".to_owned())
        .spawn(move || run(&weak, &woken, intervals))?;
    Ok(())
}

fn run(weak: &Weak<ActiveRegistry>, woken: &mpsc::Receiver<()>, intervals: Intervals) {
    loop {
        let Some(active) = weak.upgrade() else { return };
        let (generation, settings) = active.snapshot();
        let refused = match probe(&settings, active.tokens()) {
            Some(probe) => {
                let refused = matches!(probe, Probe::Refused(_));
                active.apply(generation, probe);
                refused
            }
            None => false,
        };
        drop(active);

        let wait = if refused { intervals.refused } else { intervals.regular };
        match woken.recv_timeout(wait) {
            // Wake-ups that arrived during the check are covered by the next check.
            Ok(()) => while woken.try_recv().is_ok() {},
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_sorts_codes() {
        for code in ["not_authorised", "forbidden", "too_many_attempts", "keyring_unavailable"] {
            assert!(matches!(classify(CommandError::new(code, "x")), Probe::Refused(_)), "{code}");
        }
        for code in ["server_unreachable", "server_timed_out", "server_failed", "bad_certificate", "rejected"]
        {
            assert!(matches!(classify(CommandError::new(code, "x")), Probe::Unreachable(_)), "{code}");
        }
    }

    #[test]
    fn probe_skips_registry_file() {
        let settings = RegistrySettings::Embedded { path: "/tmp/registry.sqlite3".to_owned() };
        assert!(probe(&settings, &TokenStore::in_memory()).is_none());
    }
}
