//! Operator roles, bearer-token authentication and the slow-down of repeated failures.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use factory_core::OperatorToken;
pub use registry::{Permission, Role};

use crate::error::ApiError;
use crate::state::AppState;

/// The operator a request was authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub name: String,
    pub role: Role,
}

/// Checks the bearer token and the operator's role for one route. Runs before the route's
/// extractors, so a refused request learns nothing about its body or path.
pub async fn require(
    State((state, permission)): State<(AppState, Permission)>,
    mut request: Request,
    next: Next,
) -> Response {
    let address = client_address(&request, &state.settings.trusted_proxies);
    if let Some(retry_after_seconds) = state.limiter.blocked_for(address) {
        return ApiError::TooManyAttempts { retry_after_seconds }.into_response();
    }

    let Some(token) = bearer_token(&request).and_then(|text| OperatorToken::parse(text).ok()) else {
        state.limiter.record_failure(address);
        return ApiError::NotAuthenticated.into_response();
    };

    // The lookup runs on the async worker: it is one indexed read on the operators' own
    // connection, which WAL mode never makes wait for a writer, and a hop to the blocking
    // pool would cost more than the read.
    let operator = match state.operators.authenticate(&token) {
        Ok(Some(operator)) => operator,
        Ok(None) => {
            state.limiter.record_failure(address);
            tracing::info!(address = ?address, "rejected an unknown or revoked operator token");
            return ApiError::UnknownToken.into_response();
        }
        Err(error) => return ApiError::Internal { detail: error.to_string() }.into_response(),
    };
    state.limiter.record_success(address);

    if !operator.role.allows(permission) {
        return ApiError::Forbidden { operator: operator.name, role: operator.role, permission }
            .into_response();
    }
    tracing::Span::current().record("operator", operator.name.as_str());
    request.extensions_mut().insert(operator);
    next.run(request).await
}

/// Returns the text after `Bearer ` in the Authorization header, when there is one.
pub fn bearer_token(request: &Request) -> Option<&str> {
    let value = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

/// Returns the address to count failed sign-ins against: the peer's, or, when the peer is a
/// trusted proxy, the client that `X-Forwarded-For` names. Proxies append the address they
/// received from, so the entry nearest the end that is not itself a trusted proxy is the
/// first one no trusted party vouches for; entries before it may be forged by the client.
fn client_address(request: &Request, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip())?;
    if !trusted_proxies.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = request
        .headers()
        .get_all(FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|text| text.split(','))
        .map(|entry| entry.trim().parse::<IpAddr>())
        .collect::<Result<_, _>>()
        .unwrap_or_default();
    let client = forwarded.into_iter().rev().find(|address| !trusted_proxies.contains(address));
    Some(client.unwrap_or(peer))
}

/// The header a reverse proxy adds with the address it received a request from.
const FORWARDED_FOR: &str = "x-forwarded-for";

/// Failures an address may make before it is slowed down.
const FREE_FAILURES: u32 = 5;

/// The maximum wait imposed on an address.
const MAX_DELAY: Duration = Duration::from_secs(300);

/// How long an address's failures are remembered after its last one.
const FORGET_AFTER: Duration = Duration::from_secs(900);

/// How many addresses are tracked at most, which bounds the memory an attacker with many
/// addresses can make the server use.
const MAX_TRACKED_ADDRESSES: usize = 10_000;

/// Counts authentication failures per client address. After [`FREE_FAILURES`] failures an
/// address must wait before its next attempt, twice as long after each further failure, up to
/// [`MAX_DELAY`]; requests during the wait are rejected with 429 without checking the token.
pub struct FailureLimiter {
    entries: Mutex<HashMap<Option<IpAddr>, FailureEntry>>,
    max_tracked: usize,
}

#[derive(Clone, Copy)]
struct FailureEntry {
    failures: u32,
    last_failure: Instant,
    blocked_until: Option<Instant>,
}

impl Default for FailureLimiter {
    fn default() -> Self {
        FailureLimiter::with_capacity(MAX_TRACKED_ADDRESSES)
    }
}

impl FailureLimiter {
    pub fn with_capacity(max_tracked: usize) -> FailureLimiter {
        FailureLimiter { entries: Mutex::new(HashMap::new()), max_tracked: max_tracked.max(1) }
    }

    /// The seconds the address must still wait, when it is blocked.
    pub fn blocked_for(&self, address: Option<IpAddr>) -> Option<u64> {
        let entries = self.lock();
        let blocked_until = entries.get(&address)?.blocked_until?;
        let remaining = blocked_until.checked_duration_since(Instant::now())?;
        Some(remaining.as_secs_f64().ceil().max(1.0) as u64)
    }

