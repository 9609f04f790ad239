//! Registrations: what the registry stores about one node.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Chip, CoreError, DownloadId, HardwareMetadata, NodeId, TokenHash, truncate_for_message};

/// The longest house slug, in characters.
pub const MAX_HOUSE_SLUG_LENGTH: usize = 64;

/// One pre-minted node identity and its lifecycle.
///
/// The legacy plaintext token that records imported from older systems may carry is not
/// part of this type: only `has_legacy_token` says whether the registry holds one, so the
/// secret cannot travel with a registration by accident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Registration {
    pub node_id: NodeId,
    pub download_id: DownloadId,
    pub token_hash: TokenHash,
    pub hardware_metadata: Option<HardwareMetadata>,
    pub target_chip: Option<Chip>,
    pub created_at: DateTime<Utc>,
    pub provisioned_at: Option<DateTime<Utc>>,
    pub assignment: Option<Assignment>,
    pub has_legacy_token: bool,
}

impl Registration {
    pub fn status(&self) -> RegistrationStatus {
        if self.assignment.is_some() {
            RegistrationStatus::Assigned
        } else if self.provisioned_at.is_some() {
            RegistrationStatus::Provisioned
        } else {
            RegistrationStatus::Available
        }
    }
}

/// Where a node went once a customer claimed it. At least one field is set; a registration
/// without any has no assignment at all.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub house_slug: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_house_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_user_id: Option<i64>,
}

impl Assignment {
    /// Returns `None` when no field is set, so that an empty assignment never counts as one.
    pub fn non_empty(self) -> Option<Assignment> {
        let empty = self.house_slug.is_none()
            && self.room_id.is_none()
            && self.assigned_house_id.is_none()
            && self.assigned_user_id.is_none();
        (!empty).then_some(self)
    }

    /// Checks an assignment that a person or a peer supplied: at least one field set, a house
    /// slug of 1 to [`MAX_HOUSE_SLUG_LENGTH`] characters of `a-z`, `0-9` and `-` (it becomes
    /// part of URLs and paths elsewhere), and positive IDs. Stored assignments are not checked,
    /// so records written under older rules still load.
    pub fn validate(&self) -> Result<(), CoreError> {
        let invalid = |field, reason: String| CoreError::InvalidAssignment { field, reason };
        if self.clone().non_empty().is_none() {
            return Err(invalid(
                "assignment",
                "it is empty; set at least one of house_slug, room_id, assigned_house_id and assigned_user_id"
                    .to_owned(),
            ));
        }
        if let Some(slug) = &self.house_slug {
            let valid = !slug.is_empty()
                && slug.chars().count() <= MAX_HOUSE_SLUG_LENGTH
                && slug
                    .bytes()
                    .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
            if !valid {
                return Err(invalid(
                    "house_slug",
                    format!(
                        "{:?} is not a house slug; give 1 to {MAX_HOUSE_SLUG_LENGTH} characters of a-z, 0-9 and -, such as maple-12",
                        truncate_for_message(slug)
                    ),
                ));
            }
        }
        for (field, id) in [
            ("room_id", self.room_id),
            ("assigned_house_id", self.assigned_house_id),
            ("assigned_user_id", self.assigned_user_id),
        ] {
            if let Some(id) = id.filter(|id| *id <= 0) {
                return Err(invalid(field, format!("{id} is not an ID; give a positive whole number")));
            }
        }
        Ok(())
    }
}

impl fmt::Display for Assignment {
    /// A short description of the target, such as `house maple-12 / room 3 / user 41`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        match (&self.house_slug, self.assigned_house_id) {
            (Some(slug), _) => parts.push(format!("house {slug}")),
            (None, Some(id)) => parts.push(format!("house #{id}")),
            (None, None) => {}
        }
        if let Some(room) = self.room_id {
            parts.push(format!("room {room}"));
        }
        if let Some(user) = self.assigned_user_id {
            parts.push(format!("user {user}"));
        }
        f.write_str(&parts.join(" / "))
    }
}

