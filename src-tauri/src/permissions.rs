//! What the operator's role allows, per action of the app, from the registry's one table of
//! roles and permissions and the permissions the workflows declare they need.

use bench::provision::{ProvisionRequest, TokenSource, required_permissions};
use factory_core::NodeId;
use registry::{Permission, Role};

use crate::dto::ActionPermissions;

/// Returns the permissions of a provisioning step with this token handling and marking.
fn provisioning(token: TokenSource, mark_provisioned: bool) -> Vec<Permission> {
    required_permissions(&ProvisionRequest {
        node_id: NodeId::generate(),
        config_files: Vec::new(),
        token,
        rotate_download_id: false,
        mark_provisioned,
    })
}

/// Returns the permissions of a flash job that first provisions a project with `token`, as
/// `bench::job::run_job` checks them: flashing and recording, and the provisioning step.
fn flashing(token: TokenSource) -> Vec<Permission> {
    let mut needed = bench::flash::REQUIRED_PERMISSIONS.to_vec();
    needed.extend(provisioning(token, false));
    needed
}

/// Returns the refusal sentence of the first permission in `needed` that `role` lacks.
fn refusal(operator: &str, role: Role, needed: &[Permission]) -> Option<String> {
    needed
        .iter()
        .find(|permission| !role.allows(**permission))
        .map(|permission| permission.refusal(operator, role))
}

/// Returns why `operator` with `role` may not do each action, or `None` where it may.
pub fn for_role(operator: &str, role: Role) -> ActionPermissions {
    // A token taken from the export file needs no permission beyond reading, so any valid value
    // serves as a placeholder for it here.
    let minted = || TokenSource::Provided(factory_core::OtaToken::generate());
    let deny = |needed: &[Permission]| refusal(operator, role, needed);
    ActionPermissions {
        flash: deny(&flashing(minted())),
        flash_rotating_token: deny(&flashing(TokenSource::Rotate)),
        reserve: deny(&[Permission::Reserve]),
        mint: deny(&[Permission::Mint]),
        rotate_token: deny(&[Permission::Rotate]),
        rotate_download_id: deny(&[Permission::Rotate]),
        patch_sdkconfig: deny(&provisioning(minted(), false)),
        patch_rotating_token: deny(&provisioning(TokenSource::Rotate, false)),
        mark_provisioned: deny(&[Permission::Provision]),
    }
}

/// Everything allowed: a registry file has no roles.
pub fn unrestricted() -> ActionPermissions {
    ActionPermissions::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn support_cannot_flash_or_mint() {
        let permissions = for_role("sue", Role::Support);
        let flash = permissions.flash.expect("support may not flash");
        assert!(flash.contains("sue"), "{flash}");
        assert!(flash.contains("support"), "{flash}");
        assert!(permissions.mint.is_some());
        assert!(permissions.reserve.is_some());
        assert!(permissions.mark_provisioned.is_some());
        assert_eq!(permissions.rotate_token, None);
        assert_eq!(permissions.rotate_download_id, None);
        assert_eq!(permissions.patch_sdkconfig, None);
    }

    #[test]
    fn technician_cannot_rotate() {
        let permissions = for_role("tom", Role::Technician);
        assert_eq!(permissions.flash, None);
        assert_eq!(permissions.mint, None);
        assert_eq!(permissions.reserve, None);
        assert_eq!(permissions.mark_provisioned, None);
        let rotate = permissions.rotate_token.expect("technicians may not rotate");
        assert!(rotate.contains("rotate tokens"), "{rotate}");
        assert!(permissions.flash_rotating_token.is_some());
        assert!(permissions.patch_rotating_token.is_some());
    }

    #[test]
    fn admin_may_do_everything() {
        assert_eq!(for_role("ada", Role::Admin), unrestricted());
    }
}
