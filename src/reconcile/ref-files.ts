// A bare repository's refs read from its files, without git: `packed-refs`
// plus the loose files under `refs/` (a loose ref wins over its packed line,
// as in git). And a cheap signature of those files' metadata: git writes a
// ref through `<ref>.lock` + rename, and packs through a new `packed-refs`,
// so any ref change alters the mtime of a directory under refs/ or the
// identity of packed-refs. Equal signature → refs unchanged → nothing read.
// A read brackets itself: each file and directory is stat'ed just before it
// is read (`sigBefore`); the same signature taken after the read proves no
// ref moved meanwhile, so one read is enough (no second read to compare).
// Repositories on the reftable backend (no packed-refs/loose files) are
// reported as such; the caller reads them with git.

import { readdirSync, readFileSync, statSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';

/** A repository's refs and the directories holding loose refs (for the signature). */
export interface RefSnapshot {
  refs: Map<string, string>;
  /** Directories under refs/, relative to the repository (refs, refs/heads, ...). */
  dirs: string[];
  /** The signature of packed-refs and `dirs`, each part taken just before it was read (compare with refSignature after). */
  sigBefore: string;
}

const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/** True when the repository stores refs in reftable (its config says so). */
export function usesReftable(repoPath: string): boolean {
  try {
    return /^\s*refstorage\s*=\s*reftable\s*$/im.test(readFileSync(join(repoPath, 'config'), 'utf8'));
  } catch {
    return false;
  }
}

/** Reads refs/ and packed-refs; throws when the repository cannot be read. Symbolic refs are skipped. */
export function readRefFiles(repoPath: string): RefSnapshot {
  const refs = new Map<string, string>();
  let sigBefore = part(statOrNull(join(repoPath, 'packed-refs')));
  let packed = '';
  try {
    packed = readFileSync(join(repoPath, 'packed-refs'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  for (const line of packed.split('\n')) {
    if (!line || line[0] === '#' || line[0] === '^') continue;
    const sp = line.indexOf(' ');
    const sha = line.slice(0, sp);
    if (sp > 0 && SHA.test(sha)) refs.set(line.slice(sp + 1), sha);
  }
  const dirs: string[] = [];
  const walk = (rel: string): void => {
    dirs.push(rel);
    sigBefore += `|${part(statOrNull(join(repoPath, rel)))}`;
    for (const entry of readdirSync(join(repoPath, rel), { withFileTypes: true })) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile() && !entry.name.endsWith('.lock')) {
        let text: string;
        try {
          text = readFileSync(join(repoPath, child), 'utf8').trim();
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // deleted meanwhile
          throw err;
        }
        if (SHA.test(text)) refs.set(child, text);
      }
    }
  };
  try {
    walk('refs');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return { refs, dirs, sigBefore };
}

function part(st: BigIntStats | null): string {
  return st ? `${st.ino}:${st.mtimeNs}:${st.size}` : '-';
}

function statOrNull(p: string): BigIntStats | null {
  try {
    // throwIfNoEntry: a missing packed-refs (common) costs no exception.
    return statSync(p, { bigint: true, throwIfNoEntry: false }) ?? null;
  } catch {
    return null;
  }
}

/** Metadata signature of packed-refs and the given ref directories (stat calls only). */
export function refSignature(repoPath: string, dirs: readonly string[]): string {
  let sig = part(statOrNull(join(repoPath, 'packed-refs')));
  for (const d of dirs) sig += `|${part(statOrNull(join(repoPath, d)))}`;
  return sig;
}
