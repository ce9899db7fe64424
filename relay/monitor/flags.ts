/**
 * The consensus flags and weight of a relay, explained in plain words for its operator.
 * Pure text; the flag names are those of relayFlagNames (src/dirdoc/flags.ts).
 */
import { formatRate } from './format.js';

/** What each flag means for the relay, in one sentence. */
export const FLAG_MEANINGS: Readonly<Record<string, string>> = {
  RUNNING: 'The authorities reached it recently: it is listed as up and clients may use it.',
  STABLE: 'It has stayed up long enough that clients trust it with long-lived circuits.',
  GUARD: 'Stable and fast enough to be a first hop: clients keep it as an entry guard for weeks.',
  EXIT: 'Its exit policy lets streams out to the Internet: traffic leaves the network here.',
  HSDIR: 'It stores chat descriptors (a hidden-service directory on the HSDir ring).',
  FAST: 'Its bandwidth is in the faster part of the network, so it is chosen more often.',
};

/** Flags a relay may lack, and what it would take to get them. */
const MISSING_HINTS: Readonly<Record<string, string>> = {
  RUNNING: 'not listed as up: the authorities could not reach it at its advertised address (run chive relay check).',
  STABLE: 'not Stable yet: it needs more uptime.',
  GUARD: 'not a Guard: that takes Stable, Fast and some time in the network.',
  EXIT: 'not an Exit: its exit policy accepts nothing (that is the default, and fine).',
  HSDIR: 'not an HSDir yet: that takes some uptime.',
  FAST: 'not Fast: its bandwidth is in the slower part of the network.',
};

export interface FlagExplanation {
  readonly flag: string;
  readonly has: boolean;
  readonly text: string;
}

/** One entry per known flag, those the relay has first. */
export function explainFlags(flags: readonly string[]): FlagExplanation[] {
  const has = new Set(flags.map((f) => f.toUpperCase()));
  const known = Object.keys(FLAG_MEANINGS);
  const out = known.filter((f) => has.has(f)).map((flag) => ({ flag, has: true, text: FLAG_MEANINGS[flag]! }));
  for (const f of flags) if (!(f.toUpperCase() in FLAG_MEANINGS)) out.push({ flag: f.toUpperCase(), has: true, text: 'A flag this monitor does not know.' });
  for (const flag of known) if (!has.has(flag)) out.push({ flag, has: false, text: MISSING_HINTS[flag]! });
  return out;
}

/** The weight in plain words: what it is, and the share of path choices it gives. */
export function explainWeight(weight: number, total: number | null, listed: boolean): string {
  if (!listed) return 'Not in the consensus the relay holds (yet): authorities list a relay once they have reached it, usually within a voting period or two.';
  const share = total !== null && total > 0 ? ` — about ${((weight / total) * 100).toFixed(weight / total < 0.1 ? 2 : 1)} % of the network's weight, so roughly that share of circuits pick it for each position it can hold` : '';
  return `Weight ${weight}: the bandwidth the authorities credit it with (${formatRate(weight)}); clients choose relays in proportion to it${share}.`;
}
