// Build trigger tags in commit messages: "#ci", "#build", "#jenkins",
// "#jenkins:JobName", "[skip ci]" … (ButterStack, Jenkins, most CIs). Pure.

/**
 * Tags recognised by default. `<Job>` (any `<Name>`) at the end of a tag is a
 * placeholder for a job name; the reported tag carries the name as written.
 */
export const DEFAULT_TRIGGER_TAGS: readonly string[] = ['#ci', '#build', '#jenkins', '#jenkins:<Job>', '[skip ci]', '[ci skip]'];

/** Finds trigger tags in one text; unique, in order of appearance, in the configured spelling. */
export type TriggerTagMatcher = (text: string) => string[];

interface TagRule {
  regex: RegExp;
  /** Builds the reported tag from a match. */
  report: (match: RegExpExecArray) => string;
}

const JOB_CHARS = '[A-Za-z0-9_.\\-/]*[A-Za-z0-9_\\-/]';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function ruleFor(tag: string): TagRule {
  const placeholder = /^(.*?)<[^<>]+>$/.exec(tag);
  if (placeholder) {
    const prefix = placeholder[1];
    const regex = new RegExp(`(?<![\\w#])${escapeRegExp(prefix)}(${JOB_CHARS})`, 'gi');
    return { regex, report: (m) => prefix + m[1] };
  }
  // A word-like tag ends at a word boundary ("#ci" is not in "#cicd"); a
  // bracketed one ("[skip ci]") carries its own delimiters.
  const wordEnd = /\w$/.test(tag) ? '(?![\\w-])' : '';
  const wordStart = /^[\w#]/.test(tag) ? '(?<![\\w#])' : '';
  return { regex: new RegExp(`${wordStart}${escapeRegExp(tag)}${wordEnd}`, 'gi'), report: () => tag };
}

/** Compiles the configured tag list once (analysis calls the matcher per commit). */
export function compileTriggerTagMatcher(tags: readonly string[] = DEFAULT_TRIGGER_TAGS): TriggerTagMatcher {
  const rules = tags.filter((t) => t.length > 0).map(ruleFor);
  return (text: string): string[] => {
    // Where two tags match at one position ("#jenkins" and "#jenkins:Nightly"), the longer wins.
    const byStart = new Map<number, { length: number; tag: string }>();
    for (const rule of rules) {
      rule.regex.lastIndex = 0;
      for (let m = rule.regex.exec(text); m; m = rule.regex.exec(text)) {
        const previous = byStart.get(m.index);
        if (!previous || m[0].length > previous.length) byStart.set(m.index, { length: m[0].length, tag: rule.report(m) });
      }
    }
    const found: string[] = [];
    for (const [, hit] of [...byStart].sort((a, b) => a[0] - b[0])) {
      if (!found.includes(hit.tag)) found.push(hit.tag);
    }
    return found;
  };
}

/** One-off convenience: the trigger tags in text. */
export function findTriggerTags(text: string, tags: readonly string[] = DEFAULT_TRIGGER_TAGS): string[] {
  return compileTriggerTagMatcher(tags)(text);
}
