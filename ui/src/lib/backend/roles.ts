// Generated from the registry's role table by src-tauri/tests/bindings.rs; do not edit.
// Regenerate with: UPDATE_BINDINGS=1 cargo test -p node-factory-app --test bindings
import type { ActionPermissions, RoleName } from "./bindings";

/** The operator's name in each refusal below. */
export const OPERATOR_PLACEHOLDER = "{operator}";

/** The reason each role may not do each action, or null where it may. */
export const ROLE_PERMISSIONS: Record<RoleName, ActionPermissions> = {
  admin: {
    "flash": null,
    "flash_rotating_token": null,
    "reserve": null,
    "mint": null,
    "rotate_token": null,
    "rotate_download_id": null,
    "patch_sdkconfig": null,
    "patch_rotating_token": null,
    "mark_provisioned": null
  },
  technician: {
    "flash": null,
    "flash_rotating_token": "operator {operator} has the technician role, which may not rotate tokens and download IDs; ask an admin for a role that may",
    "reserve": null,
    "mint": null,
    "rotate_token": "operator {operator} has the technician role, which may not rotate tokens and download IDs; ask an admin for a role that may",
    "rotate_download_id": "operator {operator} has the technician role, which may not rotate tokens and download IDs; ask an admin for a role that may",
    "patch_sdkconfig": null,
    "patch_rotating_token": "operator {operator} has the technician role, which may not rotate tokens and download IDs; ask an admin for a role that may",
    "mark_provisioned": null
  },
  support: {
    "flash": "operator {operator} has the support role, which may not record flash attempts; ask an admin for a role that may",
    "flash_rotating_token": "operator {operator} has the support role, which may not record flash attempts; ask an admin for a role that may",
    "reserve": "operator {operator} has the support role, which may not reserve registrations; ask an admin for a role that may",
    "mint": "operator {operator} has the support role, which may not mint registrations; ask an admin for a role that may",
    "rotate_token": null,
    "rotate_download_id": null,
    "patch_sdkconfig": null,
    "patch_rotating_token": null,
    "mark_provisioned": "operator {operator} has the support role, which may not provision registrations; ask an admin for a role that may"
  },
};
