import {
  GetParametersByPathCommand,
  type GetParametersByPathCommandInput,
  type Parameter,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createClients } from '../../../lambdas/shared/clients.js';
import {
  assembleConfig,
  CONFIG_PATH_ENV,
  configParameters,
  loadConfig,
  parseConfig,
} from '../../../lambdas/shared/config.js';
import { ValidationError } from '../../../lambdas/shared/errors.js';
import { parametersPage, serveConfig, TEST_CONFIG_PATH } from './config-parameters.js';
import { environment, testConfig } from './fixtures.js';

const ssm = mockClient(SSMClient);
const PATH = TEST_CONFIG_PATH;

/** The parameters of `testConfig()`, as GetParametersByPath returns them, after `edit`. */
function parameters(edit: (byName: Map<string, unknown>) => void = () => {}): Parameter[] {
  const byName = new Map<string, unknown>(
    configParameters(PATH, testConfig()).map(({ name, value }) => [name, JSON.parse(value)]),
  );
  edit(byName);
  return [...byName].map(([Name, value]) => ({
    Name,
    Type: 'String',
    Value: typeof value === 'string' ? value : JSON.stringify(value),
  }));
}

describe('configParameters and assembleConfig', () => {
  it('writes one global parameter naming the environments in order, and one per environment', () => {
    const written = configParameters(`${PATH}/`, testConfig());
    expect(written.map((parameter) => parameter.name)).toEqual([
      `${PATH}/global`,
      `${PATH}/environments/us`,
      `${PATH}/environments/eu`,
      `${PATH}/environments/au`,
    ]);
    expect(JSON.parse(written[0].value)).toEqual({
      ...testConfig(),
      environments: ['us', 'eu', 'au'],
    });
    expect(JSON.parse(written[2].value)).toEqual(environment('eu'));
  });

  it('assembles the configuration it was split from, whatever order the parameters come in', () => {
    expect(assembleConfig(PATH, parameters().reverse())).toEqual(testConfig());
  });

  it.each([
    {
      case: 'the global parameter is missing',
      edit: (byName: Map<string, unknown>) => byName.delete(`${PATH}/global`),
      message:
        /^Parameter \/stepdeploy\/test-orchestrator\/global was not found under \/stepdeploy\/test-orchestrator \(STEPDEPLOY_CONFIG_PATH\); deploy the stack/,
    },
    {
      case: 'an environment it names is missing',
      edit: (byName: Map<string, unknown>) => byName.delete(`${PATH}/environments/eu`),
      message: /^Parameter \/stepdeploy\/test-orchestrator\/environments\/eu was not found/,
    },
    {
      case: 'a field of an environment is wrong',
      edit: (byName: Map<string, unknown>) =>
        byName.set(`${PATH}/environments/au`, { ...environment('au'), launchType: 'LAMBDA' }),
      message: /^Parameter \/stepdeploy\/test-orchestrator\/environments\/au, field launchType: /,
    },
    {
      case: 'an environment sets both a launch type and a capacity provider strategy',
      edit: (byName: Map<string, unknown>) =>
        byName.set(`${PATH}/environments/au`, {
          ...environment('au'),
          capacityProviderStrategy: [{ capacityProvider: 'FARGATE_SPOT' }],
        }),
      message:
        /^Parameter \/stepdeploy\/test-orchestrator\/environments\/au, field launchType: set exactly one of launchType and capacityProviderStrategy/,
    },
    {
      case: 'an environment sets neither a launch type nor a capacity provider strategy',
      edit: (byName: Map<string, unknown>) =>
        byName.set(`${PATH}/environments/au`, { ...environment('au'), launchType: undefined }),
      message:
        /environments\/au, field launchType: set exactly one of launchType and capacityProviderStrategy/,
    },
    {
      case: 'a nested field of an environment is wrong',
      edit: (byName: Map<string, unknown>) => {
        const us = environment('us');
        byName.set(`${PATH}/environments/us`, {
          ...us,
          services: [{ ...us.services[0], containerPort: 70000 }],
        });
      },
      message:
        /^Parameter \/stepdeploy\/test-orchestrator\/environments\/us, field services\[0\]\.containerPort: /,
    },
    {
      case: 'a global field is wrong',
      edit: (byName: Map<string, unknown>) =>
        byName.set(`${PATH}/global`, { ...(byName.get(`${PATH}/global`) as object), pollSeconds: -1 }),
      message: /^Parameter \/stepdeploy\/test-orchestrator\/global, field pollSeconds: /,
    },
    {
      case: 'a parameter is not JSON',
      edit: (byName: Map<string, unknown>) => byName.set(`${PATH}/global`, '{"steps":'),
      message: /^Parameter \/stepdeploy\/test-orchestrator\/global is not valid JSON/,
    },
    {
      case: 'an environment parameter configures another environment',
      edit: (byName: Map<string, unknown>) => byName.set(`${PATH}/environments/eu`, environment('au')),
      message:
        /^Parameter \/stepdeploy\/test-orchestrator\/environments\/eu configures environment 'au'; it must configure 'eu'/,
    },
  ])('refuses the parameters when $case, naming the parameter', ({ edit, message }) => {
    expect(() => assembleConfig(PATH, parameters(edit))).toThrow(ValidationError);
    expect(() => assembleConfig(PATH, parameters(edit))).toThrow(message);
  });

  it('leaves out an environment the global parameter does not name', () => {
    const extra = parameters((byName) => byName.set(`${PATH}/environments/old`, environment('old')));
    expect(assembleConfig(PATH, extra).environments.map((env) => env.name)).toEqual(['us', 'eu', 'au']);
  });

  it('still parses a whole configuration given as JSON, naming a bad field', () => {
    expect(parseConfig(JSON.stringify(testConfig()))).toEqual(testConfig());
    expect(() => parseConfig(JSON.stringify({ ...testConfig(), watchSeconds: 0 }))).toThrow(
      /^configuration\.watchSeconds: /,
    );
  });
});

