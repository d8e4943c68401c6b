// Per-repository destination URLs (CDS and other tools hand out one webhook
// URL per repository): `{projectKey}`, `{repoSlug}`, `{repoId}` in a
// destination's `url` are filled from the event's repository, URL-encoded.

import type { RepositoryInfo } from '../event/push-event.ts';

/** Raised when a URL needs a value the event does not have (e.g. `{repoId}` of a repository whose id is unknown). */
export class UrlTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UrlTemplateError';
  }
}

/**
 * `template` with its placeholders filled for `repository`. Text in braces
 * that is not a placeholder is left alone. When `{repoId}` is used and the
 * repository's numeric id is unknown: throws UrlTemplateError, or, with
 * `{ forDisplay: true }`, leaves `{repoId}` in place (status/show output).
 */
export function resolveDestinationUrl(
  template: string,
  repository: Pick<RepositoryInfo, 'projectKey' | 'slug' | 'id'>,
  options: { forDisplay?: boolean } = {},
): string {
  return fillPlaceholders(template, repository, { ...options, encode: encodeURIComponent });
}

/**
 * `template` with its placeholders filled, each value passed through
 * `encode` (URL-encoding for URLs, subjectToken for broker subjects and
 * routing keys). Same rules as resolveDestinationUrl.
 */
export function fillPlaceholders(
  template: string,
  repository: Pick<RepositoryInfo, 'projectKey' | 'slug' | 'id'>,
  options: { forDisplay?: boolean; encode: (value: string) => string },
): string {
  if (!template.includes('{')) return template;
  return template.replace(/\{(projectKey|repoSlug|repoId)\}/g, (placeholder, name: string) => {
    if (name === 'projectKey') return options.encode(repository.projectKey);
    if (name === 'repoSlug') return options.encode(repository.slug);
    if (repository.id === null) {
      if (options.forDisplay) return placeholder;
      throw new UrlTemplateError(
        `destination uses {repoId} but the numeric id of ${repository.projectKey}/${repository.slug} is unknown ` +
          '(its path does not end in .../shared/data/repositories/<id>); use {projectKey}/{repoSlug} instead',
      );
    }
    return String(repository.id);
  });
}

/**
 * A value made safe as one token of a NATS subject or AMQP routing key:
 * `.` (the token separator), wildcards (`*`, `>`, `#`) and whitespace become `_`.
 */
export function subjectToken(value: string): string {
  return value.replace(/[.*>#\s\x00-\x1f]/g, '_');
}

/** The placeholders a destination URL may hold. */
export const URL_PLACEHOLDERS = ['projectKey', 'repoSlug', 'repoId'] as const;

/**
 * `{name}`s in `template` that are not placeholders (a typo like
 * `{projectkey}` would otherwise be sent as `%7Bprojectkey%7D`), each with the
 * placeholder it most likely meant, if any.
 */
export function unknownUrlPlaceholders(template: string): { found: string; meant: string | null }[] {
  const out: { found: string; meant: string | null }[] = [];
  for (const m of template.matchAll(/\{([^{}\/?#]*)\}/g)) {
    if ((URL_PLACEHOLDERS as readonly string[]).includes(m[1])) continue;
    const key = m[1].toLowerCase().replace(/[^a-z]/g, '');
    const meant = URL_PLACEHOLDERS.find((p) => p.toLowerCase() === key || (key.length > 2 && p.toLowerCase().startsWith(key))) ?? null;
    out.push({ found: m[0], meant });
  }
  return out;
}

/** Whether a URL template holds any placeholder (resolved per event). */
export function hasUrlPlaceholders(template: string): boolean {
  return /\{(projectKey|repoSlug|repoId)\}/.test(template);
}
