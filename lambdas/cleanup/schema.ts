import * as z from 'zod';
import { parseOrThrow } from '../shared/schemas.js';

/** The EventBridge event `Step Functions Execution Status Change`, as far as cleanup reads it. */
export interface ExecutionStatusChangeEvent {
  detail: {
    executionArn: string;
    stateMachineArn: string;
    status: string;
    /** How many times the execution had been redriven when it changed status (events since redrives carry it). */
    redriveCount?: number;
    /** When it stopped, in milliseconds since the epoch. */
    stopDate?: number;
  };
}

const EventSchema = z.looseObject({
  detail: z.looseObject({
    executionArn: z
      .string()
      .regex(
        /^arn:[^:]+:states:[^:]+:[^:]*:execution:[^:]+:[^:]+$/,
        'expected a Step Functions execution ARN',
      ),
    stateMachineArn: z.string().min(1),
    status: z.string().min(1),
    redriveCount: z.number().int().nonnegative().nullish(),
    stopDate: z.number().nullish(),
  }),
});

/** Parses the event; a bad one is a `ValidationError` naming the field. */
export function parseCleanupEvent(event: unknown): ExecutionStatusChangeEvent {
  const { detail } = parseOrThrow(EventSchema, event, 'event');
  return {
    detail: {
      executionArn: detail.executionArn,
      stateMachineArn: detail.stateMachineArn,
      status: detail.status,
      ...(typeof detail.redriveCount === 'number' ? { redriveCount: detail.redriveCount } : {}),
      ...(typeof detail.stopDate === 'number' ? { stopDate: detail.stopDate } : {}),
    },
  };
}