describe('loadConfig', () => {
  const saved = { path: process.env[CONFIG_PATH_ENV], region: process.env.AWS_REGION };

  beforeEach(() => {
    ssm.reset();
    process.env.AWS_REGION = 'eu-west-1';
  });

  afterEach(() => {
    process.env[CONFIG_PATH_ENV] = saved.path;
    process.env.AWS_REGION = saved.region;
    if (saved.path === undefined) delete process.env[CONFIG_PATH_ENV];
    if (saved.region === undefined) delete process.env.AWS_REGION;
  });

  it('reads every page of the path recursively, in the Region of the function', async () => {
    // Prepare: 22 environments take three pages of 10.
    const names = Array.from({ length: 22 }, (_, index) => `env${index}`);
    const config = testConfig({ environments: names.map((name) => environment(name)) });
    serveConfig(ssm, config);
    const clients = createClients({ ssm: SSMClient });

    // Act
    const loaded = await loadConfig(clients);

    // Assess
    expect(loaded).toEqual(config);
    expect(ssm).toHaveReceivedCommandTimes(GetParametersByPathCommand, 3);
    expect(ssm).toHaveReceivedNthCommandWith(GetParametersByPathCommand, 1, {
      Path: PATH,
      Recursive: true,
      MaxResults: 10,
    });
    expect(ssm).toHaveReceivedNthCommandWith(GetParametersByPathCommand, 3, { NextToken: '20' });
    const region = await ssm.commandCalls(GetParametersByPathCommand)[0].thisValue.config.region();
    expect(region).toBe('eu-west-1');
  });

  it('reads once per client and path, and again for the clients of another endpoint', async () => {
    // Prepare
    serveConfig(ssm, testConfig());
    const clients = createClients({ ssm: SSMClient });

    // Act
    const first = await loadConfig(clients);
    const again = await loadConfig(clients);
    const other = await loadConfig(createClients({ ssm: SSMClient }));

    // Assess
    expect(again).toBe(first);
    expect(other).toEqual(first);
    expect(ssm).toHaveReceivedCommandTimes(GetParametersByPathCommand, 2);
  });

  it('reads again after a failed read instead of keeping the failure', async () => {
    // Prepare
    process.env[CONFIG_PATH_ENV] = PATH;
    const served = parameters();
    let calls = 0;
    ssm.on(GetParametersByPathCommand).callsFake((input: GetParametersByPathCommandInput) => {
      calls += 1;
      if (calls === 1) throw new Error('Rate exceeded');
      return parametersPage(served, input);
    });
    const clients = createClients({ ssm: SSMClient });

    // Act
    const failed = loadConfig(clients);

    // Assess
    await expect(failed).rejects.toThrow('Rate exceeded');
    await expect(loadConfig(clients)).resolves.toEqual(testConfig());
  });

  it('names the missing variable when the path is not set, without calling SSM', async () => {
    delete process.env[CONFIG_PATH_ENV];
    await expect(loadConfig(createClients({ ssm: SSMClient }))).rejects.toThrow(
      /^STEPDEPLOY_CONFIG_PATH is not set/,
    );
    expect(ssm).not.toHaveReceivedAnyCommand();
  });

  it('names the parameter that is missing under the path', async () => {
    serveConfig(ssm, testConfig(), '/stepdeploy/other');
    process.env[CONFIG_PATH_ENV] = '/stepdeploy/missing';
    await expect(loadConfig(createClients({ ssm: SSMClient }))).rejects.toThrow(
      /^Parameter \/stepdeploy\/missing\/global was not found under \/stepdeploy\/missing/,
    );
  });
});
