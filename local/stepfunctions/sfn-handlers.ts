import { requestObject } from '../aws-error.js';
import type { Handler } from '../server.js';
import type { StepFunctionsModel } from './model.js';

/** The `X-Amz-Target` prefix of Step Functions (awsJson 1.0). */
export const SFN_TARGET = 'AWSStepFunctions';

/** The Step Functions operations of the local AWS, for `WireServer.mount`. */
export function stepFunctionsHandlers(model: StepFunctionsModel): Record<string, Handler> {
  const op =
    <T extends object>(name: string, fn: (input: T, region: string) => unknown): Handler =>
    async (input, ctx) =>
      fn(requestObject<T>(input, name), ctx.region);
  type Arg<K extends keyof StepFunctionsModel> = StepFunctionsModel[K] extends (input: infer I) => unknown
    ? I
    : never;
  return {
    CreateStateMachine: op<Parameters<StepFunctionsModel['createStateMachine']>[1]>(
      'CreateStateMachine',
      (input, region) => model.createStateMachine(region, input),
    ),
    DescribeStateMachine: op<{ stateMachineArn?: string }>('DescribeStateMachine', (input) =>
      model.describeStateMachine(input.stateMachineArn),
    ),
    ListStateMachines: op<{ maxResults?: number; nextToken?: string }>('ListStateMachines', (input, region) =>
      model.listStateMachines(region, input),
    ),
    StartExecution: op<Arg<'startExecution'>>('StartExecution', (input) => model.startExecution(input)),
    DescribeExecution: op<{ executionArn?: string }>('DescribeExecution', (input) =>
      model.describeExecution(input.executionArn),
    ),
    ListExecutions: op<Arg<'listExecutions'>>('ListExecutions', (input) => model.listExecutions(input)),
    GetExecutionHistory: op<Arg<'getExecutionHistory'>>('GetExecutionHistory', (input) =>
      model.getExecutionHistory(input),
    ),
    StopExecution: op<Arg<'stopExecution'>>('StopExecution', (input) => model.stopExecution(input)),
    RedriveExecution: op<Arg<'redriveExecution'>>('RedriveExecution', (input) =>
      model.redriveExecution(input),
    ),
  };
}
