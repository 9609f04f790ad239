//! Starting and stopping the server.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use factory_core::OperatorToken;

use crate::ServeConfig;
use crate::connections::{self, ConnectionSettings, load_tls};
use crate::operators::FIRST_ADMIN_NAME;
use crate::routes::app;
use crate::state::AppState;

/// A server that has opened its database and bound its socket but serves nothing yet, so the
/// caller can read the bound address (useful with port 0) before requests arrive.
pub struct BoundServer {
    listener: tokio::net::TcpListener,
    state: AppState,
    first_admin: Option<OperatorToken>,
    connections: ConnectionSettings,
}

impl BoundServer {
    /// Opens and migrates the registry, creates the first admin on a database that never had
    /// an operator, and binds the listening socket.
    pub async fn bind(config: &ServeConfig) -> anyhow::Result<BoundServer> {
        let tls = match (&config.options.tls_cert, &config.options.tls_key) {
            (Some(certificate), Some(key)) => Some(load_tls(certificate, key)?),
            (None, None) => None,
            _ => anyhow::bail!("give both --tls-cert and --tls-key to serve HTTPS"),
        };
        let connections = ConnectionSettings {
            tls,
            header_timeout: Duration::from_secs(config.options.header_timeout_seconds),
            max_connections: config.options.max_connections as usize,
        };
        let state = AppState::open(config)?;
        let first_admin = state.operators.create_first_admin()?;

        // The checkpointer below moves the write-ahead log into the database file, so that
        // the fsyncs of a checkpoint do not stall the request whose commit crossed the
        // automatic checkpoint threshold while it has the registry's connection locked.
        state
            .registry
            .with_connection(|connection| connection.pragma_update(None, "wal_autocheckpoint", 0))
            .context("cannot configure the registry database")?;

        let listener = tokio::net::TcpListener::bind(config.options.bind).await.with_context(|| {
            format!("cannot listen on {}; is another server using the port?", config.options.bind)
        })?;
        if config.options.bind.ip().is_unspecified() {
            tracing::warn!(bind = %config.options.bind, "listening on every network interface");
        }
        Ok(BoundServer { listener, state, first_admin, connections })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound socket has an address")
    }

    /// Returns the URL of this server as bound: `https://` with TLS, else `http://`.
    pub fn url(&self) -> String {
        let scheme = if self.connections.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.local_addr())
    }

    /// Returns a warning when tokens would cross a network in clear: the server listens
    /// beyond this computer without TLS.
    pub fn plaintext_warning(&self) -> Option<String> {
        let address = self.local_addr();
        (self.connections.tls.is_none() && !address.ip().is_loopback()).then(|| {
            format!(
                "the server listens on {address} without TLS, so operator and OTA tokens cross the network in clear; give --tls-cert and --tls-key, or bind 127.0.0.1 behind a TLS proxy"
            )
        })
    }

    /// Returns the token of the admin created by this start, when the database had no operator.
    pub fn first_admin_token(&self) -> Option<&OperatorToken> {
        self.first_admin.as_ref()
    }

    /// Serves requests until `shutdown` completes, then finishes the requests under way.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let address = self.local_addr();
        tracing::info!(%address, database = %self.state.registry.path().display(), "registry server started");
        let checkpointer = tokio::spawn(checkpoint_regularly(self.state.registry.path().to_owned()));
        connections::serve(self.listener, app(self.state), self.connections, shutdown).await;
        checkpointer.abort();
        tracing::info!(%address, "registry server stopped");
        Ok(())
    }
}

/// How often the write-ahead log is checkpointed.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);

/// Checkpoints the write-ahead log on a connection of its own. A passive checkpoint never
/// waits for the writer, so requests keep committing while the database file is updated.
async fn checkpoint_regularly(database: PathBuf) {
    let connection = match rusqlite::Connection::open(&database) {
        Ok(connection) => std::sync::Arc::new(std::sync::Mutex::new(connection)),
        Err(error) => {
            tracing::error!(%error, "cannot open the registry database for checkpoints; the write-ahead log will grow");
            return;
        }
    };
    let mut interval = tokio::time::interval(CHECKPOINT_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let connection = std::sync::Arc::clone(&connection);
        let outcome = tokio::task::spawn_blocking(move || {
            let connection = connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get::<_, i64>(0))
        })
        .await;
        match outcome {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::warn!(%error, "checkpointing the registry database failed; retrying"),
            Err(error) => tracing::warn!(%error, "the checkpoint task failed; retrying"),
        }
    }
}

/// Runs the server until Ctrl-C or SIGTERM. On a database without operators it prints the
/// first admin's token to stdout, once.
pub async fn serve_async(config: ServeConfig) -> anyhow::Result<()> {
    let server = BoundServer::bind(&config).await?;
    if let Some(token) = server.first_admin_token() {
        println!(
            "Created the first operator, {FIRST_ADMIN_NAME:?}, with the admin role. Its API token is shown only this once; store it now:"
        );
        println!("{}", token.expose_secret());
    }
    if let Some(warning) = server.plaintext_warning() {
        tracing::warn!("{warning}");
        eprintln!("warning: {warning}");
    }
    println!("registry server listening on {}", server.url());
    server.run(shutdown_signal()).await
}

/// Runs the server on a new multi-threaded Tokio runtime, blocking the calling thread until
/// Ctrl-C or SIGTERM. Call it from synchronous code such as a command line's `main`.
pub fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve_async(config))
}

async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };

    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = interrupt => tracing::info!("received Ctrl-C; stopping"),
        () = terminate => tracing::info!("received SIGTERM; stopping"),
    }
}
