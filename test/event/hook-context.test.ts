import t from 'tap';
import { actorFromEnv, fromHookScript, pullRequestFromEnv, triggerFromEnv } from '../../src/event/hook-context.ts';

t.test('trigger from BB_HOOK_TRIGGER_ID; explicit wins; unknown ids are "other"', async (t) => {
  t.same(triggerFromEnv({}), { trigger: 'push', triggerId: null });
  t.same(triggerFromEnv({ BB_HOOK_TRIGGER_ID: 'pull-request-merge' }), { trigger: 'pull-request-merge', triggerId: 'pull-request-merge' });
  t.same(triggerFromEnv({ BB_HOOK_TRIGGER_ID: 'file-edit' }), { trigger: 'file-edit', triggerId: 'file-edit' });
  t.same(triggerFromEnv({ BB_HOOK_TRIGGER_ID: 'tag-delete' }), { trigger: 'tag-delete', triggerId: 'tag-delete' });
  t.same(triggerFromEnv({ BB_HOOK_TRIGGER_ID: 'repo-sync' }), { trigger: 'other', triggerId: 'repo-sync' });
  t.same(triggerFromEnv({ BB_HOOK_TRIGGER_ID: 'push' }, 'backfill'), { trigger: 'backfill', triggerId: 'push' });
});

t.test('actor from BB_USER_*, else STASH_USER_*, else "unknown"', async (t) => {
  t.same(actorFromEnv({ BB_USER_NAME: 'jdoe', BB_USER_DISPLAY_NAME: 'Jane Doe', BB_USER_EMAIL: 'j@x' }), { name: 'jdoe', displayName: 'Jane Doe', email: 'j@x' });
  t.same(actorFromEnv({ STASH_USER_NAME: 'old', STASH_USER_EMAIL: 'o@x' }), { name: 'old', email: 'o@x' });
  t.same(actorFromEnv({ BB_USER_NAME: '', STASH_USER_NAME: 'fallback' }), { name: 'fallback' }, 'empty values fall through');
  t.same(actorFromEnv({}), { name: 'unknown' });
});

t.test('pull request context from merge variables', async (t) => {
  t.equal(pullRequestFromEnv({}, 'push'), undefined);
  const pr = pullRequestFromEnv({
    BB_HOOK_TRIGGER_ID: 'pull-request-merge',
    BB_PULL_REQUEST_ID: '42',
    BB_FROM_REF: 'refs/heads/feature',
    BB_FROM_HASH: 'a'.repeat(40),
    BB_FROM_PROJECT_KEY: 'FORK',
    BB_FROM_REPO_SLUG: 'repo',
    BB_TO_REF: 'refs/heads/main',
    BB_TO_HASH: 'b'.repeat(40),
    BB_MERGE_HASH: 'c'.repeat(40),
    BB_MERGE_STRATEGY_ID: 'no-ff',
    BB_MERGE_IS_CROSS_REPO: 'true',
    BB_PULL_REQUEST_AUTHOR_USER_NAME: 'ann',
    BB_PULL_REQUEST_AUTHOR_USER_DISPLAY_NAME: 'Ann Author',
    BB_PULL_REQUEST_AUTHOR_USER_EMAIL: 'ann@example.com',
  }, 'pull-request-merge');
  t.same(pr, {
    id: 42, fromRef: 'refs/heads/feature', fromHash: 'a'.repeat(40), fromRepository: 'FORK/repo',
    toRef: 'refs/heads/main', toHash: 'b'.repeat(40), mergeHash: 'c'.repeat(40), mergeStrategy: 'no-ff',
    crossRepository: true,
    author: { user: { name: 'ann', displayName: 'Ann Author', email: 'ann@example.com', id: null, slug: null }, role: 'AUTHOR', approved: false, status: 'UNAPPROVED' },
    source: 'hook',
  });
  const dry = pullRequestFromEnv({ BB_MERGE_HASH: '' }, 'pull-request-merge');
  t.same(dry, {
    id: null, fromRef: null, fromHash: null, fromRepository: null, toRef: null, toHash: null, mergeHash: null, mergeStrategy: null,
    crossRepository: null, author: null, source: 'hook',
  }, 'trigger alone yields context with nulls');
});

t.test('a record from the Bitbucket hook script (BB_HOOK_TYPE / BB_HOOK_TRIGGER_ID), else from the file hook', async (t) => {
  t.equal(fromHookScript({ BB_HOOK_TYPE: 'POST', BB_HOOK_TRIGGER_ID: 'pull-request-merge' }), true);
  t.equal(fromHookScript({ BB_HOOK_TRIGGER_ID: 'push' }), true);
  t.equal(fromHookScript({ BB_HOOK_TYPE: 'POST' }), true);
  t.equal(fromHookScript({ STASH_USER_NAME: 'ada', BB_USER_NAME: 'ada' }), false, 'user variables alone: the file hook');
  t.equal(fromHookScript({ BB_HOOK_TYPE: '' }), false, 'an empty value is unset');
  t.equal(fromHookScript({}), false);
});
