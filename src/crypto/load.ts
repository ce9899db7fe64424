/**
 * Choosing a crypto provider: `sodium` by default, `noble` on request, and `noble`
 * automatically (with a one-line notice through the caller's `notice` callback) where
 * sodium-native cannot load on this platform.
 *
 * Not a registry of providers and not a place for configuration files: callers pass the
 * preference they read from their own config or flags.
 */
import { createRequire } from 'node:module';
import { ChiveError } from '../errors.js';
import type { CryptoProvider, ProviderName } from './provider.js';
import { createSodiumProvider, type SodiumBinding, type SodiumNative } from './sodium.js';
import { dirname, join } from 'node:path';
import { createNobleProvider } from './noble.js';

export type ProviderPreference = ProviderName | 'auto';

const cache = new Map<ProviderName, CryptoProvider>();

function tryLoadSodium(): { provider?: CryptoProvider; error?: unknown } {
  try {
    const require = createRequire(import.meta.url);
    const sodium = require('sodium-native') as SodiumNative;
    let binding: SodiumBinding | undefined;
    try {
      binding = require(join(dirname(require.resolve('sodium-native')), 'binding.js')) as SodiumBinding;
      if (typeof binding.crypto_stream_chacha20_ietf_xor_ic !== 'function' || typeof binding.crypto_onetimeauth !== 'function') binding = undefined;
    } catch {
      binding = undefined; // the wrappers work as well, a little slower
    }
    return { provider: createSodiumProvider(sodium, binding) };
  } catch (error) {
    return { error };
  }
}

/**
 * The provider for `preference` (default `auto`: sodium, else noble with a notice).
 * `sodium` asked for explicitly and unavailable is an error (PROVIDER_UNAVAILABLE).
 */
export function loadCryptoProvider(
  preference: ProviderPreference = 'auto',
  notice: (line: string) => void = (line) => process.stderr.write(line + '\n'),
): CryptoProvider {
  if (preference === 'noble') return cached('noble', createNobleProvider);
  const hit = cache.get('sodium');
  if (hit) return hit;
  const { provider, error } = tryLoadSodium();
  if (provider) {
    cache.set('sodium', provider);
    return provider;
  }
  const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
  if (preference === 'sodium') {
    throw new ChiveError('PROVIDER_UNAVAILABLE', `the sodium crypto provider cannot load here: ${why}`, { cause: error });
  }
  notice(`chive: sodium-native unavailable (${why}); using the slower pure-JS noble crypto provider`);
  return cached('noble', createNobleProvider);
}

function cached(name: ProviderName, make: () => CryptoProvider): CryptoProvider {
  let p = cache.get(name);
  if (!p) {
    p = make();
    cache.set(name, p);
  }
  return p;
}

/** Both providers, for cross-checks and benchmarks (sodium omitted if it cannot load). */
export function allCryptoProviders(): CryptoProvider[] {
  const out: CryptoProvider[] = [];
  const { provider } = tryLoadSodium();
  if (provider) out.push(provider);
  out.push(cached('noble', createNobleProvider));
  return out;
}
