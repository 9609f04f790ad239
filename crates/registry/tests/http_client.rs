//! `HttpRegistry` against a scripted HTTP server on 127.0.0.1: which requests are retried,
//! that a mint's retries carry one idempotency key, and how error statuses map to errors.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use factory_core::{NodeId, OperatorToken};
use registry::http::HttpOptions;
use registry::{HttpRegistry, MintRequest, NodeMetadata, Registry};

/// One request as the scripted server saw it.
#[derive(Debug, Clone)]
struct Seen {
    request_line: String,
    idempotency_key: Option<String>,
    authorization: Option<String>,
}

/// Replies to each connection with the next scripted (status, body) and records the request.
fn scripted_server(script: Vec<(u16, &'static str)>) -> (SocketAddr, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    std::thread::spawn(move || {
        for (status, body) in script {
            let Ok((stream, _)) = listener.accept() else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut seen = Seen {
                request_line: request_line.trim().to_owned(),
                idempotency_key: None,
                authorization: None,
            };
            let mut content_length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let line = line.trim();
                if line.is_empty() {
                    break;
                }
                let (name, value) = line.split_once(':').unwrap();
                match name.to_ascii_lowercase().as_str() {
                    "idempotency-key" => seen.idempotency_key = Some(value.trim().to_owned()),
                    "authorization" => seen.authorization = Some(value.trim().to_owned()),
                    "content-length" => content_length = value.trim().parse().unwrap(),
                    _ => {}
                }
            }
            let mut body_bytes = vec![0; content_length];
            reader.read_exact(&mut body_bytes).unwrap();
            record.lock().unwrap().push(seen);

            let mut stream = stream;
            write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\nx-request-id: req-{status}\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
        }
    });
    (address, seen)
}

fn client(address: SocketAddr, token: &OperatorToken) -> HttpRegistry {
    let options = HttpOptions {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(5),
        read_timeout: Duration::from_secs(10),
        ..HttpOptions::default()
    };
    HttpRegistry::with_options(&format!("http://{address}"), token.clone(), options).unwrap()
}

const COUNTS: &str = r#"{"total":0,"available":0,"assigned":0,"provisioned":0,"available_by_chip":{}}"#;
const FAILED: &str = r#"{"code":"internal_error","message":"the registry server failed"}"#;

#[test]
fn reads_are_retried_after_server_errors() {
    let (address, seen) = scripted_server(vec![(503, FAILED), (502, FAILED), (200, COUNTS)]);
    let token = OperatorToken::generate();

    let counts = client(address, &token).counts().unwrap();

    assert_eq!(counts.total, 0);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|request| request.request_line.starts_with("GET /api/v1/registrations/counts")));
    let bearer = format!("Bearer {}", token.expose_secret());
    assert!(seen.iter().all(|request| request.authorization.as_deref() == Some(bearer.as_str())));
}

