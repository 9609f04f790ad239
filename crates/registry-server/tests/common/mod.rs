//! A real registry server on 127.0.0.1 with a temporary database, and operators of every
//! role, for the integration tests.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use factory_core::OperatorToken;
use registry::HttpRegistry;
use registry::http::HttpOptions;
use registry_server::{AppState, BoundServer, Role, ServeConfig, operators_add};
use tempfile::TempDir;

/// A server running on its own runtime thread until dropped.
pub struct TestServer {
    pub folder: TempDir,
    pub database: PathBuf,
    pub address: SocketAddr,
    /// `http://` or, with TLS, `https://` and the address.
    pub base_url: String,
    pub admin: OperatorToken,
    pub technician: OperatorToken,
    pub support: OperatorToken,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    pub fn start() -> TestServer {
        TestServer::start_with(|_| {})
    }

    /// Starts a server after `adjust` has changed the default configuration.
    pub fn start_with(adjust: impl FnOnce(&mut ServeConfig)) -> TestServer {
        let folder = TempDir::new().unwrap();
        let database = folder.path().join("registry.sqlite3");
        let operators = Operators::add(&database);

        let mut config = ServeConfig::new(database.clone());
        config.options.bind = SocketAddr::from(([127, 0, 0, 1], 0));
        adjust(&mut config);

        let (address_sender, address_receiver) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(async move {
                let server = BoundServer::bind(&config).await.unwrap();
                address_sender.send((server.local_addr(), server.url())).unwrap();
                server
                    .run(async {
                        stopped.await.ok();
                    })
                    .await
                    .unwrap();
            });
        });
        let (address, base_url) = address_receiver.recv().expect("the server starts");

        TestServer {
            folder,
            database,
            address,
            base_url,
            admin: operators.admin,
            technician: operators.technician,
            support: operators.support,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        self.base_url.clone()
    }

    pub fn registry(&self, token: &OperatorToken) -> HttpRegistry {
        HttpRegistry::new(&self.url(), token.clone()).unwrap()
    }

    /// A client that gives up quickly, for tests of failures.
    pub fn impatient_registry(&self, token: &OperatorToken) -> HttpRegistry {
        let options = HttpOptions { max_attempts: 1, ..HttpOptions::default() };
        HttpRegistry::with_options(&self.url(), token.clone(), options).unwrap()
    }

    pub fn token(&self, role: Role) -> &OperatorToken {
        match role {
            Role::Admin => &self.admin,
            Role::Technician => &self.technician,
            Role::Support => &self.support,
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        if let Some(thread) = self.thread.take() {
            thread.join().ok();
        }
    }
}

/// One operator of each role.
pub struct Operators {
    pub admin: OperatorToken,
    pub technician: OperatorToken,
    pub support: OperatorToken,
}

impl Operators {
    pub fn add(database: &Path) -> Operators {
        Operators {
            admin: operators_add(database, "ada", Role::Admin).unwrap(),
            technician: operators_add(database, "tom", Role::Technician).unwrap(),
            support: operators_add(database, "sue", Role::Support).unwrap(),
        }
    }
}

/// The application state for in-process tests, over a fresh database in `folder`.
pub fn in_process_state(folder: &TempDir, adjust: impl FnOnce(&mut ServeConfig)) -> (AppState, Operators) {
    let database = folder.path().join("registry.sqlite3");
    let operators = Operators::add(&database);
    let mut config = ServeConfig::new(database);
    adjust(&mut config);
    (AppState::open(&config).unwrap(), operators)
}
