/**
 * Names of the reason codes carried by END (EndReason) and DESTROY / TRUNCATED
 * (DestroyReason), for error messages: "EXIT_POLICY" reads better than "4". Unknown codes
 * (the enums are open) come out as "reason N". Not here: what a reason makes the client do.
 */
import { DestroyReason, EndReason } from '../src/wire/constants.js';

const END_NAMES = new Map<number, string>(Object.entries(EndReason).map(([name, code]) => [code, name]));
const DESTROY_NAMES = new Map<number, string>(Object.entries(DestroyReason).map(([name, code]) => [code, name]));

/** Name of an EndReason code ("EXIT_POLICY"), or "reason N". */
export function endReasonName(reason: number): string {
  return END_NAMES.get(reason) ?? `reason ${reason}`;
}

/** Name of a DestroyReason code ("CONNECT_FAILED"), or "reason N". */
export function destroyReasonName(reason: number): string {
  return DESTROY_NAMES.get(reason) ?? `reason ${reason}`;
}
