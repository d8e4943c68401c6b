// What Bitbucket tells a hook about a push through the environment: who pushed,
// what triggered it, and the pull-request merge context. Pure.
//
// Supported variables (Bitbucket DC hook scripts / External Hooks; the older
// Stash External Hooks plugin's STASH_* names as fallback):
//   trigger      BB_HOOK_TRIGGER_ID (push, branch-create, branch-delete,
//                tag-create, tag-delete, file-edit, pull-request-merge, …)
//   actor        BB_USER_NAME, BB_USER_DISPLAY_NAME, BB_USER_EMAIL
//                (STASH_USER_NAME, STASH_USER_EMAIL)
//   pull request BB_FROM_REF, BB_FROM_HASH, BB_FROM_PROJECT_KEY +
//                BB_FROM_REPO_SLUG, BB_MERGE_HASH (empty on dry runs),
//                BB_MERGE_STRATEGY_ID, BB_MERGE_IS_CROSS_REPO (documented
//                merge variables); also BB_PULL_REQUEST_ID, BB_TO_REF,
//                BB_TO_HASH and BB_PULL_REQUEST_AUTHOR_USER_{NAME,
//                DISPLAY_NAME,EMAIL} (set by the External Hooks add-on and
//                Bitbucket versions that have them).

import type { Person, PullRequestInfo, PullRequestParticipant, Trigger } from './push-event.ts';

/** Environment of the hook invocation (only BB_* / STASH_* are looked at). */
export type HookEnv = Readonly<Record<string, string | undefined>>;

/** Every trigger a PushEvent can carry. */
export const TRIGGERS: readonly Trigger[] = ['push', 'pull-request-merge', 'branch-create', 'branch-delete', 'tag-create', 'tag-delete', 'file-edit', 'backfill', 'reconciled', 'other'];

const TRIGGERS_BY_ID: Record<string, Trigger> = {
  'push': 'push',
  'repo-push': 'push',
  'pull-request-merge': 'pull-request-merge',
  'branch-create': 'branch-create',
  'branch-delete': 'branch-delete',
  'tag-create': 'tag-create',
  'tag-delete': 'tag-delete',
  'file-edit': 'file-edit',
  'backfill': 'backfill',
};

/** First non-empty value among the named variables, else null. */
export function firstEnv(env: HookEnv, ...names: string[]): string | null {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') return value;
  }
  return null;
}

/**
 * Whether a spool record came from the Bitbucket hook script rather than the
 * file hook: Bitbucket sets BB_HOOK_TYPE and BB_HOOK_TRIGGER_ID for every hook
 * script it runs; git's receive-pack, which runs the file hook, sets neither.
 */
export function fromHookScript(env: HookEnv): boolean {
  return firstEnv(env, 'BB_HOOK_TYPE', 'BB_HOOK_TRIGGER_ID') !== null;
}

/** "true"/"false" variable → boolean, anything else → null. */
export function envBoolean(env: HookEnv, ...names: string[]): boolean | null {
  const value = firstEnv(env, ...names)?.trim().toLowerCase();
  return value === 'true' ? true : value === 'false' ? false : null;
}

/**
 * The push's trigger: an explicit one (e.g. `backfill` from the CLI) wins, then
 * BB_HOOK_TRIGGER_ID (unknown ids map to `other`, the raw id is kept), else `push`.
 */
export function triggerFromEnv(env: HookEnv, explicit?: Trigger): { trigger: Trigger; triggerId: string | null } {
  const triggerId = firstEnv(env, 'BB_HOOK_TRIGGER_ID');
  if (explicit) return { trigger: explicit, triggerId };
  if (triggerId === null) return { trigger: 'push', triggerId: null };
  return { trigger: TRIGGERS_BY_ID[triggerId.trim().toLowerCase()] ?? 'other', triggerId };
}

/** Who pushed, from BB_USER_* / STASH_USER_*; name "unknown" when the hook was not told. */
export function actorFromEnv(env: HookEnv): Person {
  const actor: Person = { name: firstEnv(env, 'BB_USER_NAME', 'STASH_USER_NAME') ?? 'unknown' };
  const displayName = firstEnv(env, 'BB_USER_DISPLAY_NAME');
  const email = firstEnv(env, 'BB_USER_EMAIL', 'STASH_USER_EMAIL');
  if (displayName !== null) actor.displayName = displayName;
  if (email !== null) actor.email = email;
  return actor;
}

