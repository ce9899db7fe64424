/**
 * What the status bar says, pure: the bootstrap stage and its timing, a one-word health
 * of our reachability (are our introduction points up?), the circuits we hold and their
 * median build time, and the round trip to the contact on screen (else the median over
 * open conversations). Parts are dropped from the right when the terminal is too narrow;
 * the stage and health always stay.
 *
 * Not rendering (components/StatusBar.tsx).
 */
import type { BootstrapStage } from '../client.js';
import type { ContactView, CircuitView } from '../chat/api.js';
import { displayWidth, formatMs } from './format.js';
import type { DisplayLine, Segment } from './layout.js';
import type { StatusModel } from './ui-state.js';

export type NetworkHealth = 'starting' | 'ok' | 'degraded' | 'down';

/** ok: every wanted introduction point is up; degraded: some; down: none (nobody can reach us). */
export function networkHealth(status: StatusModel): NetworkHealth {
  if (status.stage !== 'ready') return 'starting';
  const { up, wanted } = status.introPoints;
  if (wanted > 0 && up === 0) return 'down';
  if (up < wanted) return 'degraded';
  return 'ok';
}

const HEALTH_COLOR: Readonly<Record<NetworkHealth, string>> = {
  starting: 'yellow',
  ok: 'green',
  degraded: 'yellow',
  down: 'red',
};

/** What is being done after each stage is reached. */
const NEXT_STEP: Readonly<Record<BootstrapStage | 'none', string>> = {
  none: 'fetching the consensus…',
  consensus: 'consensus ✓ choosing guards…',
  guards: 'guards ✓ building a circuit…',
  circuit: 'circuit ✓ introduction points…',
  ready: 'ready',
};

/** The round trip to `contact` from the last circuits snapshot, if one was measured. */
export function contactRtt(circuits: readonly CircuitView[], contact: string | undefined): number | undefined {
  if (contact === undefined) return undefined;
  const c = circuits.find((v) => v.purpose === 'rendezvous' && v.contact === contact && v.rttMs !== undefined);
  return c?.rttMs;
}

export function statusLine(status: StatusModel, contact: ContactView | undefined, width: number): DisplayLine {
  const health = networkHealth(status);
  const stage: Segment =
    status.stage === 'ready'
      ? { text: `● ready in ${formatMs(status.bootstrapMs)}`, color: 'green' }
      : { text: `◌ ${NEXT_STEP[status.stage ?? 'none']} ${formatMs(status.bootstrapMs)}`, color: 'yellow' };
  const required: Segment[] = [{ text: ' chive ', bold: true }, stage];
  if (health !== 'starting') required.push({ text: ' │ ' }, { text: `net ${health}`, color: HEALTH_COLOR[health], bold: health !== 'ok' });
  const optional: Segment[][] = [];
  const { up, wanted } = status.introPoints;
  if (wanted > 0 || status.stage === 'ready') optional.push([{ text: ' │ ' }, { text: `intro ${up}/${wanted}` }]);
  const rtt = contactRtt(status.circuitViews, contact?.address);
  if (contact !== undefined && rtt !== undefined) {
    optional.push([{ text: ' │ ' }, { text: `rtt ${contact.name} ${formatMs(rtt)}` }]);
  } else if (status.rttMs !== undefined) {
    optional.push([{ text: ' │ ' }, { text: `rtt ~${formatMs(status.rttMs)}` }]);
  }
  if (status.circuits !== undefined) {
    const { count, medianBuildMs } = status.circuits;
    optional.push([
      { text: ' │ ' },
      { text: `${count} circuit${count === 1 ? '' : 's'}${count > 0 ? `, build ${formatMs(medianBuildMs)}` : ''}` },
    ]);
  }
  const line = [...required];
  let used = required.reduce((w, s) => w + displayWidth(s.text), 0);
  for (const part of optional) {
    const w = part.reduce((n, s) => n + displayWidth(s.text), 0);
    if (used + w > width) break;
    line.push(...part);
    used += w;
  }
  return line;
}
