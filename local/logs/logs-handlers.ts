import type {
  CreateLogGroupRequest,
  CreateLogStreamRequest,
  DeleteLogGroupRequest,
  DeleteLogStreamRequest,
  DescribeLogGroupsRequest,
  DescribeLogStreamsRequest,
  FilterLogEventsRequest,
  GetLogEventsRequest,
  PutLogEventsRequest,
  PutRetentionPolicyRequest,
} from '@aws-sdk/client-cloudwatch-logs';
import { requestObject, required } from '../aws-error.js';
import type { Faults } from '../faults.js';
import type { Handler } from '../server.js';
import type { LogsModel } from './logs-model.js';

/**
 * The `Logs_20140328.*` operations, over `model`; `faults` can make GetLogEvents answer an
 * empty page mid-stream (`logs-empty-page`).
 */
export function logsHandlers(model: LogsModel, faults?: Pick<Faults, 'take'>): Record<string, Handler> {
  const emptyPage = () => faults?.take('logs-empty-page') !== undefined;
  return {
    CreateLogGroup: async (input, { region }) => {
      const request = requestObject<CreateLogGroupRequest>(input, 'CreateLogGroup');
      model.createLogGroup(region, required(request.logGroupName, 'logGroupName'), { tags: request.tags });
      return {};
    },
    CreateLogStream: async (input, { region }) => {
      const request = requestObject<CreateLogStreamRequest>(input, 'CreateLogStream');
      model.createLogStream(
        region,
        required(request.logGroupName, 'logGroupName'),
        required(request.logStreamName, 'logStreamName'),
      );
      return {};
    },
    DeleteLogGroup: async (input, { region }) => {
      const request = requestObject<DeleteLogGroupRequest>(input, 'DeleteLogGroup');
      model.deleteLogGroup(region, required(request.logGroupName, 'logGroupName'));
      return {};
    },
    DeleteLogStream: async (input, { region }) => {
      const request = requestObject<DeleteLogStreamRequest>(input, 'DeleteLogStream');
      model.deleteLogStream(
        region,
        required(request.logGroupName, 'logGroupName'),
        required(request.logStreamName, 'logStreamName'),
      );
      return {};
    },
    PutRetentionPolicy: async (input, { region }) => {
      const request = requestObject<PutRetentionPolicyRequest>(input, 'PutRetentionPolicy');
      model.group(region, required(request.logGroupName, 'logGroupName')).retentionInDays = required(
        request.retentionInDays,
        'retentionInDays',
      );
      return {};
    },
    DescribeLogGroups: async (input, { region }) =>
      model.describeLogGroups(region, requestObject<DescribeLogGroupsRequest>(input, 'DescribeLogGroups')),
    DescribeLogStreams: async (input, { region }) =>
      model.describeLogStreams(region, requestObject<DescribeLogStreamsRequest>(input, 'DescribeLogStreams')),
    PutLogEvents: async (input, { region }) =>
      model.putLogEventsRequest(region, requestObject<PutLogEventsRequest>(input, 'PutLogEvents')),
    GetLogEvents: async (input, { region }) =>
      model.getLogEvents(region, requestObject<GetLogEventsRequest>(input, 'GetLogEvents'), emptyPage),
    FilterLogEvents: async (input, { region }) =>
      model.filterLogEvents(region, requestObject<FilterLogEventsRequest>(input, 'FilterLogEvents')),
  };
}
