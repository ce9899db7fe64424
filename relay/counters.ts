/**
 * The relay's own counters: plain numbers the cell engine bumps on its hot path, read by
 * the metrics exporter (relay/metrics.ts) and the status endpoint. Every refusal has a
 * named reason so an operator sees why the relay said no.
 *
 * Not Prometheus itself: the exporter copies these into its registry when scraped.
 */
export const REFUSAL_REASONS = [
  'create_rate', 'max_circuits', 'max_circuits_per_link', 'max_links', 'replay', 'bad_cell',
  'bad_frame', 'bad_tag', 'bad_relay_message', 'bad_handshake', 'bad_circ_id', 'circ_id_in_use',
  'unknown_circuit', 'unknown_stream', 'unexpected_created2', 'no_next_hop', 'unknown_neighbour', 'exit_policy',
  'not_exit', 'extend_refused', 'flow_control', 'oom', 'hibernating', 'shutting_down',
  'bad_chat_message', 'intro_limit', 'no_such_intro', 'cookie_reuse', 'rendezvous_limit', 'unknown_cookie',
  'hsdir_rejected', 'hsdir_quota',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export class RelayCounters {
  cellsIn = 0;
  cellsOut = 0;
  circuitsCreated = 0;
  circuitsDestroyed = 0;
  linksOpened = 0;
  linksClosed = 0;
  oomKills = 0;
  internalErrors = 0;
  /** The chat roles: introduction point, rendezvous point, HSDir. */
  readonly chat = { introEstablished: 0, introductions: 0, rendezvousSpliced: 0, hsdirStored: 0, hsdirFetched: 0, hsdirFound: 0 };
  readonly handshakes = { ntorOk: 0, ntorFail: 0, xkOut: 0, xkOutFail: 0 };
  readonly refusals: Record<RefusalReason, number> = Object.fromEntries(REFUSAL_REASONS.map((r) => [r, 0])) as Record<
    RefusalReason,
    number
  >;

  refuse(reason: RefusalReason): void {
    this.refusals[reason] += 1;
  }
}
