//! The registration each bench card offers, by port, so two cards never default to the same
//! one. On a registry server the card's registration is reserved under a lease, so no other
//! bench gets it either. On a registry file the card takes the oldest available registration
//! that no other card has claimed.
//!
//! A lease ends when the card takes another registration, when its port goes away, when the
//! registry changes or the app closes (each releases it), or when a flash of it succeeds (the
//! server ends it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use factory_core::{Chip, NodeId, Registration, RegistrationStatus};
use registry::{Lease, ListQuery, Registry, RegistryError, ReserveRequest, SortDirection, SortKey};

use crate::active_registry::ActiveRegistry;
use crate::dto::{CardClaim, LeaseView, RegistrationRow};
use crate::error::{CommandError, CommandResult};
use crate::settings::RegistrySettings;
use crate::state::lock;

/// The maximum length of a lease holder name the registry accepts, in characters.
const MAX_HOLDER_LENGTH: usize = 200;

/// The registrations of the bench cards.
#[derive(Default)]
pub struct CardClaims {
    claims: Mutex<HashMap<String, Claim>>,
    /// Held while a card picks its next registration, so two cards never pick the same one.
    picking: Mutex<()>,
}

struct Claim {
    /// The registry generation the claim was made in; a claim of an earlier one is void.
    generation: u32,
    registration: Registration,
    lease: Option<HeldLease>,
}

/// A lease with the registry handle it was taken on, so it can be released on the same
/// server after the settings switched to another.
struct HeldLease {
    registry: Arc<dyn Registry>,
    lease: Lease,
}

impl HeldLease {
    fn release(&self, node_id: &NodeId) {
        match self.registry.release_lease(node_id, &self.lease.lease_id) {
            Ok(()) => tracing::info!(%node_id, holder = %self.lease.holder, "released lease"),
            // The lease expired, or a successful flash already ended it.
            Err(RegistryError::LeaseNotHeld { .. }) => {}
            Err(error) => tracing::warn!(%node_id, code = error.code(), %error, "failed to release lease"),
        }
    }

    fn expired(&self, now: DateTime<Utc>) -> bool {
        // NOTE: the expiry is by the server's clock and `now` by this computer's. A skew between
        // them makes the card take a new registration a little early or late.
        self.lease.expires_at <= now
    }
}

impl Claim {
    fn view(&self, notice: Option<String>) -> CardClaim {
        CardClaim {
            registration: RegistrationRow::from(&self.registration),
            lease: self.lease.as_ref().map(|held| lease_view(&held.lease, Utc::now())),
            notice,
        }
    }

    fn fits(&self, generation: u32, chip: Option<Chip>, now: DateTime<Utc>) -> bool {
        self.generation == generation
            && !self.lease.as_ref().is_some_and(|held| held.expired(now))
            && (chip.is_none()
                || self.registration.target_chip.is_none()
                || self.registration.target_chip == chip)
    }
}

fn lease_view(lease: &Lease, now: DateTime<Utc>) -> LeaseView {
    let seconds_left = (lease.expires_at - now).num_seconds().clamp(0, i64::from(u32::MAX));
    LeaseView {
        holder: lease.holder.clone(),
        expires_at: lease.expires_at.to_rfc3339(),
        seconds_left: u32::try_from(seconds_left).unwrap_or(u32::MAX),
    }
}

/// Returns the lease holder name of a card: this computer's host name and the port.
pub fn holder(port: &str) -> String {
    format!("{} {port}", bench::flash::bench_host())
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_HOLDER_LENGTH)
        .collect()
}

impl CardClaims {
    /// Returns the registration of `port`'s card: the one it has claimed, or else the next one.
    /// A claim of an earlier registry, with an expired lease, or for another chip than `chip`
    /// gives way to the next one. Blocks on the registry.
    pub fn current(
        &self,
        active: &ActiveRegistry,
        port: &str,
        chip: Option<Chip>,
    ) -> CommandResult<CardClaim> {
        let (generation, _, _) = active.current()?;
        if let Some(claim) =
            lock(&self.claims).get(port).filter(|claim| claim.fits(generation, chip, Utc::now()))
        {
            return Ok(claim.view(None));
        }
        self.next(active, port, chip)
    }

    /// Gives up `port`'s registration and takes the next one: a reservation on a registry
    /// server, or the oldest available registration no other card has claimed in a registry file.
    pub fn next(&self, active: &ActiveRegistry, port: &str, chip: Option<Chip>) -> CommandResult<CardClaim> {
        let _picking = lock(&self.picking);
        let (generation, settings, registry) = active.current()?;
        self.release_port(port);

        let claim = match settings {
            RegistrySettings::Remote { .. } => {
                let chip = chip.ok_or_else(|| {
                    CommandError::new(
                        "chip_unknown",
                        format!(
                            "the chip of the board on {port} is not known yet, so no registration can be reserved for it"
                        ),
                    )
                })?;
                let request = ReserveRequest { target_chip: chip, holder: holder(port), lease_seconds: None };
                let reservation = registry.reserve_next(&request)?;
                tracing::info!(
                    node_id = %reservation.registration.node_id,
                    holder = %reservation.lease.holder,
                    expires_at = %reservation.lease.expires_at,
                    "reserved registration for a bench card"
                );
                Claim {
                    generation,
                    registration: reservation.registration,
                    lease: Some(HeldLease { registry: Arc::clone(&registry), lease: reservation.lease }),
                }
            }
            RegistrySettings::Embedded { .. } => {
                let registration = self.next_unclaimed(registry.as_ref(), generation, port, chip)?;
                Claim { generation, registration, lease: None }
            }
        };
        let view = claim.view(None);
        lock(&self.claims).insert(port.to_owned(), claim);
        Ok(view)
    }

