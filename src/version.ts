// The running version, read once from package.json (found from src/ and from
// the compiled dist/src/ alike).
import { readFileSync, existsSync } from 'node:fs';

const candidates = ['../package.json', '../../package.json'].map((p) => new URL(p, import.meta.url));
const pkg = candidates.find((u) => existsSync(u));

/** bitbucket-relay's version. */
export const RELAY_VERSION: string = pkg ? JSON.parse(readFileSync(pkg, 'utf8')).version : 'unknown';

/** What the process runs: the JS install.sh compiled, or the TypeScript sources (types stripped at load). */
export const RELAY_RUNTIME: 'compiled' | 'TypeScript sources' = import.meta.url.endsWith('.js') ? 'compiled' : 'TypeScript sources';
