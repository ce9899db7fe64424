/**
 * Waiting for a testnet to be ready: polls the authorities until one serves a consensus
 * that passes `checkConsensus` (signed by more than half of the pinned authorities, inside
 * its window) and lists every relay at the URL the relay reported.
 *
 * Not here: starting anything (launcher.ts).
 */
import { ChiveError, isChiveError } from '../src/errors.js';
import { toHex } from '../src/bytes.js';
import { loadCryptoProvider } from '../src/crypto/load.js';
import { type CheckedConsensus, checkConsensus, decodeConsensus } from '../src/dirdoc/index.js';
import { fetchConsensusBytes } from '../src/io/directory-client.js';
import { type NetworkConfig, pinnedIdentities } from '../src/io/network-file.js';

export const CONSENSUS_POLL_INTERVAL_MS = 300;

/** Polls until a majority-signed consensus lists every relay at its URL; TESTNET_NOT_READY at `deadline`. */
export async function waitForConsensus(
  network: NetworkConfig, authorities: readonly { name: string; url: string }[], relays: readonly { url: string; identity: string }[],
  deadline: number, progress: (line: string) => void, signal: AbortSignal,
): Promise<{ consensus: CheckedConsensus; from: string }> {
  const provider = loadCryptoProvider('auto');
  const pinned = pinnedIdentities(network);
  let bestListed = -1;
  const lastError = new Map<string, string>();
  for (;;) {
    for (const a of authorities) {
      if (signal.aborted) throw new ChiveError('TESTNET_INTERRUPTED', 'stopped waiting for the consensus');
      try {
        const bytes = await fetchConsensusBytes(a.url, { timeoutMs: 2_000, signal });
        const consensus = checkConsensus(provider, decodeConsensus(bytes), pinned, Date.now());
        const byIdentity = new Map(consensus.relays.map((r) => [toHex(r.identity), r.address]));
        const listed = relays.filter((r) => byIdentity.get(r.identity) === r.url).length;
        if (listed > bestListed) {
          bestListed = listed;
          progress(`waiting for the first consensus… ${listed}/${relays.length} relays listed`);
        }
        if (listed === relays.length) return { consensus, from: a.name };
        lastError.set(a.name, `its consensus lists ${listed}/${relays.length} relays`);
      } catch (e) {
        lastError.set(a.name, isChiveError(e) ? `${e.code}: ${e.message}` : String(e));
      }
    }
    if (Date.now() + CONSENSUS_POLL_INTERVAL_MS > deadline) {
      const why = [...lastError].map(([name, reason]) => `  ${name}: ${reason}`).join('\n');
      throw new ChiveError('TESTNET_NOT_READY', `no authority served a consensus listing all ${relays.length} relays in time; last answers:\n${why}\n(see the logs in each node's folder)`);
    }
    await new Promise((r) => setTimeout(r, CONSENSUS_POLL_INTERVAL_MS));
  }
}
