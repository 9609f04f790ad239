// Wording of the audit log's entries in the detail panel.
import type { AuditRow } from "../backend";

/** Each audit action the registry records, in words; an unknown action shows its name. */
export const AUDIT_ACTION_LABELS: Record<string, string> = {
  mint: "Minted",
  mint_replay: "Mint repeated with new tokens",
  rotate_token: "OTA token rotated",
  rotate_download_id: "Download ID rotated",
  set_metadata: "Metadata changed",
  mark_provisioned: "Marked provisioned",
  consume_legacy_token: "Legacy token used",
  record_flash: "Flash recorded",
  assign: "Assigned",
  unassign: "Unassigned",
  reserve: "Reserved",
  release: "Reservation released",
};

/** Describes what an entry did, with the flash outcome or the lease holder where the detail has one. */
export function describeAuditEntry(entry: AuditRow): string {
  const label = AUDIT_ACTION_LABELS[entry.action] ?? entry.action;
  let detail: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(entry.detail_json ?? "null");
    if (parsed && typeof parsed === "object") detail = parsed;
  } catch {
    // Detail that does not parse is left out, and the label still names what happened.
  }
  if (entry.action === "record_flash" && typeof detail.outcome === "string") {
    return detail.error_code ? `${label}: ${detail.outcome} (${detail.error_code})` : `${label}: ${detail.outcome}`;
  }
  if (entry.action === "reserve" && typeof detail.holder === "string") return `${label} for ${detail.holder}`;
  return label;
}
