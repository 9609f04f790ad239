//! The server's configuration: one clap struct, read from flags or environment variables.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use registry::{DEFAULT_LEASE_SECONDS, MAX_LEASE_SECONDS, MAX_MINT_COUNT};

/// How to run the registry server. Every option can also come from the environment
/// variable named in its help, so a service manager can configure the server without flags.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    /// The SQLite registry file; it is created when missing.
    #[arg(long, env = "NODE_FACTORY_DATABASE", value_name = "PATH")]
    pub database: PathBuf,

    /// The folder holding one subfolder of OTA files (`manifest.json`, `latest.bin`) per
    /// download ID. Without it, every OTA download returns 404.
    #[arg(long, env = "FIRMWARE_DIR", value_name = "PATH")]
    pub firmware_dir: Option<PathBuf>,

    /// The URL at which nodes and benches reach this server, used in the manifest URLs the
    /// server reports. Defaults to `http://` followed by the bind address.
    #[arg(long, env = "NODE_FACTORY_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    #[command(flatten)]
    pub options: ServerOptions,
}

/// The options of the server itself, apart from the files and URL it serves. A command line
/// that already has its own database, firmware folder and public URL options flattens only
/// these.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerOptions {
    /// The address and port to listen on. The default accepts connections from this
    /// computer only; give a LAN address to serve other benches.
    #[arg(long, env = "NODE_FACTORY_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// The lease length, in seconds, of a reservation that asks for none.
    #[arg(long, env = "NODE_FACTORY_LEASE_SECONDS", default_value_t = DEFAULT_LEASE_SECONDS,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_LEASE_SECONDS)))]
    pub lease_seconds: u32,

    /// The largest request body, in bytes. A mint request with per-node metadata is the
    /// largest body; larger ones are rejected with 413.
    #[arg(long, env = "NODE_FACTORY_BODY_LIMIT", default_value_t = 8 * 1024 * 1024)]
    pub body_limit_bytes: usize,

    /// The largest number of registrations one mint request may ask for. Larger batches
    /// hold the database's write lock longer and make a large response.
    #[arg(long, env = "NODE_FACTORY_MAX_BATCH", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_MINT_COUNT)))]
    pub max_batch: u32,

    /// A PEM file with the server's TLS certificate chain. With --tls-key the server speaks
    /// HTTPS only, so operator and OTA tokens never cross the network in clear.
    #[arg(long, env = "NODE_FACTORY_TLS_CERT", value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// A PEM file with the private key of --tls-cert.
    #[arg(long, env = "NODE_FACTORY_TLS_KEY", value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// The IP address of a reverse proxy in front of the server; repeat for several. Only for
    /// requests from these addresses is X-Forwarded-For believed, when slowing down an
    /// address after failed sign-ins.
    #[arg(long = "trusted-proxy", value_name = "ADDRESS")]
    pub trusted_proxies: Vec<IpAddr>,

    /// The most connections open at once; further clients wait until one closes.
    #[arg(long, env = "NODE_FACTORY_MAX_CONNECTIONS", default_value_t = 512,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub max_connections: u32,

    /// How long, in seconds, a client has for the TLS handshake and for each request's
    /// headers, after which its connection is closed.
    #[arg(long, env = "NODE_FACTORY_HEADER_TIMEOUT", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub header_timeout_seconds: u64,
}

impl ServeConfig {
    /// Returns a configuration with the defaults, for tests and embedding.
    pub fn new(database: PathBuf) -> ServeConfig {
        ServeConfig { database, firmware_dir: None, public_url: None, options: ServerOptions::default() }
    }
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            lease_seconds: DEFAULT_LEASE_SECONDS,
            body_limit_bytes: 8 * 1024 * 1024,
            max_batch: 10_000,
            tls_cert: None,
            tls_key: None,
            trusted_proxies: Vec::new(),
            max_connections: 512,
            header_timeout_seconds: 10,
        }
    }
}
