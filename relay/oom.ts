/**
 * The relay's out-of-memory handler. Queues are per link (the ws driver's batch and
 * socket buffer), so "the circuits with the oldest queued data" is approximated by the
 * oldest circuits of the most backed-up link: those are the ones whose data has waited
 * longest. Destroying a circuit does not take back cells already queued, so when the link
 * is still over the cap it is closed, which drops its queue.
 *
 * Not the per-link cap (the link driver closes a link past maxQueuedBytesPerLink itself).
 */
import { DestroyReason } from '../src/wire/constants.js';
import type { RelayNode } from './relay-node.js';

/**
 * When the bytes queued on all links exceed `limits.maxQueuedBytes`: take the links from
 * the most backed-up down, destroy each one's circuits (oldest first) and close the link if
 * the total is still over the cap, until it is back under.
 */
export function runOomHandler(node: RelayNode): void {
  let total = node.queuedBytes();
  if (total <= node.limits.maxQueuedBytes) return;
  const byQueue = [...node.links.values()].sort((a, b) => b.link.bufferedBytes - a.link.bufferedBytes);
  for (const state of byQueue) {
    const circuits = [...state.circuits.values()].sort((a, b) => a.createdAt - b.createdAt || a.serial - b.serial);
    for (const circ of circuits) {
      node.counters.oomKills += 1;
      node.counters.refuse('oom');
      node.destroyCircuit(circ, DestroyReason.RESOURCE_LIMIT, null);
    }
    // Dropping the link's unsent cells is what frees the memory: close it if still over.
    total = node.queuedBytes();
    if (total > node.limits.maxQueuedBytes) state.link.close('out of memory: queue dropped');
    total = node.queuedBytes();
    if (total <= node.limits.maxQueuedBytes) return;
  }
}
