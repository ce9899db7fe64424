/**
 * The relay's bandwidth limit wired to its cell engine: from `limits.bandwidthRate` /
 * `bandwidthBurst`, a cell scheduler (relay/cell-scheduler.ts) over two token buckets
 * (relay/bandwidth.ts) that counts what it destroys as the relay's refusals: a circuit
 * past its own queue cap is a flow-control refusal (an honest peer never gets there), the
 * longest queue past MaxQueuedBytes an out-of-memory kill.
 *
 * Not the scheduling itself, and nothing when no rate is set (the relay then sends
 * straight to its links).
 */
import { DestroyReason } from '../src/wire/constants.js';
import { BandwidthBuckets } from './bandwidth.js';
import type { RelayCircuit } from './circuit.js';
import { CellScheduler } from './cell-scheduler.js';
import type { RelayNode } from './relay-node.js';

/** The scheduler for `node`, or null when its limits set no bandwidth rate. */
export function relayCellScheduler(node: RelayNode): CellScheduler<RelayCircuit> | null {
  const { bandwidthRate: rate, bandwidthBurst: burst, maxQueuedBytes } = node.limits;
  if (!(rate > 0)) return null;
  return new CellScheduler<RelayCircuit>({
    buckets: new BandwidthBuckets(rate, burst > 0 ? burst : rate, performance.now()),
    maxQueuedBytes,
    onOverflow: (circ, why) => {
      if (why === 'total') node.counters.oomKills += 1;
      node.counters.refuse(why === 'total' ? 'oom' : 'flow_control');
      node.destroyCircuit(circ, DestroyReason.RESOURCE_LIMIT, null);
    },
    onCongested: () => node.checkMemory(),
  });
}
