// Jira-style issue keys in commit messages ("PROJ-123"), the way Jira's smart
// commits and Bitbucket's Jira integration read them, minus the usual false
// positives (UTF-8, SHA-256, ISO-8859-1, x86-64 …). Pure.

/** How issue keys are recognised. */
export interface IssueKeyOptions {
  /** Regular-expression source of one key; word boundaries are added around it. */
  pattern: string;
  /** Allow-list of project keys ("PROJ"); empty = any project. */
  projectKeys: string[];
  /** Tokens that look like keys but are not (compared case-insensitively). */
  deny: string[];
}

/** Technical names shaped like issue keys; never reported by default. */
export const DEFAULT_ISSUE_KEY_DENY: readonly string[] = [
  'UTF-7', 'UTF-8', 'UTF-16', 'UTF-32', 'UCS-2', 'UCS-4',
  'ISO-8859-1', 'ISO-8859-15', 'ISO-8601', 'ISO-9001', 'ISO-639', 'ISO-3166',
  'SHA-1', 'SHA-224', 'SHA-256', 'SHA-384', 'SHA-512', 'SHA3-256', 'SHA3-512', 'MD-5',
  'X86-64', 'X86-32', 'AMD-64', 'ARM-64', 'WIN-32', 'WIN-64',
  'AES-128', 'AES-192', 'AES-256', 'RSA-1024', 'RSA-2048', 'RSA-3072', 'RSA-4096',
  'HMAC-256', 'ECMA-262', 'IEEE-754', 'COVID-19', 'CP-1252', 'KOI8-R', 'EUC-JP', 'EUC-KR',
];

/** Jira's key shape: a project key of 2+ characters, a dash, a number. */
export const DEFAULT_ISSUE_KEY_PATTERN = '[A-Z][A-Z0-9_]+-\\d+';

/** Defaults: any project, Jira's shape, technical names denied. */
export const DEFAULT_ISSUE_KEY_OPTIONS: IssueKeyOptions = {
  pattern: DEFAULT_ISSUE_KEY_PATTERN,
  projectKeys: [],
  deny: [...DEFAULT_ISSUE_KEY_DENY],
};

/** Finds the issue keys in one text; unique, in order of first appearance. */
export type IssueKeyMatcher = (text: string) => string[];

/**
 * Compiles the options once (analysis calls the matcher per commit).
 * A key must not continue a word on the left, and must not be followed by a
 * word character or by `-digit` / `.digit` (so "ISO-8859-1", "CVE-2024-1234",
 * "TLS-1.2" are not keys) — but "PROJ-12-fix-login" still yields PROJ-12.
 */
export function compileIssueKeyMatcher(options: IssueKeyOptions = DEFAULT_ISSUE_KEY_OPTIONS): IssueKeyMatcher {
  let source: RegExp;
  try {
    source = new RegExp(`(?<![A-Za-z0-9_])(?:${options.pattern})(?![A-Za-z0-9_]|[-.]\\d)`, 'g');
  } catch (error) {
    throw new Error(`analysis.issueKeys.pattern ${JSON.stringify(options.pattern)} is not a valid regular expression: ${(error as Error).message}`);
  }
  const deny = new Set(options.deny.map((d) => d.toUpperCase()));
  const projects = new Set(options.projectKeys.map((p) => p.toUpperCase()));
  return (text: string): string[] => {
    const found: string[] = [];
    for (const match of text.matchAll(source)) {
      const key = match[0];
      if (deny.has(key.toUpperCase()) || found.includes(key)) continue;
      if (projects.size > 0) {
        const dash = key.lastIndexOf('-');
        if (!projects.has(key.slice(0, dash).toUpperCase())) continue;
      }
      found.push(key);
    }
    return found;
  };
}

/** One-off convenience: the issue keys in text under the given options. */
export function findIssueKeys(text: string, options: IssueKeyOptions = DEFAULT_ISSUE_KEY_OPTIONS): string[] {
  return compileIssueKeyMatcher(options)(text);
}
