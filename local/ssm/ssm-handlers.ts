import type { GetParameterRequest } from '@aws-sdk/client-ssm';
import { requestObject } from '../aws-error.js';
import type { Handler } from '../server.js';
import type { ParametersByPathInput, PutParameterInput, SsmModel, StoredParameter } from './ssm-model.js';

/** A parameter as GetParameter and GetParametersByPath answer it: without its tier and description. */
function asParameter({ Tier: _tier, Description: _description, ...parameter }: StoredParameter) {
  return parameter;
}

/** The `X-Amz-Target` prefix of SSM (awsJson 1.1). */
export const SSM_TARGET = 'AmazonSSM';

/** The `AmazonSSM.*` operations of Parameter Store the handlers and the CLI use, over `model`. */
export function ssmHandlers(model: SsmModel): Record<string, Handler> {
  return {
    PutParameter: async (input, { region }) =>
      model.putParameter(region, requestObject<PutParameterInput>(input, 'PutParameter')),
    GetParameter: async (input, { region }) => ({
      Parameter: asParameter(
        model.getParameter(region, requestObject<GetParameterRequest>(input, 'GetParameter').Name),
      ),
    }),
    GetParametersByPath: async (input, { region }) => {
      const page = model.getParametersByPath(
        region,
        requestObject<ParametersByPathInput>(input, 'GetParametersByPath'),
      );
      return { Parameters: page.Parameters.map(asParameter), NextToken: page.NextToken };
    },
  };
}
