//! Accepting connections: TLS when configured, a cap on open connections, a deadline for the
//! headers of every request, and a graceful shutdown that lets requests under way finish.
//!
//! The deadline and the cap are what keep a client that opens connections and sends headers
//! byte by byte (slowloris) from tying up the server: an idle or slow connection is closed
//! when its deadline passes, and beyond the cap new connections wait in the listen backlog.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tower::ServiceExt;

/// How long requests under way may run after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The settings applied to each connection.
#[derive(Clone)]
pub struct ConnectionSettings {
    /// Serves HTTPS with this acceptor, or plain HTTP without one.
    pub tls: Option<TlsAcceptor>,
    /// How long a client has for the TLS handshake and for the headers of each request,
    /// counted from when the server starts waiting for them.
    pub header_timeout: Duration,
    /// The maximum number of connections open at once.
    pub max_connections: usize,
}

/// Loads a PEM certificate chain and private key for HTTPS.
pub fn load_tls(certificate: &Path, key: &Path) -> anyhow::Result<TlsAcceptor> {
    let chain = CertificateDer::pem_file_iter(certificate)
        .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("cannot read a PEM certificate chain from {}", certificate.display()))?;
    if chain.is_empty() {
        anyhow::bail!(
            "{} contains no PEM certificate; give the server's certificate chain",
            certificate.display()
        );
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("cannot read a PEM private key from {}", key.display()))?;

    // NOTE: rustls 0.23.48 deprecates the ring provider for lacking post-quantum key
    // exchange; it stays because the aws-lc-rs provider needs cmake and a C toolchain to
    // build, and the HTTP client uses ring as well.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("the TLS library rejected its own default protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the TLS certificate and key do not match or are not supported")?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves `router` on every connection `listener` accepts until `shutdown` completes, then
/// waits up to [`SHUTDOWN_GRACE`] for the connections under way.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: ConnectionSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let slots = Arc::new(Semaphore::new(settings.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        // Waiting for a free slot before accepting leaves further clients in the backlog.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Running out of file descriptors is the usual cause; pausing lets
                    // connections close instead of spinning on the error.
                    tracing::warn!(%error, "cannot accept a connection; pausing for 100 ms");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };

        let (router, settings, watcher) = (router.clone(), settings.clone(), graceful.watcher());
        tokio::spawn(async move {
            let _slot = slot;
            match &settings.tls {
                None => serve_io(stream, peer, router, settings.header_timeout, watcher).await,
                Some(acceptor) => {
                    match tokio::time::timeout(settings.header_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            serve_io(stream, peer, router, settings.header_timeout, watcher).await
                        }
                        Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    }

    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::warn!(
            grace_seconds = SHUTDOWN_GRACE.as_secs(),
            "requests still running at shutdown were cut off"
        );
    }
}

async fn serve_io<I>(io: I, peer: SocketAddr, router: Router, header_timeout: Duration, watcher: Watcher)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(request.map(axum::body::Body::new))
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(header_timeout);
    let connection = builder.serve_connection(TokioIo::new(io), service);
    if let Err(error) = watcher.watch(connection).await {
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}
