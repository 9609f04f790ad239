// Registrations that bench cards have picked, so two cards never default to the same one.

const claimed = new Map<string, string>();

/** Records that `port`'s card uses `nodeId`, replacing the card's earlier claim. */
export function claim(port: string, nodeId: string | null): void {
  for (const [id, owner] of claimed) if (owner === port) claimed.delete(id);
  if (nodeId) claimed.set(nodeId, port);
}

export function claimedBy(nodeId: string): string | undefined {
  return claimed.get(nodeId);
}

export function claimCount(): number {
  return claimed.size;
}
