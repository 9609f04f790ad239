//! The app's registry logic against a real registry server on 127.0.0.1, started in-process:
//! settings and the keyring, the connection test, the health monitor through an outage,
//! bench-card reservations and the audit log.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use factory_core::{Chip, NodeId, OperatorToken};
use registry::{HttpRegistry, MintRequest, NodeMetadata, Registry, Role, SqliteRegistry};
use registry_server::{BoundServer, ServeConfig, operators_add};
use tempfile::TempDir;

use crate::commands::registrations::audit_page;
use crate::commands::settings::persist_settings;
use crate::connection;
use crate::dto::{ConnectionState, RegistryStatus, RoleName};
use crate::health::{self, Intervals};
use crate::settings::{RegistrySettings, Settings};
use crate::state::AppState;
use crate::token_store::TokenStore;

const SERVER_PUBLIC_URL: &str = "https://ota.factory.example";

/// How long a test waits for something that happens in the background before it fails.
const PATIENCE: Duration = Duration::from_secs(30);

/// A registry server on its own runtime thread, which a test can stop and start again on the
/// same port.
struct TestServer {
    _folder: TempDir,
    database: PathBuf,
    config: ServeConfig,
    url: String,
    running: Option<(tokio::sync::oneshot::Sender<()>, std::thread::JoinHandle<()>)>,
}

impl TestServer {
    fn start() -> TestServer {
        TestServer::start_with(|_| {})
    }

    fn start_with(adjust: impl FnOnce(&mut ServeConfig)) -> TestServer {
        let folder = TempDir::new().unwrap();
        let database = folder.path().join("registry.sqlite3");
        let mut config = ServeConfig::new(database.clone());
        config.options.bind = SocketAddr::from(([127, 0, 0, 1], 0));
        config.public_url = Some(SERVER_PUBLIC_URL.to_owned());
        adjust(&mut config);
        // The first start on a database without operators prints an admin token; adding one
        // first keeps the test quiet.
        operators_add(&database, "ada", Role::Admin).unwrap();

        let (running, address, url) = run(&config);
        config.options.bind = address;
        TestServer { _folder: folder, database, config, url, running: Some(running) }
    }

    fn operator(&self, name: &str, role: Role) -> OperatorToken {
        operators_add(&self.database, name, role).unwrap()
    }

    fn client(&self, token: &OperatorToken) -> HttpRegistry {
        HttpRegistry::new(&self.url, token.clone()).unwrap()
    }

    fn settings(&self) -> RegistrySettings {
        RegistrySettings::Remote { url: self.url.clone(), ca_certificate: None }
    }

    fn stop(&mut self) {
        if let Some((stop, thread)) = self.running.take() {
            stop.send(()).ok();
            thread.join().unwrap();
        }
    }