#[test]
fn reads_give_up_after_max_attempts() {
    let (address, seen) = scripted_server(vec![(500, FAILED), (500, FAILED), (500, FAILED), (200, COUNTS)]);

    let error = client(address, &OperatorToken::generate()).counts().unwrap_err();

    assert_eq!(error.code(), "server_failed");
    assert!(error.to_string().contains("req-500"), "{error}");
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[test]
fn changes_without_key_are_not_retried() {
    let (address, seen) = scripted_server(vec![(503, FAILED), (200, r#"{"ota_token":"x"}"#)]);
    let node_id: NodeId = "abcdefghijklmnop".parse().unwrap();

    let error = client(address, &OperatorToken::generate()).rotate_token(&node_id).unwrap_err();

    assert_eq!(error.code(), "server_failed");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "a rotation is sent once: {seen:?}");
}

#[test]
fn mint_retries_carry_one_key() {
    let (address, seen) =
        scripted_server(vec![(503, FAILED), (503, FAILED), (200, r#"{"registrations":[]}"#)]);
    let request =
        MintRequest { count: 1, target_chip: None, metadata: NodeMetadata::None, idempotency_key: None };

    let minted = client(address, &OperatorToken::generate()).mint_batch(&request).unwrap();

    assert!(minted.is_empty());
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    let key = seen[0].idempotency_key.clone().expect("the client adds a key");
    assert!(seen.iter().all(|request| request.idempotency_key.as_deref() == Some(key.as_str())));
}

#[test]
fn error_statuses_map_to_error_codes() {
    let node_id: NodeId = "abcdefghijklmnop".parse().unwrap();
    let cases = [
        (401, r#"{"code":"unknown_token","message":"the operator token is unknown"}"#, "not_authorised"),
        (403, r#"{"code":"forbidden","message":"operator x may not"}"#, "forbidden"),
        (429, r#"{"code":"too_many_attempts","message":"wait"}"#, "too_many_attempts"),
        (404, r#"{"code":"registration_not_found","message":"no registration"}"#, "registration_not_found"),
        (
            422,
            r#"{"code":"invalid_input","message":"invalid x: bad","field":"x","reason":"bad"}"#,
            "invalid_input",
        ),
        (
            409,
            r#"{"code":"conflict","message":"exists","field":"an assignment","reason":"taken"}"#,
            "conflict",
        ),
        (413, r#"{"code":"body_too_large","message":"too large"}"#, "rejected"),
        (
            409,
            r#"{"code":"conflict","message":"cannot use","field":"idempotency_key","reason":"expired"}"#,
            "conflict",
        ),
        (400, "not json at all", "rejected"),
        (200, "not json at all", "bad_response"),
    ];
    for (status, body, code) in cases {
        let (address, _) = scripted_server(vec![(status, body)]);
        let error = client(address, &OperatorToken::generate()).get(&node_id).unwrap_err();
        assert_eq!(error.code(), code, "status {status}: {error}");
    }
}

#[test]
fn stalled_server_read_ends_at_deadline() {
    // The listener accepts connections and never answers, like a stopped server process.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let held = Arc::clone(&accepted);
    std::thread::spawn(move || {
        for stream in listener.incoming().take(50) {
            held.lock().unwrap().push(stream);
        }
    });
    let options = HttpOptions {
        read_timeout: Duration::from_millis(300),
        read_deadline: Duration::from_secs(1),
        max_attempts: 50,
        initial_backoff: Duration::from_millis(10),
        ..HttpOptions::default()
    };
    let registry =
        HttpRegistry::with_options(&format!("http://{address}"), OperatorToken::generate(), options).unwrap();

    let error = registry.counts().unwrap_err();

    assert_eq!(error.code(), "server_timed_out", "{error}");
    assert!(error.to_string().contains("did not answer in time"), "{error}");
    let attempts = accepted.lock().unwrap().len();
    assert!(
        (1..50).contains(&attempts),
        "the deadline, not the attempt limit, ended the read after {attempts} attempts"
    );
}

#[test]
fn server_facts_are_read_once() {
    let info = r#"{"version":"0.1.0","public_url":"https://ota.example","operator":"sue","role":"support","max_batch":500,"default_lease_seconds":600,"body_limit_bytes":1024}"#;
    let (address, seen) = scripted_server(vec![(200, info)]);
    let registry = client(address, &OperatorToken::generate());

    assert_eq!(
        registry.server_info().unwrap().map(|info| info.public_url).as_deref(),
        Some("https://ota.example")
    );
    registry.check_permissions(&[registry::Permission::Read, registry::Permission::Rotate]).unwrap();
    let error = registry.check_permissions(&[registry::Permission::Provision]).unwrap_err();

    assert_eq!(error.code(), "forbidden", "{error}");
    assert!(error.to_string().contains("operator sue has the support role"), "{error}");
    assert_eq!(seen.lock().unwrap().len(), 1, "the facts are cached");
}
