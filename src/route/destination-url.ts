// Per-repository destination URLs (CDS and other tools hand out one webhook
// URL per repository): `{projectKey}`, `{repoSlug}`, `{repoId}` in a
// destination's `url` are filled from the event's repository, URL-encoded.

import type { RepositoryInfo } from '../event/push-event.ts';

/** Placeholders a destination URL may hold. */
export const URL_PLACEHOLDERS = ['projectKey', 'repoSlug', 'repoId'] as const;

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
  if (!template.includes('{')) return template;
  return template.replace(/\{(projectKey|repoSlug|repoId)\}/g, (placeholder, name: string) => {
    if (name === 'projectKey') return encodeURIComponent(repository.projectKey);
    if (name === 'repoSlug') return encodeURIComponent(repository.slug);
    if (repository.id === null) {
      if (options.forDisplay) return placeholder;
      throw new UrlTemplateError(
        `destination URL uses {repoId} but the numeric id of ${repository.projectKey}/${repository.slug} is unknown ` +
          '(its path does not end in .../shared/data/repositories/<id>); use {projectKey}/{repoSlug} in this url instead',
      );
    }
    return String(repository.id);
  });
}

/** Whether a URL template holds any placeholder (resolved per event). */
export function hasUrlPlaceholders(template: string): boolean {
  return /\{(projectKey|repoSlug|repoId)\}/.test(template);
}