/// The lifecycle state of a registration, derived from its assignment and provisioning time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistrationStatus {
    Available,
    Assigned,
    Provisioned,
}

impl RegistrationStatus {
    pub const ALL: [RegistrationStatus; 3] =
        [RegistrationStatus::Available, RegistrationStatus::Assigned, RegistrationStatus::Provisioned];

    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationStatus::Available => "available",
            RegistrationStatus::Assigned => "assigned",
            RegistrationStatus::Provisioned => "provisioned",
        }
    }
}

impl fmt::Display for RegistrationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RegistrationStatus {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        RegistrationStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| format!("invalid status {text:?}: expected available, assigned or provisioned"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OtaToken;

    fn registration() -> Registration {
        Registration {
            node_id: NodeId::generate(),
            download_id: DownloadId::generate(),
            token_hash: OtaToken::generate().hash(),
            hardware_metadata: None,
            target_chip: Some(Chip::Esp32c3),
            created_at: Utc::now(),
            provisioned_at: None,
            assignment: None,
            has_legacy_token: false,
        }
    }

    #[test]
    fn status_follows_assignment_then_provisioning() {
        let mut record = registration();
        assert_eq!(record.status(), RegistrationStatus::Available);

        record.provisioned_at = Some(Utc::now());
        assert_eq!(record.status(), RegistrationStatus::Provisioned);

        record.assignment = Assignment { room_id: Some(3), ..Default::default() }.non_empty();
        assert_eq!(record.status(), RegistrationStatus::Assigned);

        record.provisioned_at = None;
        assert_eq!(record.status(), RegistrationStatus::Assigned);
    }

    #[test]
    fn empty_assignment_is_none() {
        assert_eq!(Assignment::default().non_empty(), None);
    }

    #[test]
    fn assignment_validation() {
        let house = |slug: &str| Assignment { house_slug: Some(slug.to_owned()), ..Default::default() };
        assert!(house("maple-12").validate().is_ok());
        assert!(house(&"a".repeat(MAX_HOUSE_SLUG_LENGTH)).validate().is_ok());
        assert!(Assignment { room_id: Some(1), ..Default::default() }.validate().is_ok());

        let cases = [
            (Assignment::default(), "assignment"),
            (house(""), "house_slug"),
            (house("../../etc"), "house_slug"),
            (house("Maple"), "house_slug"),
            (house("bad\nslug"), "house_slug"),
            (house(&"a".repeat(MAX_HOUSE_SLUG_LENGTH + 1)), "house_slug"),
            (Assignment { room_id: Some(0), ..Default::default() }, "room_id"),
            (Assignment { assigned_house_id: Some(-3), ..Default::default() }, "assigned_house_id"),
            (Assignment { assigned_user_id: Some(-1), ..house("maple-12") }, "assigned_user_id"),
        ];
        for (assignment, field) in cases {
            match assignment.validate() {
                Err(CoreError::InvalidAssignment { field: found, .. }) => {
                    assert_eq!(found, field, "{assignment:?}")
                }
                other => panic!("{assignment:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn assignment_rejects_unknown_fields() {
        let error = serde_json::from_str::<Assignment>(r#"{"house_slg": "maple-12"}"#).unwrap_err();
        assert!(error.to_string().contains("house_slg"), "{error}");
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let error = Assignment { house_slug: Some("A".repeat(10_000)), ..Default::default() }
            .validate()
            .unwrap_err()
            .to_string();
        assert!(error.len() < 300, "{error}");
        let error = "x".repeat(10_000).parse::<NodeId>().unwrap_err().to_string();
        assert!(error.len() < 200, "{error}");
    }

    #[test]
    fn assignment_describes_target() {
        let assignment = Assignment {
            house_slug: Some("maple-12".into()),
            room_id: Some(3),
            assigned_house_id: Some(9),
            assigned_user_id: Some(41),
        };
        assert_eq!(assignment.to_string(), "house maple-12 / room 3 / user 41");
    }
}
