/**
 * The `tail-deploy` and `stepdeploy` commands as a library: run them with your own streams,
 * read `tail-deploy`'s NDJSON events with their schemas, and read a state machine's release
 * history.
 */

export {
  eventsJsonSchema,
  type IncompleteLog,
  type RunStatus,
  type SummaryEvent,
  type TailEvent,
  TailEventSchema,
} from './events.js';
export {
  HISTORY_DEFAULT_LIMIT,
  HISTORY_MAX_LIMIT,
  previousRelease,
  type ReleaseHistoryOptions,
  type ReleaseOutcome,
  type ReleaseRecord,
  releaseHistory,
} from './release-history.js';
export { main as stepdeploy, STATE_MACHINE_ENV } from './stepdeploy.js';
export {
  type CliIo,
  EXIT_INCOMPLETE,
  EXIT_UNREADABLE,
  EXIT_USAGE,
  main as tailDeploy,
} from './tail-deploy.js';
