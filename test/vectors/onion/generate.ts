/**
 * Regenerates test/vectors/onion/onion-vectors.json:
 *   npx tsx test/vectors/onion/generate.ts [sodium|noble]
 * Both providers must produce the same file (the vector test checks that).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadCryptoProvider } from '../../../src/crypto/load.js';
import { computeOnionVectors } from './compute.js';

const providerName = process.argv[2] === 'sodium' ? 'sodium' : 'noble';
const vectors = computeOnionVectors(loadCryptoProvider(providerName));
const out = fileURLToPath(new URL('./onion-vectors.json', import.meta.url));
writeFileSync(out, JSON.stringify(vectors, null, 2) + '\n');
console.log(`wrote ${out} (${vectors.forward.length} forward, ${vectors.backward.length} backward vectors, ${providerName})`);
