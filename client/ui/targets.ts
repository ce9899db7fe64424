/**
 * Which contact or message a command means, pure. Commands take optional targets
 * (`/accept`, `/block`, `/retry`): absent, they mean the obvious one (the request on
 * screen, else the oldest; the conversation on screen; its last failed message); present,
 * a target may be an address, a contact's number in the list, its name, or a unique
 * prefix of an address or message id. Failures are sentences for the notice line.
 *
 * Not the ChatApi calls (command-runner.ts).
 */
import { lastFailed } from './layout.js';
import type { MessageEntry, UiState } from './ui-state.js';
import { currentContact, listedContacts, pendingRequests } from './ui-state.js';

export type Resolved<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

const ok = <T>(value: T): Resolved<T> => ({ ok: true, value });
const no = <T>(message: string): Resolved<T> => ({ ok: false, message });

const NO_CONVERSATION = 'no conversation is open: /add <address> [name] to start one, or Alt-1…9 to pick one';

/** An explicit target → an address: exact address, list number, name, or unique address prefix. */
export function resolveTarget(state: UiState, target: string): Resolved<string> {
  const t = target.trim();
  const lower = t.toLowerCase();
  const exact = state.contacts.find((c) => c.address.toLowerCase() === lower);
  if (exact !== undefined) return ok(exact.address);
  if (/^\d+$/.test(t)) {
    const listed = listedContacts(state)[Number(t) - 1];
    return listed === undefined ? no(`no conversation ${t} in the list`) : ok(listed.address);
  }
  const named = state.contacts.filter((c) => c.name.toLowerCase() === lower);
  if (named.length === 1) return ok(named[0]!.address);
  if (named.length > 1) return no(`${named.length} contacts are called "${t}": use the address`);
  const prefixed = state.contacts.filter((c) => c.address.toLowerCase().startsWith(lower));
  if (prefixed.length === 1 && t.length >= 8) return ok(prefixed[0]!.address);
  if (prefixed.length > 1) return no(`"${t}" matches ${prefixed.length} contacts: type more of the address`);
  // An address we have not heard of: the client decides (it may know it, or refuse it).
  if (lower.startsWith('chive1')) return ok(t);
  return no(`no contact matches "${t}"`);
}

/** `/accept` or `/reject` without a target: the request on screen, else the oldest pending one. */
export function resolveRequest(state: UiState, target: string | undefined): Resolved<string> {
  if (target !== undefined) return resolveTarget(state, target);
  const here = currentContact(state);
  if (here?.state === 'request') return ok(here.address);
  const oldest = pendingRequests(state)[0];
  return oldest === undefined ? no('there is no pending contact request') : ok(oldest.address);
}

/** `/block` or `/nick`: the given contact, else the conversation on screen. */
export function resolveContactOrCurrent(state: UiState, target: string | undefined): Resolved<string> {
  if (target !== undefined) return resolveTarget(state, target);
  return state.current === undefined ? no(NO_CONVERSATION) : ok(state.current);
}

/** Where a typed message goes: the conversation on screen, if we may write there. */
export function resolveMessageTarget(state: UiState): Resolved<string> {
  const here = currentContact(state);
  if (state.current === undefined || here === undefined) return no(NO_CONVERSATION);
  switch (here.state) {
    case 'request':
      return no(`${here.name} asked to chat: /accept first (or /reject)`);
    case 'blocked':
      return no(`${here.name} is blocked`);
    case 'rejected':
      return no(`you rejected ${here.name}'s request`);
    default:
      return ok(here.address);
  }
}

/** `/retry [id]`: the id (or unique prefix) given, else the last failed message here, else anywhere. */
export function resolveRetry(state: UiState, id: string | undefined): Resolved<string> {
  const outgoing: MessageEntry[] = [];
  for (const conversation of state.conversations.values()) {
    for (const e of conversation.entries) if (e.direction === 'out') outgoing.push(e);
  }
  if (id !== undefined) {
    const exact = outgoing.find((e) => e.id === id);
    const matches = exact !== undefined ? [exact] : outgoing.filter((e) => e.id.startsWith(id));
    if (matches.length === 0) return no(`no message of yours has the id "${id}"`);
    if (matches.length > 1) return no(`"${id}" matches ${matches.length} messages: type more of the id`);
    const m = matches[0]!;
    return m.state === 'failed' ? ok(m.id) : no(`that message is ${m.state}, not failed: nothing to retry`);
  }
  const here = state.current === undefined ? undefined : state.conversations.get(state.current);
  const failedHere = here === undefined ? undefined : lastFailed(here.entries);
  if (failedHere !== undefined) return ok(failedHere.id);
  const anywhere = outgoing.filter((e) => e.state === 'failed').sort((a, b) => b.at - a.at)[0];
  return anywhere === undefined ? no('no failed message to retry') : ok(anywhere.id);
}
