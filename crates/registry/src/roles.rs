//! Operator roles and the permissions each grants: the one table that the registry server
//! enforces and that clients check before a workflow starts changing things.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An operator's role, which decides the operator's permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages operators and may do everything else.
    Admin,
    /// Mints, reserves, records flashes, provisions and reads.
    Technician,
    /// Reads, rotates credentials and assigns registrations.
    Support,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Technician, Role::Support];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Technician => "technician",
            Role::Support => "support",
        }
    }

    /// Returns whether the role grants the permission: the one table of roles and permissions.
    pub fn allows(self, permission: Permission) -> bool {
        match self {
            Role::Admin => true,
            Role::Technician => matches!(
                permission,
                Permission::Read
                    | Permission::Mint
                    | Permission::Reserve
                    | Permission::Provision
                    | Permission::RecordFlash
                    | Permission::EditMetadata
            ),
            Role::Support => matches!(permission, Permission::Read | Permission::Rotate | Permission::Assign),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| format!("invalid role {text:?}: expected admin, technician or support"))
    }
}

/// A kind of API operation, which roles are granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    Read,
    Mint,
    Reserve,
    Provision,
    RecordFlash,
    EditMetadata,
    Rotate,
    Assign,
    ManageOperators,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::Mint => "mint",
            Permission::Reserve => "reserve",
            Permission::Provision => "provision",
            Permission::RecordFlash => "record_flash",
            Permission::EditMetadata => "edit_metadata",
            Permission::Rotate => "rotate",
            Permission::Assign => "assign",
            Permission::ManageOperators => "manage_operators",
        }
    }

    /// The sentence both the server and the client use when a role lacks this permission.
    pub fn refusal(self, operator: &str, role: Role) -> String {
        format!(
            "operator {operator} has the {role} role, which may not {self}; ask an admin for a role that may"
        )
    }

    /// Returns the roles granted this permission, for the API documentation.
    pub fn roles(self) -> Vec<Role> {
        Role::ALL.into_iter().filter(|role| role.allows(self)).collect()
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Permission::Read => "read registrations",
            Permission::Mint => "mint registrations",
            Permission::Reserve => "reserve registrations",
            Permission::Provision => "provision registrations",
            Permission::RecordFlash => "record flash attempts",
            Permission::EditMetadata => "change hardware metadata",
            Permission::Rotate => "rotate tokens and download IDs",
            Permission::Assign => "assign registrations",
            Permission::ManageOperators => "manage operators",
        };
        f.write_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_table() {
        use Permission::*;
        let all =
            [Read, Mint, Reserve, Provision, RecordFlash, EditMetadata, Rotate, Assign, ManageOperators];
        assert!(all.iter().all(|permission| Role::Admin.allows(*permission)));
        let technician: Vec<_> = all.into_iter().filter(|p| Role::Technician.allows(*p)).collect();
        assert_eq!(technician, [Read, Mint, Reserve, Provision, RecordFlash, EditMetadata]);
        let support: Vec<_> = all.into_iter().filter(|p| Role::Support.allows(*p)).collect();
        assert_eq!(support, [Read, Rotate, Assign]);
    }
}