/**
 * Pull-request merge context, present when the trigger is a pull-request merge
 * or any PR variable is set; undefined for plain pushes.
 */
export function pullRequestFromEnv(env: HookEnv, trigger: Trigger): PullRequestInfo | undefined {
  const rawId = firstEnv(env, 'BB_PULL_REQUEST_ID');
  const fromRef = firstEnv(env, 'BB_FROM_REF');
  const fromHash = firstEnv(env, 'BB_FROM_HASH');
  const fromProject = firstEnv(env, 'BB_FROM_PROJECT_KEY');
  const fromSlug = firstEnv(env, 'BB_FROM_REPO_SLUG');
  const toRef = firstEnv(env, 'BB_TO_REF');
  const toHash = firstEnv(env, 'BB_TO_HASH');
  const mergeHash = firstEnv(env, 'BB_MERGE_HASH');
  const mergeStrategy = firstEnv(env, 'BB_MERGE_STRATEGY_ID');
  const anySet = [rawId, fromRef, fromHash, toRef, toHash, mergeHash].some((v) => v !== null);
  if (trigger !== 'pull-request-merge' && !anySet) return undefined;
  const id = rawId !== null && /^\d+$/.test(rawId.trim()) ? Number(rawId.trim()) : null;
  return {
    id,
    fromRef,
    fromHash,
    fromRepository: fromProject !== null && fromSlug !== null ? `${fromProject}/${fromSlug}` : null,
    toRef,
    toHash,
    mergeHash,
    mergeStrategy,
    crossRepository: envBoolean(env, 'BB_MERGE_IS_CROSS_REPO'),
    author: pullRequestAuthorFromEnv(env),
    source: 'hook',
  };
}

/** The pull request's author from BB_PULL_REQUEST_AUTHOR_USER_*, null when not set. */
function pullRequestAuthorFromEnv(env: HookEnv): PullRequestParticipant | null {
  const name = firstEnv(env, 'BB_PULL_REQUEST_AUTHOR_USER_NAME');
  if (name === null) return null;
  return {
    user: {
      name,
      displayName: firstEnv(env, 'BB_PULL_REQUEST_AUTHOR_USER_DISPLAY_NAME'),
      email: firstEnv(env, 'BB_PULL_REQUEST_AUTHOR_USER_EMAIL'),
      id: null,
      slug: null,
    },
    role: 'AUTHOR',
    approved: false,
    status: 'UNAPPROVED',
  };
}

/** Longest BB_* / STASH_* value used, in UTF-8 bytes (Bitbucket's own names, slugs and e-mails are far shorter). */
export const HOOK_ENV_VALUE_MAX_BYTES = 1024;

/**
 * The hook environment with every value cut to `maxBytes` (at a character
 * boundary), and one message per value that was cut: a hostile or broken
 * caller must not make every event, request and log line megabytes long.
 */
export function capHookEnv(env: Readonly<Record<string, string>>, maxBytes: number = HOOK_ENV_VALUE_MAX_BYTES): { env: Record<string, string>; cut: string[] } {
  const out: Record<string, string> = {};
  const cut: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    // Cheap test first: a string of n UTF-16 units is at most 3n UTF-8 bytes.
    if (value.length * 3 <= maxBytes) {
      out[name] = value;
      continue;
    }
    const bytes = Buffer.byteLength(value);
    if (bytes <= maxBytes) {
      out[name] = value;
      continue;
    }
    let end = maxBytes;
    const buf = Buffer.from(value);
    while (end > 0 && (buf[end] & 0xc0) === 0x80) end--; // not inside a multi-byte character
    out[name] = buf.subarray(0, end).toString('utf8');
    cut.push(`${name} was ${bytes} bytes; cut to ${end} (hook variables are capped at ${maxBytes} bytes)`);
  }
  return { env: out, cut };
}
