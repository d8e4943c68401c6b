// Per-repository destination URLs.

import t from 'tap';
import { resolveDestinationUrl, hasUrlPlaceholders, UrlTemplateError } from '../../src/route/destination-url.ts';

const repo = { projectKey: 'PLAT', slug: 'api-gateway', id: 42 };

t.test('placeholders are filled and URL-encoded', async (t) => {
  t.equal(resolveDestinationUrl('https://cds.example/hooks/{projectKey}/{repoSlug}?id={repoId}', repo), 'https://cds.example/hooks/PLAT/api-gateway?id=42');
  t.equal(resolveDestinationUrl('https://x/{projectKey}/{repoSlug}', { projectKey: '~J DOE', slug: 'a/b&c', id: 1 }), 'https://x/~J%20DOE/a%2Fb%26c');
  t.equal(resolveDestinationUrl('https://x/{repoSlug}/{repoSlug}', repo), 'https://x/api-gateway/api-gateway', 'every occurrence');
});

t.test('no placeholders, or other braces: unchanged', async (t) => {
  t.equal(resolveDestinationUrl('https://zymmr.example/api/method/x', repo), 'https://zymmr.example/api/method/x');
  t.equal(resolveDestinationUrl('https://x/{other}', repo), 'https://x/{other}');
  t.ok(hasUrlPlaceholders('https://x/{repoId}'));
  t.notOk(hasUrlPlaceholders('https://x/{other}'));
});

t.test('{repoId} of a repository without a known id is an error that says what to do', async (t) => {
  t.throws(() => resolveDestinationUrl('https://x/{repoId}', { ...repo, id: null }), UrlTemplateError);
  t.throws(() => resolveDestinationUrl('https://x/{repoId}', { ...repo, id: null }), /PLAT\/api-gateway is unknown .*use \{projectKey\}\/\{repoSlug\}/);
  t.equal(resolveDestinationUrl('https://x/{repoSlug}', { ...repo, id: null }), 'https://x/api-gateway', 'fine without {repoId}');
});