    /// Returns the oldest available registration for `chip` that no other card has claimed.
    fn next_unclaimed(
        &self,
        registry: &dyn Registry,
        generation: u32,
        port: &str,
        chip: Option<Chip>,
    ) -> CommandResult<Registration> {
        let held: Vec<NodeId> = lock(&self.claims)
            .iter()
            .filter(|(owner, claim)| owner.as_str() != port && claim.generation == generation)
            .map(|(_, claim)| claim.registration.node_id.clone())
            .collect();
        let query = ListQuery {
            status: Some(RegistrationStatus::Available),
            target_chip: chip,
            search: None,
            sort: SortKey::CreatedAt,
            direction: SortDirection::Ascending,
            offset: 0,
            limit: u32::try_from(held.len() + 1).unwrap_or(u32::MAX),
        };
        let page = registry.list(&query)?;
        page.items.into_iter().find(|registration| !held.contains(&registration.node_id)).ok_or_else(|| {
            match chip {
                Some(chip) => RegistryError::NoneAvailable { chip }.into(),
                None => {
                    CommandError::new("none_available", "no registration is available; mint a batch first")
                }
            }
        })
    }

    /// Makes `node_id` (typed or scanned) the registration of `port`'s card, giving up the
    /// card's lease unless it is on the same registration.
    pub fn pick(&self, active: &ActiveRegistry, port: &str, node_id: &NodeId) -> CommandResult<CardClaim> {
        let (generation, _, registry) = active.current()?;
        let registration = registry.get(node_id)?;

        let mut claims = lock(&self.claims);
        let kept_lease = match claims.remove(port) {
            Some(claim) if claim.registration.node_id == *node_id && claim.generation == generation => {
                claim.lease
            }
            Some(claim) => {
                release_in_background(vec![claim]);
                None
            }
            None => None,
        };
        let notice = (registration.status() != RegistrationStatus::Available).then(|| {
            format!(
                "Registration {node_id} is already {}; flashing it again replaces its firmware.",
                registration.status().as_str()
            )
        });
        let claim = Claim { generation, registration, lease: kept_lease };
        let view = claim.view(notice);
        claims.insert(port.to_owned(), claim);
        Ok(view)
    }

    /// Forgets `port`'s claim on `node_id` after a successful flash, which ended its lease.
    pub fn flashed(&self, port: &str, node_id: &NodeId) {
        let mut claims = lock(&self.claims);
        if claims.get(port).is_some_and(|claim| claim.registration.node_id == *node_id) {
            claims.remove(port);
        }
    }

    /// Releases the claims of ports that went away, on a background thread.
    pub fn release_ports(&self, ports: &[String]) {
        let released: Vec<Claim> = {
            let mut claims = lock(&self.claims);
            ports.iter().filter_map(|port| claims.remove(port)).collect()
        };
        release_in_background(released);
    }

    /// Releases every claim on a background thread, after the registry changed.
    pub fn release_all(&self) {
        let released: Vec<Claim> = lock(&self.claims).drain().map(|(_, claim)| claim).collect();
        release_in_background(released);
    }

    /// Releases every lease and waits at most `limit` for the servers, when the app closes.
    /// Leases not released in time expire on their own.
    pub fn release_all_within(&self, limit: Duration) {
        let released: Vec<Claim> = lock(&self.claims).drain().map(|(_, claim)| claim).collect();
        if released.iter().all(|claim| claim.lease.is_none()) {
            return;
        }
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            release(&released);
            let _ = done.send(());
        });
        if finished.recv_timeout(limit).is_err() {
            tracing::warn!("leases not released before closing; they expire on their own");
        }
    }

    fn release_port(&self, port: &str) {
        let released: Vec<Claim> = lock(&self.claims).remove(port).into_iter().collect();
        release(&released);
    }

    #[cfg(test)]
    pub fn lease_of(&self, port: &str) -> Option<Lease> {
        lock(&self.claims).get(port).and_then(|claim| claim.lease.as_ref().map(|held| held.lease.clone()))
    }
}

fn release(claims: &[Claim]) {
    for claim in claims {
        if let Some(held) = &claim.lease {
            held.release(&claim.registration.node_id);
        }
    }
}

fn release_in_background(claims: Vec<Claim>) {
    if claims.iter().all(|claim| claim.lease.is_none()) {
        return;
    }
    let spawned =
        std::thread::Builder::new().name("release-leases".to_owned()).spawn(move || release(&claims));
    if let Err(error) = spawned {
        tracing::warn!(%error, "failed to start releasing leases; they expire on their own");
    }
}
