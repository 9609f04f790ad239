//! Connection handling over real sockets: slow headers are cut off, the connection cap holds
//! further clients back, and HTTPS works with a certificate the client is told to trust.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use registry::Registry;
use registry::http::HttpOptions;

use common::TestServer;

/// Reads until the server closes the connection or `limit` passes, returning whether it closed.
fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut buffer = [0u8; 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(error) if error.kind() == ErrorKind::ConnectionReset => return true,
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false;
            }
            Err(error) => panic!("reading failed: {error}"),
        }
    }
}

fn counts_request(server: &TestServer) -> String {
    format!(
        "GET /api/v1/registrations/counts HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        server.admin.expose_secret()
    )
}

#[test]
fn slow_headers_are_cut_off() {
    let server = TestServer::start_with(|config| config.options.header_timeout_seconds = 1);
    let mut idle = TcpStream::connect(server.address).unwrap();
    let mut slow = TcpStream::connect(server.address).unwrap();
    slow.write_all(b"GET /api/v1/registrations/counts HTTP/1.1\r\nHost: 127.0.0.1\r\n").unwrap();

    // Generous bounds: the timeout is one second, and only a hang reaches thirty.
    assert!(closed_within(&mut slow, Duration::from_secs(30)), "a half-sent request is closed");
    assert!(closed_within(&mut idle, Duration::from_secs(30)), "a silent connection is closed");
    assert_eq!(server.registry(&server.admin).counts().unwrap().total, 0, "the server still serves");
}

#[test]
fn connection_cap_holds_back_clients() {
    let server = TestServer::start_with(|config| {
        config.options.max_connections = 2;
        config.options.header_timeout_seconds = 60;
    });
    let first = TcpStream::connect(server.address).unwrap();
    let _second = TcpStream::connect(server.address).unwrap();
    let mut third = TcpStream::connect(server.address).unwrap();
    third.write_all(counts_request(&server).as_bytes()).unwrap();

    third.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let mut answer = Vec::new();
    let held_back = third.read_to_end(&mut answer);
    assert!(
        matches!(&held_back, Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "the third connection waits while two are open: {held_back:?} {}",
        String::from_utf8_lossy(&answer)
    );

    drop(first);
    third.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    third.read_to_end(&mut answer).unwrap();
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

#[test]
fn https_with_trusted_certificate() {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let folder = tempfile::TempDir::new().unwrap();
    let (certificate, key) = (folder.path().join("server.crt"), folder.path().join("server.key"));
    std::fs::write(&certificate, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    let (tls_cert, tls_key) = (certificate.clone(), key.clone());
    let server = TestServer::start_with(move |config| {
        config.options.tls_cert = Some(tls_cert);
        config.options.tls_key = Some(tls_key);
    });
    assert!(server.url().starts_with("https://127.0.0.1:"), "{}", server.url());

    let options = HttpOptions {
        extra_root_certificates: vec![certified.cert.pem().into_bytes()],
        ..HttpOptions::default()
    };
    let trusting =
        registry::HttpRegistry::with_options(&server.url(), server.admin.clone(), options).unwrap();
    assert_eq!(trusting.counts().unwrap().total, 0);
    let public_url = trusting.server_info().unwrap().unwrap().public_url;
    assert!(public_url.starts_with("https://"), "the default public URL follows TLS: {public_url}");

    let untrusting = server.impatient_registry(&server.admin);
    let error = untrusting.counts().unwrap_err();
    assert_eq!(error.code(), "server_unreachable", "a certificate nobody vouches for is refused: {error}");

    let plain = format!("http://{}", server.address);
    let plain_client = registry::HttpRegistry::with_options(
        &plain,
        server.admin.clone(),
        HttpOptions { max_attempts: 1, ..HttpOptions::default() },
    )
    .unwrap();
    assert!(plain_client.counts().is_err(), "plain HTTP gets no answer from an HTTPS server");
}
