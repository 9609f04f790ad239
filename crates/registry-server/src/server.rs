//! Starting and stopping the server.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use factory_core::OperatorToken;

use crate::ServeConfig;
use crate::operators::FIRST_ADMIN_NAME;
use crate::routes::app;
use crate::state::AppState;

/// A server that has opened its database and bound its socket but serves nothing yet, so the
/// caller can read the bound address (useful with port 0) before requests arrive.
pub struct BoundServer {
    listener: tokio::net::TcpListener,
    state: AppState,
    first_admin: Option<OperatorToken>,
}

impl BoundServer {
    /// Opens and migrates the registry, creates the first admin on a database that never had
    /// an operator, and binds the listening socket.
    pub async fn bind(config: &ServeConfig) -> anyhow::Result<BoundServer> {
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
        Ok(BoundServer { listener, state, first_admin })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound socket has an address")
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
        let service = app(self.state).into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, service).with_graceful_shutdown(shutdown).await;
        checkpointer.abort();
        served.context("the server failed")?;
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
    println!("registry server listening on http://{}", server.local_addr());
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
