/**
 * The circuits overlay (/circuit): each circuit we hold, what it is for (and, for a
 * rendezvous circuit, whom it reaches), its build time and round trip, and its hops with
 * the time each hop's CREATE2 / EXTEND2 took. A snapshot of ChatApi.circuits() taken
 * when the command ran.
 *
 * Display only.
 */
import { Box, Text } from 'ink';
import type { CircuitView, ContactView } from '../../chat/api.js';
import { formatMs, sanitizeText, shortAddress } from '../format.js';
import type { DisplayLine } from '../layout.js';
import { wrapText } from '../layout.js';
import { SegmentsLine } from './Segments.js';

export interface CircuitOverlayProps {
  readonly circuits: readonly CircuitView[];
  /** To name the contact a rendezvous circuit reaches. */
  readonly contacts: readonly ContactView[];
  readonly width: number;
  readonly height: number;
}

export function circuitLines(circuits: readonly CircuitView[], contacts: readonly ContactView[], width: number): DisplayLine[] {
  const lines: DisplayLine[] = [[{ text: `Circuits (${circuits.length}): each hop with its build time (Esc closes)`, bold: true }]];
  if (circuits.length === 0) {
    lines.push([{ text: 'none yet: the client is still bootstrapping, or has nothing to reach', dim: true }]);
    return lines;
  }
  for (const c of circuits) {
    const who = c.contact === undefined ? '' : ` → ${contacts.find((k) => k.address === c.contact)?.name ?? shortAddress(c.contact)}`;
    lines.push([
      { text: `${c.purpose}${who}`, color: 'cyan', bold: true },
      { text: `  built in ${formatMs(c.buildMs)}` },
      ...(c.rttMs === undefined ? [] : [{ text: `  rtt ${formatMs(c.rttMs)}`, color: 'green' }]),
    ]);
    const hops = c.hops.map((h, i) => `${i + 1} ${sanitizeText(h.nickname, true)} ${formatMs(h.ms)}`).join('  ›  ');
    for (const text of wrapText(hops, Math.max(10, width - 2))) lines.push([{ text: `  ${text}` }]);
  }
  return lines;
}

export function CircuitOverlay({ circuits, contacts, width, height }: CircuitOverlayProps) {
  const all = circuitLines(circuits, contacts, width);
  const shown = all.length > height ? [...all.slice(0, height - 1), [{ text: `… ${all.length - height + 1} more lines`, dim: true }]] : all;
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      {shown.map((line, i) => (
        <SegmentsLine key={i} line={line} />
      ))}
    </Box>
  );
}
