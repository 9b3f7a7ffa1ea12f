import { AwsError, requestObject } from '../aws-error.js';
import type { QueryValue } from '../query-protocol.js';
import type { Handler, QueryCompatibility } from '../server.js';
import type { AlarmsModel, PutMetricAlarmInput } from './alarms-model.js';

/**
 * The `X-Amz-Target` prefix of CloudWatch on awsJson 1.0, as the AWS SDK for JavaScript v3
 * (@aws-sdk/client-cloudwatch 3.1164.0) sends it; the service is also query-compatible: the
 * AWS CLI v2 of Debian (2.9.19) speaks CloudWatch's query protocol.
 */
export const CLOUDWATCH_TARGET = 'GraniteServiceVersion20100801';

/** The XML namespace of CloudWatch's query protocol. */
export const CLOUDWATCH_NAMESPACE = 'http://monitoring.amazonaws.com/doc/2010-08-01/';

/**
 * The query error code of each JSON error shape (the client's `awsQueryError` trait): a
 * query-compatible service answers awsJson errors with `x-amzn-query-error: <code>;Sender`.
 */
export const CLOUDWATCH_QUERY_ERRORS: Record<string, string> = {
  ResourceNotFound: 'ResourceNotFound',
  InvalidNextToken: 'InvalidNextToken',
  InvalidFormatFault: 'InvalidFormat',
  InvalidParameterCombinationException: 'InvalidParameterCombination',
  InvalidParameterValueException: 'InvalidParameterValue',
  MissingRequiredParameterException: 'MissingParameter',
  LimitExceededFault: 'LimitExceeded',
};

/** A timestamp as the JSON protocol sends it (epoch seconds) or the query protocol (ISO 8601). */
function timestamp(value: unknown, field: string): Date | undefined {
  if (value === undefined) return undefined;
  const date =
    typeof value === 'number'
      ? new Date(value * 1000)
      : typeof value === 'string'
        ? new Date(value)
        : undefined;
  if (!date || Number.isNaN(date.getTime())) {
    throw new AwsError('InvalidParameterValueException', `${field} is not a timestamp.`);
  }
  return date;
}

/** The CloudWatch alarm operations of the local AWS, over `model`. */
export function cloudwatchHandlers(model: AlarmsModel): Record<string, Handler> {
  return {
    PutMetricAlarm: async (input, { region }) => {
      model.putMetricAlarm(region, requestObject<PutMetricAlarmInput>(input, 'PutMetricAlarm'));
      return {};
    },
    DeleteAlarms: async (input, { region }) => {
      model.deleteAlarms(region, requestObject<{ AlarmNames?: string[] }>(input, 'DeleteAlarms').AlarmNames);
      return {};
    },
    SetAlarmState: async (input, { region }) => {
      model.setAlarmState(
        region,
        requestObject<{
          AlarmName?: string;
          StateValue?: string;
          StateReason?: string;
          StateReasonData?: string;
        }>(input, 'SetAlarmState'),
      );
      return {};
    },
    DescribeAlarms: async (input, { region }) =>
      model.describeAlarms(
        region,
        requestObject<Parameters<AlarmsModel['describeAlarms']>[1]>(input, 'DescribeAlarms'),
      ),
    DescribeAlarmHistory: async (input, { region }) => {
      const request = requestObject<Record<string, unknown>>(input, 'DescribeAlarmHistory');
      return model.describeAlarmHistory(region, {
        ...(request as Parameters<AlarmsModel['describeAlarmHistory']>[1]),
        StartDate: timestamp(request.StartDate, 'StartDate'),
        EndDate: timestamp(request.EndDate, 'EndDate'),
      });
    },
  };
}

/** Members that are numbers or booleans on the wire, per operation: query parameters are all strings. */
const NUMBERS = new Set(['MaxRecords', 'Period', 'EvaluationPeriods', 'DatapointsToAlarm', 'Threshold']);
const BOOLEANS = new Set(['ActionsEnabled']);

function typed(params: Record<string, QueryValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) {
    if (typeof value === 'string' && NUMBERS.has(key)) out[key] = Number(value);
    else if (typeof value === 'string' && BOOLEANS.has(key)) out[key] = value === 'true';
    else out[key] = value;
  }
  return out;
}

/** How the query protocol reaches the same handlers: the operation's input from the form, errors as codes. */
export const CLOUDWATCH_QUERY: QueryCompatibility = {
  scopeService: 'monitoring',
  namespace: CLOUDWATCH_NAMESPACE,
  input: (_operation, params) => typed(params),
  errorCode: (type) => CLOUDWATCH_QUERY_ERRORS[type] ?? type,
};
