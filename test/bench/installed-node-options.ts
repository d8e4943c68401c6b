// The V8 flags the daemon runs with as installed: the systemd unit's
// NODE_OPTIONS (config/bitbucket-relay.service), read from the unit itself
// so the benchmarks measure what install.sh installs and never drift from it.
import { readFileSync } from 'node:fs';

const UNIT = new URL('../../config/bitbucket-relay.service', import.meta.url);

/** The unit's NODE_OPTIONS, split into flags (e.g. ['--max-semi-space-size=2', …]). */
export function installedNodeFlags(): string[] {
  // systemd splits Environment= on spaces unless the assignment is quoted: Environment="NODE_OPTIONS=--a --b".
  const match = /^Environment=(?:"NODE_OPTIONS=([^"]*)"|NODE_OPTIONS=(\S*))\s*$/m.exec(readFileSync(UNIT, 'utf8'));
  if (!match) throw new Error(`${UNIT.pathname}: no Environment=NODE_OPTIONS= line`);
  return (match[1] ?? match[2]).split(/\s+/).filter(Boolean);
}
