/**
 * The `tail-deploy` command as a library: run it with your own streams, and read its NDJSON
 * events with their schemas.
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
  type CliIo,
  EXIT_INCOMPLETE,
  EXIT_UNREADABLE,
  EXIT_USAGE,
  main as tailDeploy,
} from './tail-deploy.js';
