/**
 * A sample UiState built through the reducer from plausible events: three contacts (one
 * online, one with unread messages, one pending request), a conversation with every
 * delivery state, a ready status with circuits. For documentation captures (the README's
 * screen) and the UI tests; no network, no ChatApi.
 *
 * Not a fake client: it only feeds the reducer the actions a client would cause.
 */
import type { CircuitView, ContactView } from '../chat/api.js';
import { reduce } from './reducer.js';
import type { TerminalSize, UiAction, UiState } from './ui-state.js';
import { initialUiState } from './ui-state.js';

/** 2026-11-22 09:00 UTC: sample clocks count from here. */
export const SAMPLE_T0 = Date.UTC(2026, 10, 22, 9, 0, 0);

export const SAMPLE_SELF = 'chive1qv9x5lrm2c8d7k4wz3hjt6ny0ga5es8pufk2r7mxd4c9lq3vh8wtz6j';
export const SAMPLE_ALICE = 'chive1alc3zn8q5rkx2w7m4vd9ej6t0fy3ush8gpl5c2kr7mw4nxq9db6ta0e';
export const SAMPLE_BOB = 'chive1b0bk7x2mq9r4vw8zn5cj3dt6hy0le8fsu2pg7k4rm9xw5nqc3d6vha1';
export const SAMPLE_CAROL = 'chive1car0l4x8mq2r7vw5zn9cj3dt6hy1le8fsu2pg7k4rm9xw5nqc3d6vb2';

const contact = (address: string, name: string, extra: Partial<ContactView> = {}): ContactView => ({
  address,
  name,
  state: 'accepted',
  online: false,
  unread: 0,
  lastActivityAt: SAMPLE_T0,
  ...extra,
});

export const SAMPLE_CIRCUITS: readonly CircuitView[] = [
  {
    purpose: 'rendezvous',
    contact: SAMPLE_ALICE,
    hops: [{ nickname: 'oak', ms: 38 }, { nickname: 'birch', ms: 61 }, { nickname: 'rowan', ms: 84 }],
    buildMs: 183,
    rttMs: 142,
  },
  { purpose: 'intro', hops: [{ nickname: 'oak', ms: 35 }, { nickname: 'elm', ms: 58 }, { nickname: 'ash', ms: 77 }], buildMs: 170 },
  { purpose: 'intro', hops: [{ nickname: 'oak', ms: 40 }, { nickname: 'yew', ms: 66 }, { nickname: 'pine', ms: 90 }], buildMs: 196 },
];

/** The actions behind the sample, in order. */
export function sampleActions(): UiAction[] {
  const min = 60_000;
  const ev = (event: UiAction & { type: 'event' }): UiAction => event;
  return [
    ev({ type: 'event', at: SAMPLE_T0, event: { name: 'progress', payload: { stage: 'consensus', elapsedMs: 310 } } }),
    ev({ type: 'event', at: SAMPLE_T0, event: { name: 'progress', payload: { stage: 'guards', elapsedMs: 420 } } }),
    ev({ type: 'event', at: SAMPLE_T0, event: { name: 'progress', payload: { stage: 'circuit', elapsedMs: 980 } } }),
    ev({ type: 'event', at: SAMPLE_T0, event: { name: 'ready', payload: { bootstrapMs: 1840 } } }),
    {
      type: 'status-loaded',
      status: { stage: 'ready', bootstrapMs: 1840, introPoints: { up: 3, wanted: 3 }, publishedAt: SAMPLE_T0, rttMs: 150 },
    },
    { type: 'circuits-loaded', circuits: SAMPLE_CIRCUITS, show: false },
    {
      type: 'contacts-loaded',
      contacts: [contact(SAMPLE_ALICE, 'alice', { online: true }), contact(SAMPLE_BOB, 'bob')],
    },
    { type: 'message-queued', to: SAMPLE_ALICE, id: 'm-0001-hello', seq: 1, text: 'hi alice, is this thing on?', at: SAMPLE_T0 + 2 * min },
    ev({ type: 'event', at: SAMPLE_T0 + 2 * min, event: { name: 'sent', payload: { id: 'm-0001-hello', to: SAMPLE_ALICE } } }),
    ev({ type: 'event', at: SAMPLE_T0 + 2 * min, event: { name: 'delivered', payload: { id: 'm-0001-hello', to: SAMPLE_ALICE } } }),
    ev({
      type: 'event',
      at: SAMPLE_T0 + 3 * min,
      event: {
        name: 'message',
        payload: { from: SAMPLE_ALICE, id: 'a-0001', seq: 1, text: 'loud and clear: six hops and nobody knows where either of us is', sentAt: SAMPLE_T0 + 3 * min },
      },
    }),
    { type: 'message-queued', to: SAMPLE_ALICE, id: 'm-0002-photo', seq: 2, text: 'sending the notes from yesterday now', at: SAMPLE_T0 + 4 * min },
    ev({
      type: 'event',
      at: SAMPLE_T0 + 5 * min,
      event: { name: 'failed', payload: { id: 'm-0002-photo', to: SAMPLE_ALICE, code: 'PEER_UNREACHABLE', message: 'the rendezvous circuit closed' } },
    }),
    { type: 'message-queued', to: SAMPLE_ALICE, id: 'm-0003-ping', seq: 3, text: 'still there?', at: SAMPLE_T0 + 6 * min },
    ev({ type: 'event', at: SAMPLE_T0 + 6 * min, event: { name: 'sent', payload: { id: 'm-0003-ping', to: SAMPLE_ALICE } } }),
    { type: 'message-queued', to: SAMPLE_ALICE, id: 'm-0004-later', seq: 4, text: 'ok, later then', at: SAMPLE_T0 + 7 * min },
    ev({
      type: 'event',
      at: SAMPLE_T0 + 8 * min,
      event: { name: 'message', payload: { from: SAMPLE_BOB, id: 'b-0001', seq: 1, text: 'lunch?', sentAt: SAMPLE_T0 + 8 * min } },
    }),
    ev({
      type: 'event',
      at: SAMPLE_T0 + 8 * min,
      event: { name: 'message', payload: { from: SAMPLE_BOB, id: 'b-0002', seq: 2, text: 'the usual place', sentAt: SAMPLE_T0 + 8 * min } },
    }),
    ev({ type: 'event', at: SAMPLE_T0 + 9 * min, event: { name: 'request', payload: { from: SAMPLE_CAROL, name: 'carol' } } }),
  ];
}

/** The sample at a terminal size (default 80x24), with the conversation with alice on screen. */
export function sampleState(size: TerminalSize = { columns: 80, rows: 24 }): UiState {
  const start = initialUiState({ self: SAMPLE_SELF, size, utcOffsetMinutes: 0 });
  return sampleActions().reduce(reduce, start);
}