    fn restart(&mut self) {
        self.running = Some(run(&self.config).0);
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

type Running = (tokio::sync::oneshot::Sender<()>, std::thread::JoinHandle<()>);

fn run(config: &ServeConfig) -> (Running, SocketAddr, String) {
    let (bound, address) = mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = config.clone();
    let thread = std::thread::spawn(move || {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        runtime.block_on(async move {
            let server = BoundServer::bind(&config).await.unwrap();
            bound.send((server.local_addr(), server.url())).unwrap();
            server
                .run(async {
                    stopped.await.ok();
                })
                .await
                .unwrap();
        });
    });
    let (address, url) = address.recv().expect("the server starts");
    ((stop, thread), address, url)
}

/// Creates an app state with its own config folder, the given registry and an in-memory keyring.
fn app_state(registry: RegistrySettings, tokens: TokenStore) -> (TempDir, AppState) {
    let folder = TempDir::new().unwrap();
    let settings = Settings { registry, ..Settings::defaults() };
    let state = AppState::new(folder.path().join("config"), settings, tokens);
    (folder, state)
}

fn tokens_with(url: &str, token: &OperatorToken) -> TokenStore {
    let tokens = TokenStore::in_memory();
    tokens.save(url, token).unwrap();
    tokens
}

/// Sends every published status to the returned receiver.
fn watch(state: &AppState) -> Receiver<RegistryStatus> {
    let (sender, received) = mpsc::channel();
    state.registry.set_publisher(Box::new(move |status| {
        let _ = sender.send(status.clone());
    }));
    received
}

fn next_status(received: &Receiver<RegistryStatus>) -> RegistryStatus {
    received.recv_timeout(PATIENCE).expect("a registry status event")
}

fn mint(registry: &dyn Registry, count: u32, chip: Chip) -> Vec<NodeId> {
    let request =
        MintRequest { count, target_chip: Some(chip), metadata: NodeMetadata::None, idempotency_key: None };
    registry.mint_batch(&request).unwrap().into_iter().map(|minted| minted.registration.node_id).collect()
}

/// Returns the audit actions of one registration, newest first.
fn audit_actions(registry: &dyn Registry, node_id: &NodeId) -> Vec<String> {
    audit_page(registry, node_id.clone(), None, 100)
        .unwrap()
        .entries
        .into_iter()
        .map(|entry| entry.action)
        .collect()
}

/// Polls `probe` until it holds; for work the app does on background threads.
fn eventually(description: &str, mut probe: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !probe() {
        assert!(Instant::now() < deadline, "timed out waiting for {description}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn settings_file_never_holds_token() {
    let folder = TempDir::new().unwrap();
    let url = "https://registry.factory.example:8443";
    let tokens = TokenStore::in_memory();
    let token = OperatorToken::generate();
    let settings = Settings {
        registry: RegistrySettings::Remote { url: url.to_owned(), ca_certificate: None },
        ..Settings::defaults()
    };

    let path = persist_settings(folder.path(), &tokens, &settings, Some(&token)).unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(token.expose_secret()), "the settings file holds the token: {text}");
    assert!(!text.contains(OperatorToken::PREFIX), "the settings file holds a token: {text}");
    assert!(text.contains(url), "{text}");
    assert_eq!(tokens.load(url).unwrap(), Some(token.clone()));
    assert_eq!(crate::settings::load(folder.path()).unwrap(), settings);

    let (_config, state) = app_state(settings.registry.clone(), tokens);
    let status = serde_json::to_string(&state.registry.status()).unwrap();
    assert!(!status.contains(token.expose_secret()), "{status}");
    assert!(!format!("{settings:?}").contains(token.expose_secret()));
}

#[test]
fn token_for_registry_file_is_rejected() {
    let folder = TempDir::new().unwrap();
    let tokens = TokenStore::in_memory();
    let error =
        persist_settings(folder.path(), &tokens, &Settings::defaults(), Some(&OperatorToken::generate()))
            .unwrap_err();
    assert_eq!(error.code, "invalid_input");
    assert!(!folder.path().join("settings.json").exists(), "nothing is saved after a refusal");
}

#[test]
fn test_connection_reports_server_and_failures() {
    let mut server = TestServer::start();
    let tom = server.operator("tom", Role::Technician);
    let tokens = TokenStore::in_memory();

    let summary = connection::test_connection(&server.settings(), Some(tom.clone()), &tokens).unwrap();
    assert_eq!(summary.operator, "tom");
    assert_eq!(summary.role, RoleName::Technician);
    assert_eq!(summary.public_url, SERVER_PUBLIC_URL);
    assert!(!summary.version.is_empty());

    let unknown = connection::test_connection(&server.settings(), Some(OperatorToken::generate()), &tokens);
    let error = unknown.unwrap_err();
    assert_eq!(error.code, "not_authorised");
    assert!(error.hint.is_some());

    // The server slows an address down after five failed sign-ins.
    let mut codes = Vec::new();
    for _ in 0..6 {
        let result =
            connection::test_connection(&server.settings(), Some(OperatorToken::generate()), &tokens);
        codes.push(result.unwrap_err().code);
    }
    assert_eq!(codes.last().map(String::as_str), Some("too_many_attempts"), "{codes:?}");

    server.stop();
    let error = connection::test_connection(&server.settings(), Some(tom), &tokens).unwrap_err();
    assert_eq!(error.code, "server_unreachable");
    assert!(error.message.contains(&server.url), "{}", error.message);
}

#[test]
fn test_connection_times_out_on_silent_server() {
    // The kernel accepts the connection into the backlog, but the test never reads or responds.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let settings = RegistrySettings::Remote {
        url: format!("http://{}", listener.local_addr().unwrap()),
        ca_certificate: None,
    };
    let error =
        connection::test_connection(&settings, Some(OperatorToken::generate()), &TokenStore::in_memory())
            .unwrap_err();
    assert_eq!(error.code, "server_timed_out", "{}", error.message);
    drop(listener);
}

#[test]
fn test_connection_checks_certificates() {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let folder = TempDir::new().unwrap();
    let (certificate, key) = (folder.path().join("server.crt"), folder.path().join("server.key"));
    std::fs::write(&certificate, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    let (tls_cert, tls_key) = (certificate.clone(), key);
    let server = TestServer::start_with(move |config| {
        config.options.tls_cert = Some(tls_cert);
        config.options.tls_key = Some(tls_key);
    });
    assert!(server.url.starts_with("https://127.0.0.1:"), "{}", server.url);
    let tom = server.operator("tom", Role::Technician);
    let tokens = TokenStore::in_memory();

    let untrusted = connection::test_connection(&server.settings(), Some(tom.clone()), &tokens).unwrap_err();
    assert_eq!(untrusted.code, "bad_certificate", "{}", untrusted.message);
    assert!(untrusted.hint.unwrap().contains("CA certificate"));

    let trusted = RegistrySettings::Remote {
        url: server.url.clone(),
        ca_certificate: Some(certificate.display().to_string()),
    };
    assert_eq!(connection::test_connection(&trusted, Some(tom), &tokens).unwrap().operator, "tom");
}

#[test]
fn health_monitor_follows_server_outage() {
    let mut server = TestServer::start();
    let tom = server.operator("tom", Role::Technician);
    let (_config, state) = app_state(server.settings(), tokens_with(&server.url, &tom));
    let statuses = watch(&state);
    let fast = Duration::from_millis(50);
    health::spawn(&state.registry, Intervals { regular: fast, refused: fast }).unwrap();

    let online = next_status(&statuses);
    assert_eq!(online.state, ConnectionState::Online);
    let facts = online.server.as_ref().unwrap();
    assert_eq!((facts.operator.as_str(), facts.role), ("tom", RoleName::Technician));
    assert_eq!(facts.public_url, SERVER_PUBLIC_URL);
    assert!(online.permissions.rotate_token.is_some(), "technicians may not rotate tokens");
    assert_eq!(online.permissions.flash, None);
    state.registry.registry().unwrap().counts().unwrap();

    server.stop();
    let down = next_status(&statuses);
    assert_eq!(down.state, ConnectionState::Unreachable);
    let error = down.error.as_ref().unwrap();
    assert_eq!(error.code, "server_unreachable");
    assert!(error.message.contains(&server.url), "{}", error.message);
    assert!(error.hint.is_some());
    assert_eq!(down.server, online.server, "the last facts stay while the server is away");
    assert_eq!(state.registry.status().state, ConnectionState::Unreachable);

    server.restart();
    let back = next_status(&statuses);
    assert_eq!(back.state, ConnectionState::Online);
    assert_eq!(back.error, None);
    assert_eq!(state.registry.registry().unwrap().counts().unwrap().total, 0);
}

#[test]
fn health_monitor_checks_right_after_settings_change() {
    let server = TestServer::start();
    let tom = server.operator("tom", Role::Technician);
    let file = TempDir::new().unwrap();
    let embedded =
        RegistrySettings::Embedded { path: file.path().join("registry.sqlite3").display().to_string() };
    let (_config, state) = app_state(embedded, TokenStore::in_memory());
    let statuses = watch(&state);
    // With an interval of an hour, only the wake-up of a settings change can start a check.
    let hour = Duration::from_secs(3600);
    health::spawn(&state.registry, Intervals { regular: hour, refused: hour }).unwrap();
    assert_eq!(state.registry.status().state, ConnectionState::Local);

    state.registry.tokens().save(&server.url, &tom).unwrap();
    let remote = Settings { registry: server.settings(), ..state.settings() };
    state.replace_settings(remote.clone(), true);
    let checking = next_status(&statuses);
    assert_eq!((checking.state, checking.generation), (ConnectionState::Checking, 1));
    assert_eq!(checking.location, server.url);
    assert_eq!(next_status(&statuses).state, ConnectionState::Online);

    state.registry.tokens().save(&server.url, &OperatorToken::generate()).unwrap();
    state.replace_settings(remote.clone(), true);
    assert_eq!(next_status(&statuses).state, ConnectionState::Checking);
    let refused = next_status(&statuses);
    assert_eq!(refused.state, ConnectionState::Refused);
    assert_eq!(refused.error.unwrap().code, "not_authorised");

    state.registry.tokens().remove(&server.url).unwrap();
    state.replace_settings(remote, true);
    assert_eq!(next_status(&statuses).state, ConnectionState::Checking);
    let no_token = next_status(&statuses);
    assert_eq!(no_token.state, ConnectionState::Refused);
    assert!(no_token.error.unwrap().message.contains("no operator token is stored"));
}

#[test]
fn reservations_keep_benches_apart() {
    let server = TestServer::start();
    let tom = server.operator("tom", Role::Technician);
    let minted = mint(&server.client(&tom), 3, Chip::Esp32c3);
    let (_a, bench_a) = app_state(server.settings(), tokens_with(&server.url, &tom));
    let (_b, bench_b) = app_state(server.settings(), tokens_with(&server.url, &tom));
    let observer = server.client(&tom);
    let c3 = Some(Chip::Esp32c3);

    let a_usb = bench_a.claims.current(&bench_a.registry, "/dev/ttyUSB0", c3).unwrap();
    let b_usb = bench_b.claims.current(&bench_b.registry, "/dev/ttyUSB0", c3).unwrap();
    let a_acm = bench_a.claims.current(&bench_a.registry, "/dev/ttyACM0", c3).unwrap();
    let ids = [&a_usb, &b_usb, &a_acm].map(|claim| claim.registration.node_id.clone());
    assert_ne!(ids[0], ids[1]);
    assert_ne!(ids[1], ids[2]);
    assert_ne!(ids[0], ids[2]);
    assert!(ids.iter().all(|id| minted.iter().any(|minted| minted.as_str() == id)));

    let lease = a_usb.lease.as_ref().expect("a reservation on a server has a lease");
    assert!(lease.holder.ends_with(" /dev/ttyUSB0"), "{}", lease.holder);
    assert!(lease.seconds_left > 0, "{lease:?}");
    assert!(lease.seconds_left <= registry::DEFAULT_LEASE_SECONDS, "{lease:?}");

    // Asking again keeps the reservation instead of taking another one.
    let again = bench_a.claims.current(&bench_a.registry, "/dev/ttyUSB0", c3).unwrap();
    assert_eq!(again.registration.node_id, ids[0]);
    let a_usb_id: NodeId = ids[0].parse().unwrap();
    assert_eq!(audit_actions(&observer, &a_usb_id), ["reserve", "mint"]);

    // Every registration is reserved, so a fourth card finds none.
    let none = bench_b.claims.current(&bench_b.registry, "/dev/ttyACM1", c3).unwrap_err();
    assert_eq!(none.code, "none_available");
    assert!(none.hint.is_some());

    // Picking a scanned registration releases the card's lease.
    let scanned: NodeId = ids[2].parse().unwrap();
    let picked = bench_a.claims.pick(&bench_a.registry, "/dev/ttyUSB0", &scanned).unwrap();
    assert_eq!(picked.lease, None);
    eventually("the released lease in the audit log", || {
        audit_actions(&observer, &a_usb_id).first().map(String::as_str) == Some("release")
    });

    // A port that goes away releases its card's lease.
    let b_usb_id: NodeId = ids[1].parse().unwrap();
    bench_b.claims.release_ports(&["/dev/ttyUSB0".to_owned()]);
    eventually("the lease of the unplugged port released", || {
        audit_actions(&observer, &b_usb_id).first().map(String::as_str) == Some("release")
    });

    // Switching registries releases the leases taken on the old one.
    let a_acm_id: NodeId = ids[2].parse().unwrap();
    assert!(bench_a.claims.lease_of("/dev/ttyACM0").is_some());
    let file = TempDir::new().unwrap();
    let embedded =
        RegistrySettings::Embedded { path: file.path().join("registry.sqlite3").display().to_string() };
    bench_a.replace_settings(Settings { registry: embedded, ..bench_a.settings() }, false);
    eventually("the leases of the old registry released", || {
        audit_actions(&observer, &a_acm_id).first().map(String::as_str) == Some("release")
    });

    let unknown_chip = bench_b.claims.current(&bench_b.registry, "/dev/ttyUSB9", None).unwrap_err();
    assert_eq!(unknown_chip.code, "chip_unknown");
    assert!(unknown_chip.message.contains("/dev/ttyUSB9"));
}

#[test]
fn embedded_cards_take_distinct_registrations() {
    let file = TempDir::new().unwrap();
    let path = file.path().join("registry.sqlite3");
    let minted = mint(&SqliteRegistry::open(&path).unwrap(), 2, Chip::Esp32);
    let embedded = RegistrySettings::Embedded { path: path.display().to_string() };
    let (_config, state) = app_state(embedded, TokenStore::in_memory());
    let esp32 = Some(Chip::Esp32);

    let first = state.claims.current(&state.registry, "/dev/pts/1", esp32).unwrap();
    let second = state.claims.current(&state.registry, "/dev/pts/2", esp32).unwrap();
    assert_eq!(first.registration.node_id, minted[0].as_str());
    assert_eq!(second.registration.node_id, minted[1].as_str());
    assert_eq!(first.lease, None, "a registry file takes no lease");
    assert_eq!(
        state.claims.current(&state.registry, "/dev/pts/3", esp32).unwrap_err().code,
        "none_available"
    );

    // After a successful flash the card lets its registration go.
    state.claims.flashed("/dev/pts/1", &minted[0]);
    let third = state.claims.current(&state.registry, "/dev/pts/3", esp32).unwrap();
    assert_eq!(third.registration.node_id, minted[0].as_str());
}

#[test]
fn audit_page_lists_both_registries() {
    let file = TempDir::new().unwrap();
    let sqlite = SqliteRegistry::open(&file.path().join("registry.sqlite3")).unwrap();
    let node_id = mint(&sqlite, 1, Chip::Esp32s3).remove(0);
    sqlite.rotate_token(&node_id).unwrap();
    sqlite.rotate_download_id(&node_id).unwrap();

    let first = audit_page(&sqlite, node_id.clone(), None, 2).unwrap();
    let actions: Vec<_> = first.entries.iter().map(|entry| entry.action.as_str()).collect();
    assert_eq!(actions, ["rotate_download_id", "rotate_token"]);
    assert!(first.entries[0].actor.starts_with("local:"), "{}", first.entries[0].actor);
    let older = audit_page(&sqlite, node_id.clone(), first.next_before_id, 2).unwrap();
    assert_eq!(older.entries.iter().map(|entry| entry.action.as_str()).collect::<Vec<_>>(), ["mint"]);
    assert_eq!(older.next_before_id, None);

    let server = TestServer::start();
    let tom = server.operator("tom", Role::Technician);
    let sue = server.operator("sue", Role::Support);
    let node_id = mint(&server.client(&tom), 1, Chip::Esp32).remove(0);
    server.client(&sue).rotate_token(&node_id).unwrap();

    let page = audit_page(&server.client(&sue), node_id, None, 50).unwrap();
    let who: Vec<_> =
        page.entries.iter().map(|entry| (entry.actor.as_str(), entry.action.as_str())).collect();
    assert_eq!(who, [("sue", "rotate_token"), ("tom", "mint")]);
    assert!(page.entries.iter().all(|entry| entry.request_id.is_some()), "{:?}", page.entries);
}

#[test]
fn support_role_is_refused_before_flashing() {
    let server = TestServer::start();
    let sue = server.operator("sue", Role::Support);
    let tom = server.operator("tom", Role::Technician);
    let node_id = mint(&server.client(&tom), 1, Chip::Esp32).remove(0);
    let request = bench::job::JobRequest {
        node_id,
        port: flasher::PortInfo::explicit_among("/dev/node-factory-test-port", Vec::new()),
        source: bench::job::FirmwareSource::BuildFolder(PathBuf::from("/nonexistent/build")),
        token: bench::provision::TokenSource::Rotate,
        options: flasher::FlashOptions::default(),
        keep_build_files: false,
    };
    let settings = bench::job::JobSettings {
        bench: Settings::defaults().bench_settings(),
        idf_location: None,
        jobs_dir: TempDir::new().unwrap().path().to_owned(),
    };

    let error = bench::job::run_job(&server.client(&sue), &settings, &request, &mut |_| {}).unwrap_err();
    let converted = crate::commands::bench::job_error(&error);
    assert_eq!(converted.code, "forbidden");
    assert!(converted.message.contains("sue"), "{}", converted.message);
    assert!(converted.hint.is_some());
}
