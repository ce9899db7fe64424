/**
 * The guard state on disk: `<dataDir>/guards.json`, the JSON of `GuardState.toJSON()`,
 * written atomically with mode 0600 (not secret, but it says which relays this client
 * always enters the network through, so it is kept private like the rest of the data
 * directory).
 *
 * A missing file is a fresh state (guards are sampled at the next update). A file that
 * cannot be read, is too large, or is not a valid state is refused with
 * CLIENT_STATE_CORRUPT naming the path: silently sampling new guards would quietly rotate
 * the client's entry into the network, so the caller decides (e.g. tells the user to
 * delete the file).
 *
 * Not here: the guard rules (guards.ts).
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ChiveError } from '../src/errors.js';
import { writeFileAtomic } from '../src/io/key-files.js';
import { type GuardOptions, GuardState } from './guards.js';

export const GUARDS_FILE = 'guards.json';
/** Largest guards.json read (a full sample is a few kilobytes). */
export const MAX_GUARDS_FILE_LEN = 1024 * 1024;

export function guardStatePath(dataDir: string): string {
  return join(dataDir, GUARDS_FILE);
}

/** Loads the guard state at `path`, or a fresh one when the file does not exist. */
export function loadGuardState(path: string, options: Partial<GuardOptions> = {}): GuardState {
  let text: string;
  try {
    if (statSync(path).size > MAX_GUARDS_FILE_LEN) throw new ChiveError('CLIENT_STATE_CORRUPT', `guard state ${path} is larger than ${MAX_GUARDS_FILE_LEN} bytes`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof ChiveError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new GuardState(options);
    throw new ChiveError('CLIENT_STATE_CORRUPT', `guard state ${path} cannot be read: ${(e as Error).message}`, { cause: e });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ChiveError('CLIENT_STATE_CORRUPT', `guard state ${path} is not JSON (delete it to sample new guards)`, { cause: e });
  }
  try {
    return GuardState.fromJSON(value, options);
  } catch (e) {
    if (e instanceof ChiveError && e.code === 'CLIENT_STATE_CORRUPT') {
      throw new ChiveError('CLIENT_STATE_CORRUPT', `${path}: ${e.message} (delete it to sample new guards)`, { cause: e });
    }
    throw e;
  }
}

/** Writes `state` to `path` atomically, mode 0600. */
export function saveGuardState(path: string, state: GuardState): void {
  writeFileAtomic(path, `${JSON.stringify(state.toJSON(), null, 2)}\n`, 0o600);
}
