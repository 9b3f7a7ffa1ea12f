import type { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';

/** Metadata key on every function resource naming its handler verb (the local AWS maps it to the module). */
export const HANDLER_METADATA_KEY = 'stepdeploy:handler';

/** Every handler verb, in the order a run meets them; each is a folder `lambdas/<verb>/`. */
export const VERBS = [
  'plan',
  'start-tasks',
  'check-tasks',
  'stop-tasks',
  'start-deployments',
  'check-deployments',
  'cut-over',
  'check-bake',
  'roll-back',
  'check-rollbacks',
  'retire-old-workers',
  'announce',
  'cleanup',
] as const;

/** A handler verb. */
export type Verb = (typeof VERBS)[number];

/** A Lambda function the flow invokes, with the timeout it was given. */
export interface FlowHandler {
  /** The function. */
  readonly fn: lambda.IFunction;
  /** Its Lambda timeout; the invoking state times out a little later, never first. */
  readonly timeout: Duration;
}

/** The handlers the state machine invokes (cleanup runs from an EventBridge rule instead). */
export type FlowHandlers = Record<Exclude<Verb, 'cleanup'>, FlowHandler>;
