import type {
  DeleteRuleRequest,
  DescribeRuleRequest,
  ListRulesRequest,
  PutEventsRequest,
  PutRuleRequest,
} from '@aws-sdk/client-eventbridge';
import { AwsError, requestObject, required } from '../aws-error.js';
import type { Handler } from '../server.js';
import type { EventsModel, Rule } from './events-model.js';

const describe = (rule: Rule) => ({
  Name: rule.name,
  Arn: rule.arn,
  EventPattern: rule.eventPattern,
  State: rule.state,
  Description: rule.description,
  EventBusName: rule.eventBusName,
});

/** The `AWSEvents.*` operations, over `model`. */
export function eventsHandlers(model: EventsModel): Record<string, Handler> {
  return {
    PutEvents: async (input, { region }) => {
      const entries = required(
        requestObject<PutEventsRequest>(input, 'PutEvents').Entries,
        'Entries',
        'ValidationException',
      );
      if (entries.length < 1 || entries.length > 10) {
        throw new AwsError(
          'ValidationException',
          `PutEvents takes 1-10 entries, not ${entries.length}; split the batch.`,
        );
      }
      return model.putEvents(region, entries);
    },
    PutRule: async (input, { region }) => ({
      RuleArn: model.putRule(region, requestObject<PutRuleRequest>(input, 'PutRule')).arn,
    }),
    DescribeRule: async (input, { region }) => {
      const request = requestObject<DescribeRuleRequest>(input, 'DescribeRule');
      return describe(
        model.rule(region, required(request.Name, 'Name', 'ValidationException'), request.EventBusName),
      );
    },
    ListRules: async (input, { region }) => {
      const request = requestObject<ListRulesRequest>(input, 'ListRules');
      return { Rules: model.listRules(region, request.NamePrefix, request.EventBusName).map(describe) };
    },
    DeleteRule: async (input, { region }) => {
      const request = requestObject<DeleteRuleRequest>(input, 'DeleteRule');
      model.deleteRule(region, required(request.Name, 'Name', 'ValidationException'), request.EventBusName);
      return {};
    },
  };
}