    pub fn record_failure(&self, address: Option<IpAddr>) {
        let now = Instant::now();
        let mut entries = self.lock();
        if !entries.contains_key(&address) && entries.len() >= self.max_tracked {
            evict(&mut entries, now, self.max_tracked);
        }

        let entry = entries.entry(address).or_insert(FailureEntry {
            failures: 0,
            last_failure: now,
            blocked_until: None,
        });
        if now.duration_since(entry.last_failure) > FORGET_AFTER {
            entry.failures = 0;
        }
        entry.failures += 1;
        entry.last_failure = now;
        if entry.failures >= FREE_FAILURES {
            let doublings = (entry.failures - FREE_FAILURES).min(16);
            let delay = Duration::from_secs(1 << doublings).min(MAX_DELAY);
            entry.blocked_until = Some(now + delay);
            tracing::warn!(address = ?address, failures = entry.failures, delay_seconds = delay.as_secs(), "slowing down repeated authentication failures");
        }
    }

    pub fn record_success(&self, address: Option<IpAddr>) {
        let mut entries = self.lock();
        if entries.contains_key(&address) {
            entries.remove(&address);
        }
    }

    pub fn tracked(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Option<IpAddr>, FailureEntry>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Drops forgotten entries, and when that frees no room, the entry whose last failure is
/// oldest.
fn evict(entries: &mut HashMap<Option<IpAddr>, FailureEntry>, now: Instant, max_tracked: usize) {
    entries.retain(|_, entry| now.duration_since(entry.last_failure) <= FORGET_AFTER);
    if entries.len() >= max_tracked {
        let oldest = entries.iter().min_by_key(|(_, entry)| entry.last_failure).map(|(address, _)| *address);
        if let Some(oldest) = oldest {
            entries.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([127, 0, 0, last]))
    }

    fn request_from(peer: [u8; 4], forwarded_for: &[&str]) -> Request {
        let mut builder = axum::http::Request::builder();
        for value in forwarded_for {
            builder = builder.header(FORWARDED_FOR, *value);
        }
        let mut request = builder.body(axum::body::Body::empty()).unwrap();
        request.extensions_mut().insert(ConnectInfo(SocketAddr::from((peer, 40000))));
        request
    }

    #[test]
    fn forwarded_for_believed_only_from_trusted_proxy() {
        let proxy = IpAddr::from([10, 0, 0, 2]);
        let cases: [([u8; 4], &[&str], [u8; 4]); 6] = [
            ([10, 0, 0, 2], &["192.0.2.7"], [192, 0, 2, 7]),
            ([10, 0, 0, 2], &["198.51.100.1, 192.0.2.7"], [192, 0, 2, 7]),
            ([10, 0, 0, 2], &["192.0.2.7, 10.0.0.2"], [192, 0, 2, 7]),
            ([10, 0, 0, 2], &[], [10, 0, 0, 2]),
            ([10, 0, 0, 2], &["not an address"], [10, 0, 0, 2]),
            ([192, 0, 2, 9], &["192.0.2.7"], [192, 0, 2, 9]),
        ];
        for (peer, header, expected) in cases {
            let address = client_address(&request_from(peer, header), &[proxy]);
            assert_eq!(address, Some(IpAddr::from(expected)), "peer {peer:?} header {header:?}");
        }
    }

    #[test]
    fn limiter_blocks_after_free_failures() {
        let limiter = FailureLimiter::default();
        for _ in 0..FREE_FAILURES - 1 {
            limiter.record_failure(address(1));
            assert_eq!(limiter.blocked_for(address(1)), None);
        }
        limiter.record_failure(address(1));
        assert_eq!(limiter.blocked_for(address(1)), Some(1));
        limiter.record_failure(address(1));
        assert_eq!(limiter.blocked_for(address(1)), Some(2));
        assert_eq!(limiter.blocked_for(address(2)), None, "other addresses are not affected");

        limiter.record_success(address(1));
        assert_eq!(limiter.blocked_for(address(1)), None);
    }

    #[test]
    fn limiter_delay_is_capped() {
        let limiter = FailureLimiter::default();
        for _ in 0..40 {
            limiter.record_failure(address(1));
        }
        assert_eq!(limiter.blocked_for(address(1)), Some(MAX_DELAY.as_secs()));
    }

    #[test]
    fn limiter_memory_is_bounded() {
        let limiter = FailureLimiter::with_capacity(100);
        for index in 0..1000u32 {
            limiter.record_failure(Some(IpAddr::from(index.to_be_bytes())));
        }
        assert!(limiter.tracked() <= 100, "{} addresses tracked", limiter.tracked());
    }
}
