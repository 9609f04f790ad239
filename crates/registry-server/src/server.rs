//! Starting and stopping the server.

use std::future::Future;
use std::net::SocketAddr;

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

    /// The token of the admin created by this start, when the database had no operator.
    pub fn first_admin_token(&self) -> Option<&OperatorToken> {
        self.first_admin.as_ref()
    }

    /// Serves requests until `shutdown` completes, then finishes the requests under way.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let address = self.local_addr();
        tracing::info!(%address, database = %self.state.registry.path().display(), "registry server started");
        let service = app(self.state).into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, service)
            .with_graceful_shutdown(shutdown)
            .await
            .context("the server failed")?;
        tracing::info!(%address, "registry server stopped");
        Ok(())
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
