// The registry server behind the fake backend: its operators and their tokens, and how a
// connection to it fails, by host name, the way a real server's does. Errors carry the codes
// and hints of the Rust side, whose hint table and role table are generated into this folder.
import { BackendError } from "./backend";
import type { ActionPermissions, CommandError, RoleName, ServerSummary } from "./bindings";
import { APP_HINTS } from "./hints";
import { OPERATOR_PLACEHOLDER, ROLE_PERMISSIONS } from "./roles";

export const FAKE_SERVER_URL = "https://registry.factory.example";
export const FAKE_PUBLIC_URL = "https://ota.factory.example";
const FAKE_SERVER_VERSION = "0.1.0";

/** Returns a token of the fake server's operator `name`, in the shape of a real operator token. */
export function fakeOperatorToken(name: string): string {
  return `ulop_${`${name}-fake-operator-token-`.repeat(8).slice(0, 43)}`;
}

/** The fake server's operators, one of each role. */
export const FAKE_OPERATORS: { name: string; role: RoleName }[] = [
  { name: "tom", role: "technician" },
  { name: "sue", role: "support" },
  { name: "ada", role: "admin" },
];

/** The permissions of a registry file, which has no roles: nothing is refused. */
export const UNRESTRICTED: ActionPermissions = {
  flash: null,
  flash_rotating_token: null,
  reserve: null,
  mint: null,
  rotate_token: null,
  rotate_download_id: null,
  patch_sdkconfig: null,
  patch_rotating_token: null,
  mark_provisioned: null,
};

/**
 * Host names whose connection fails, with the code it fails with: for tests and for trying
 * the Settings screen with `vite`.
 */
export const FAILING_HOSTS: Record<string, string> = {
  "unreachable.example": "server_unreachable",
  "slow.example": "server_timed_out",
  "self-signed.example": "bad_certificate",
  "locked.example": "too_many_attempts",
  "forbidden.example": "forbidden",
};

export function commandError(code: string, message: string): CommandError {
  return { code, message, hint: APP_HINTS[code] ?? null, recovered_token: null };
}

function fail(code: string, message: string, hint?: string): never {
  const error = commandError(code, message);
  if (hint) error.hint = hint;
  throw new BackendError(error);
}

/** Returns the refusals of `role` for `operator`, from the generated role table. */
export function permissionsFor(operator: string, role: RoleName): ActionPermissions {
  const permissions = { ...ROLE_PERMISSIONS[role] };
  for (const key of Object.keys(permissions) as (keyof ActionPermissions)[]) {
    permissions[key] = permissions[key]?.replaceAll(OPERATOR_PLACEHOLDER, operator) ?? null;
  }
  return permissions;
}

export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** Checks a registry server URL as the Rust side does, returning it without a trailing slash. */
export function validateServerUrl(url: string): string {
  const trimmed = url.trim();
  if (!/^https?:\/\/[^/?#\s]+/.test(trimmed)) {
    fail("invalid_input", `invalid registry server URL "${trimmed}": expected a URL starting with http:// or https://`);
  }
  return trimmed.replace(/\/+$/, "");
}

/** Returns the error of a connection to an unreachable fake server. */
export function unreachableError(url: string): CommandError {
  return commandError(
    "server_unreachable",
    `cannot reach the registry server at ${url}/api/v1/info: error sending request: client error (Connect): tcp connect error: Connection refused (os error 111); check the URL, that the server is running, and that this computer can reach it`,
  );
}

/**
 * Connects to the fake server at `url` with `token`, as `server_info` does: returns the
 * server's facts or throws the error a real server would cause.
 */
export function connect(url: string, caCertificate: string | null, token: string | null, reachable: boolean): ServerSummary {
  const host = hostOf(url);
  const failure = FAILING_HOSTS[host];
  const infoUrl = `${url}/api/v1/info`;

  if (!reachable || failure === "server_unreachable") throw new BackendError(unreachableError(url));
  if (failure === "server_timed_out") {
    fail(
      "server_timed_out",
      `the registry server at ${infoUrl} did not answer in time (1 attempt, the last one timed out); check that the server is running and not overloaded, then try again`,
    );
  }
  if (failure === "bad_certificate" && !caCertificate) {
    fail(
      "bad_certificate",
      `cannot reach the registry server at ${infoUrl}: error sending request: client error (Connect): invalid peer certificate: UnknownIssuer; check the URL, that the server is running, and that this computer can reach it`,
    );
  }
  if (failure === "too_many_attempts") {
    fail(
      "too_many_attempts",
      `the registry server at ${infoUrl} is turning away this computer after repeated failed sign-ins: retry after 240 seconds`,
    );
  }

  if (token === null) {
    fail(
      "not_authorised",
      `no operator token is stored for the registry server ${url}; paste your operator token in Settings`,
    );
  }
  const operator = FAKE_OPERATORS.find((candidate) => fakeOperatorToken(candidate.name) === token);
  if (!operator) {
    fail("not_authorised", `the registry server at ${infoUrl} refused the operator token: unknown or revoked operator token`);
  }

  if (failure === "forbidden") {
    fail("forbidden", `the registry server at ${infoUrl} does not allow this: a proxy in front of the server refused the request`);
  }

  return {
    version: FAKE_SERVER_VERSION,
    public_url: FAKE_PUBLIC_URL,
    operator: operator.name,
    role: operator.role,
    max_batch: 10000,
    default_lease_seconds: 600,
  };
}
