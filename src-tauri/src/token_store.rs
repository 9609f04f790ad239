//! Operator tokens of registry servers, one per server URL, kept in the OS keyring: the Secret
//! Service (GNOME Keyring, KWallet) on Linux, the Keychain on macOS and the Credential Manager
//! on Windows. A token is never written to the settings file or any other file. Where no
//! keyring is available, storing a token fails instead of falling back to a file.

use std::collections::HashMap;
use std::sync::Mutex;

use factory_core::OperatorToken;

use crate::error::{CommandError, CommandResult};

/// The keyring service name of every entry: the app's bundle identifier.
pub const KEYRING_SERVICE: &str = "com.ultralights.nodefactory";

/// The environment variable that, set to `memory`, keeps tokens in this process instead of
/// the OS keyring. Only for tests on machines without a keyring: the tokens are lost when the
/// app quits.
pub const TEST_KEYRING_VARIABLE: &str = "NODE_FACTORY_TEST_KEYRING";

/// The store of operator tokens.
pub struct TokenStore {
    backend: Backend,
}

enum Backend {
    Os,
    Memory(Mutex<HashMap<String, String>>),
}

impl TokenStore {
    /// Returns the store in the OS keyring.
    pub fn os() -> TokenStore {
        TokenStore { backend: Backend::Os }
    }

    /// Returns a store that lives only as long as this process, for tests.
    pub fn in_memory() -> TokenStore {
        TokenStore { backend: Backend::Memory(Mutex::new(HashMap::new())) }
    }

    /// Returns the OS keyring's store, or the in-process one when [`TEST_KEYRING_VARIABLE`] is `memory`.
    pub fn from_env() -> TokenStore {
        match std::env::var(TEST_KEYRING_VARIABLE).as_deref() {
            Ok("memory") => {
                tracing::warn!(
                    "{TEST_KEYRING_VARIABLE}=memory: operator tokens are kept in memory only and are lost when the app quits"
                );
                TokenStore::in_memory()
            }
            _ => TokenStore::os(),
        }
    }

    /// Stores `token` as the operator token for the server at `server_url`, replacing any
    /// token stored for it before.
    pub fn save(&self, server_url: &str, token: &OperatorToken) -> CommandResult<()> {
        match &self.backend {
            Backend::Os => os_entry(server_url)
                .and_then(|entry| entry.set_password(token.expose_secret()))
                .map_err(|error| keyring_error(&error, "store the operator token in")),
            Backend::Memory(tokens) => {
                crate::state::lock(tokens).insert(server_url.to_owned(), token.expose_secret().to_owned());
                Ok(())
            }
        }
    }

    /// Returns the operator token stored for the server at `server_url`, or `None`.
    pub fn load(&self, server_url: &str) -> CommandResult<Option<OperatorToken>> {
        let text = match &self.backend {
            Backend::Os => match os_entry(server_url).and_then(|entry| entry.get_password()) {
                Ok(text) => Some(text),
                Err(keyring::Error::NoEntry) => None,
                Err(error) => return Err(keyring_error(&error, "read the operator token from")),
            },
            Backend::Memory(tokens) => crate::state::lock(tokens).get(server_url).cloned(),
        };
        text.map(|text| {
            OperatorToken::parse(text.trim()).map_err(|_| {
                CommandError::new(
                    "not_authorised",
                    format!(
                        "the keyring entry for {server_url} does not hold an operator token; store the token again in Settings"
                    ),
                )
            })
        })
        .transpose()
    }

    /// Removes the token stored for the server at `server_url`; removing a missing one is fine.
    pub fn remove(&self, server_url: &str) -> CommandResult<()> {
        match &self.backend {
            Backend::Os => match os_entry(server_url).and_then(|entry| entry.delete_credential()) {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(error) => Err(keyring_error(&error, "remove the operator token from")),
            },
            Backend::Memory(tokens) => {
                crate::state::lock(tokens).remove(server_url);
                Ok(())
            }
        }
    }
}

/// Opens the keyring entry of one server: the service is the app, the user name is the server URL.
fn os_entry(server_url: &str) -> keyring::Result<keyring::Entry> {
    keyring::Entry::new(KEYRING_SERVICE, server_url)
}

/// Describes a keyring failure; `action` completes "failed to … the OS keyring".
fn keyring_error(error: &keyring::Error, action: &str) -> CommandError {
    let code = match error {
        keyring::Error::PlatformFailure(_) | keyring::Error::NoStorageAccess(_) => "keyring_unavailable",
        _ => "keyring_failed",
    };
    tracing::warn!(code, %error, "OS keyring failed");
    CommandError::new(code, format!("failed to {action} the OS keyring: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://registry.factory.example:8443";

    #[test]
    fn memory_store_saves_loads_and_removes() {
        let store = TokenStore::in_memory();
        let token = OperatorToken::generate();
        assert_eq!(store.load(URL).unwrap(), None);

        store.save(URL, &token).unwrap();
        assert_eq!(store.load(URL).unwrap(), Some(token));
        assert_eq!(store.load("https://other.example").unwrap(), None);

        store.remove(URL).unwrap();
        assert_eq!(store.load(URL).unwrap(), None);
        store.remove(URL).unwrap();
    }

    #[test]
    fn keyring_failures_have_codes() {
        let unavailable = keyring::Error::PlatformFailure("no D-Bus session bus".into());
        let error = keyring_error(&unavailable, "store the operator token in");
        assert_eq!(error.code, "keyring_unavailable");
        assert!(error.message.contains("no D-Bus session bus"), "{}", error.message);
        assert!(error.hint.is_some());

        let locked = keyring::Error::NoStorageAccess("the keyring is locked".into());
        assert_eq!(keyring_error(&locked, "read the operator token from").code, "keyring_unavailable");

        let other = keyring::Error::TooLong("user".to_owned(), 10);
        assert_eq!(keyring_error(&other, "read the operator token from").code, "keyring_failed");
    }

    /// The real OS keyring, in a child process whose D-Bus session bus does not exist: storing
    /// must fail with `keyring_unavailable` rather than fall back to a file.
    #[test]
    fn os_keyring_without_session_bus_refuses() {
        const CHILD: &str = "NODE_FACTORY_KEYRING_TEST_CHILD";
        if std::env::var_os(CHILD).is_some() {
            let error = TokenStore::os().save(URL, &OperatorToken::generate()).unwrap_err();
            assert_eq!(error.code, "keyring_unavailable", "{}", error.message);
            assert!(error.message.contains("OS keyring"), "{}", error.message);
            return;
        }

        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "token_store::tests::os_keyring_without_session_bus_refuses", "--nocapture"])
            .env(CHILD, "1")
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/node-factory-test/bus")
            .env_remove("DISPLAY")
            .env_remove("XDG_RUNTIME_DIR")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
        assert!(stdout.contains("1 passed"), "the child ran no test: {stdout}");
    }
}
