// Public surface of the intake: the spool record, its parser, the intake that
// feeds records to the daemon, and spool counts for status.

export {
  parseSpoolRecord,
  refNameProblem,
  spoolRecordId,
  SPOOL_RECORD_SUFFIX,
  SPOOL_RECORD_VERSION,
  type SpoolRecord,
  type SpoolRecordMeta,
  type SpoolRecordParse,
  type SpoolRefLine,
} from './spool-record.ts';
export { SpoolIntake, SpoolIntakeError, startSpoolIntake, type IntakeLog, type IntakeStats, type SpoolIntakeOptions } from './spool-intake.ts';
export { spoolStats, type SpoolStats, type SpoolStatsResult } from './spool-stats.ts';
export { prepareSpoolDirs, spoolDirs, type SpoolDirs, type SpoolDirsResult } from './spool-dirs.ts';
export { quarantineEntry, listQuarantined, requeueQuarantined, dropQuarantined, REASON_SUFFIX, type QuarantineOutcome, type QuarantinedEntry, type QuarantineActionOutcome } from './quarantine.ts';
