import {
  GetParametersByPathCommand,
  type GetParametersByPathCommandInput,
  type Parameter,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { CONFIG_PATH_ENV, configParameters, type DeployConfig } from '../../../lambdas/shared/config.js';

/** The Parameter Store path the test configurations are served under. */
export const TEST_CONFIG_PATH = '/stepdeploy/test-orchestrator';

/** One page of `parameters` as GetParametersByPath returns it: `MaxResults` (10 at most) from `NextToken` on. */
export function parametersPage(
  parameters: Parameter[],
  input: GetParametersByPathCommandInput,
): { Parameters: Parameter[]; NextToken?: string } {
  const prefix = `${input.Path?.replace(/\/+$/, '')}/`;
  const under = parameters.filter(
    (parameter) =>
      parameter.Name?.startsWith(prefix) &&
      (input.Recursive || !parameter.Name.slice(prefix.length).includes('/')),
  );
  const start = Number(input.NextToken ?? '0');
  const end = start + Math.min(input.MaxResults ?? 10, 10);
  return {
    Parameters: under.slice(start, end),
    NextToken: end < under.length ? String(end) : undefined,
  };
}

/**
 * Serves `config` from the mocked SSM as the construct writes it (one parameter for the
 * global part, one per environment, paginated), and points the handlers at it.
 */
export function serveConfig(
  ssm: AwsClientStub<SSMClient>,
  config: DeployConfig,
  path = TEST_CONFIG_PATH,
): void {
  process.env[CONFIG_PATH_ENV] = path;
  process.env.AWS_REGION ??= 'us-east-1';
  const parameters = configParameters(path, config).map(
    ({ name, value }): Parameter => ({ Name: name, Value: value, Type: 'String' }),
  );
  ssm
    .on(GetParametersByPathCommand)
    .callsFake((input: GetParametersByPathCommandInput) => parametersPage(parameters, input));
}
