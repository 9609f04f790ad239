// The meaning of the registry's status for the screens: whether registry work is possible now,
// the banner text when it is not, and what the operator's role allows.
import type { ActionPermissions, RegistryStatus, RoleName, ServerSummary } from "../backend";
import type { ShownError } from "../shared/errors";

/** The reason the registry cannot be used now. */
export interface RegistryBlock {
  state: "checking" | "unreachable" | "refused";
  /** The server's URL. */
  server: string;
  /** One sentence naming the server and what is wrong. */
  title: string;
  /** The next step. */
  next: string;
  /** The error of the last check, with its code and message. */
  error: ShownError | null;
}

/** Returns why registry work is impossible now, or null for a registry file or an online server. */
export function registryBlock(status: RegistryStatus): RegistryBlock | null {
  const server = status.location;
  const error = status.error ? { code: status.error.code, message: status.error.message, hint: status.error.hint } : null;
  switch (status.state) {
    case "local":
    case "online":
      return null;
    case "checking":
      return {
        state: "checking",
        server,
        title: `Connecting to the registry server ${server}…`,
        next: "Registry work starts as soon as the server answers.",
        error: null,
      };
    case "unreachable":
      return {
        state: "unreachable",
        server,
        title: `The registry server ${server} is unreachable.`,
        next:
          error?.hint ??
          "Check that the server is running and that this computer reaches its network. The app checks again every 5 seconds.",
        error,
      };
    case "refused":
      return {
        state: "refused",
        server,
        title: `The registry server ${server} refused this app.`,
        next: error?.hint ?? "Open Settings and store a current operator token.",
        error,
      };
  }
}

export const ROLE_LABELS: Record<RoleName, string> = {
  admin: "Admin",
  technician: "Technician",
  support: "Support",
};

/** A server's facts in one line: version, operator and role. */
export function describeServer(server: ServerSummary): string {
  return `Node Factory ${server.version} · signed in as ${server.operator} (${ROLE_LABELS[server.role]})`;
}

/** Returns why the operator may not do `action`, or null where the role allows it. */
export function refusal(status: RegistryStatus | null, action: keyof ActionPermissions): string | null {
  return status?.permissions[action] ?? null;
}

/** Turns a refusal sentence into one a tooltip or note can show: capitalised, with a full stop. */
export function refusalText(reason: string): string {
  const sentence = reason.charAt(0).toUpperCase() + reason.slice(1);
  return sentence.endsWith(".") ? sentence : `${sentence}.`;
}
