// Knobs of push analysis, with the defaults DESIGN.md promises.

import { availableParallelism } from 'node:os';
import { DEFAULT_ISSUE_KEY_OPTIONS, type IssueKeyOptions } from '../event/issue-keys.ts';
import { DEFAULT_TRIGGER_TAGS } from '../event/trigger-tags.ts';
import type { RelayConfig } from '../config/config-types.ts';
import { DEFAULT_GIT_TIMEOUT_MS } from './run-git.ts';

/** Explicit identity for a repository path (config `bitbucket.repositories`). */
export interface RepositoryMappingEntry {
  path: string;
  projectKey: string;
  slug: string;
}

/** Everything analyzePush can be told; see DEFAULT_ANALYSIS_OPTIONS. */
export interface AnalysisOptions {
  /** Commits detailed per event (refs keep their newest commits within it). */
  maxCommits: number;
  /** Files listed per commit; totalFiles still counts all. */
  maxFilesPerCommit: number;
  /** Bytes (UTF-8) of a commit message kept; longer ones are cut and flagged. */
  maxMessageBytes: number;
  /** Ref globs left out of events (`*` one segment, `**` any depth). */
  ignoreRefs: string[];
  issueKeys: IssueKeyOptions;
  /** Build trigger tags looked for in messages (see trigger-tags.ts). */
  triggerTags: string[];
  /** Identity by repository path, used when neither env nor repository-config gives one. */
  repositories: RepositoryMappingEntry[];
  /** Bitbucket base URL for links when BB_BASE_URL is not set. */
  baseUrl: string | null;
  /** Rename detection (-M); off lists renames as delete + add. */
  renames: boolean;
  /** Copy detection among the commit's changed files (-C); needs renames. */
  copies: boolean;
  /** git executable (absolute path or a name on PATH). */
  gitBinary: string;
  /** git log processes one very large push may use at once (≥ 1,000 commits each). */
  maxLogProcesses: number;
  /** A git process silent this long (no stdout/stderr) is stopped and the analysis fails (retried later). */
  gitTimeoutMs: number;
}

/** Defaults: DESIGN.md caps (2,048 commits, 3,000 files, 64 KiB messages), PR refs ignored, renames on. */
export const DEFAULT_ANALYSIS_OPTIONS: Readonly<AnalysisOptions> = Object.freeze({
  maxCommits: 2048,
  maxFilesPerCommit: 3000,
  maxMessageBytes: 65536,
  ignoreRefs: ['refs/pull-requests/**'],
  issueKeys: DEFAULT_ISSUE_KEY_OPTIONS,
  triggerTags: [...DEFAULT_TRIGGER_TAGS],
  repositories: [],
  baseUrl: null,
  renames: true,
  copies: true,
  gitBinary: 'git',
  maxLogProcesses: Math.min(4, availableParallelism()),
  gitTimeoutMs: DEFAULT_GIT_TIMEOUT_MS,
});

/** Defaults with the given fields replaced (issueKeys merged field by field). */
export function analysisOptions(overrides: Partial<Omit<AnalysisOptions, 'issueKeys'>> & { issueKeys?: Partial<IssueKeyOptions> } = {}): AnalysisOptions {
  return {
    ...DEFAULT_ANALYSIS_OPTIONS,
    ...overrides,
    issueKeys: { ...DEFAULT_ANALYSIS_OPTIONS.issueKeys, ...overrides.issueKeys },
  };
}

/** Analysis options from the loaded config (analysis.*, bitbucket.baseUrl, bitbucket.repositories). */
export function analysisOptionsFromConfig(config: Pick<RelayConfig, 'analysis' | 'bitbucket'>): AnalysisOptions {
  const { analysis, bitbucket } = config;
  return analysisOptions({
    maxCommits: analysis.maxCommits,
    maxFilesPerCommit: analysis.maxFilesPerCommit,
    maxMessageBytes: analysis.maxMessageBytes,
    ignoreRefs: analysis.ignoreRefs,
    // Config's `ignore` adds to the built-in deny list rather than replacing it.
    issueKeys: { projectKeys: analysis.issueKeys.projects, deny: [...DEFAULT_ISSUE_KEY_OPTIONS.deny, ...analysis.issueKeys.ignore] },
    triggerTags: analysis.triggerTags,
    repositories: bitbucket.repositories.map((r) => ({ path: r.path, projectKey: r.projectKey, slug: r.slug })),
    baseUrl: bitbucket.baseUrl,
    gitTimeoutMs: analysis.gitTimeoutMs,
  });
}
