import {
  GetParameterCommand,
  GetParametersByPathCommand,
  ParameterAlreadyExists,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalAws } from '../../../local/local-aws.js';
import { clientConfig, startLocal } from '../local-aws-fixture.js';

let local: LocalAws;
let ssm: SSMClient;

beforeAll(async () => {
  ({ local } = await startLocal());
  ssm = new SSMClient(clientConfig(local, 'eu-west-1'));
});

afterAll(async () => {
  ssm.destroy();
  await local.stop();
});

async function put(
  name: string,
  value: string,
  extra: Partial<{ Tier: 'Advanced'; Overwrite: boolean }> = {},
) {
  return ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'String', ...extra }));
}

describe('local SSM Parameter Store through the SDK', () => {
  it('stores a parameter and returns it with its version and ARN', async () => {
    // Act
    const created = await put('/app/one/name', 'first');
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: '/app/one/name' }));

    // Assess
    expect(created).toMatchObject({ Version: 1, Tier: 'Standard' });
    expect(Parameter).toMatchObject({
      Name: '/app/one/name',
      Type: 'String',
      Value: 'first',
      Version: 1,
      ARN: 'arn:aws:ssm:eu-west-1:000000000000:parameter/app/one/name',
    });
    expect(Parameter?.LastModifiedDate).toBeInstanceOf(Date);
  });

  it('refuses to replace a parameter without Overwrite, and versions it with', async () => {
    await put('/app/two/name', 'first');
    await expect(put('/app/two/name', 'second')).rejects.toThrow(ParameterAlreadyExists);
    await expect(put('/app/two/name', 'second', { Overwrite: true })).resolves.toMatchObject({ Version: 2 });
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: '/app/two/name' }));
    expect(Parameter?.Value).toBe('second');
  });

  it('answers ParameterNotFound for a name it does not have, and keeps Regions apart', async () => {
    await put('/app/regional', 'eu');
    const us = new SSMClient(clientConfig(local, 'us-east-1'));
    try {
      await expect(us.send(new GetParameterCommand({ Name: '/app/regional' }))).rejects.toThrow(
        ParameterNotFound,
      );
    } finally {
      us.destroy();
    }
  });

  it('keeps a Standard parameter to 4096 characters and an Advanced one to 8192', async () => {
    await expect(put('/app/big/standard', 'x'.repeat(4097))).rejects.toThrow(
      /maximum parameter value of 4096 characters/,
    );
    await expect(put('/app/big/advanced', 'x'.repeat(8192), { Tier: 'Advanced' })).resolves.toMatchObject({
      Tier: 'Advanced',
    });
    await expect(put('/app/big/too-big', 'x'.repeat(8193), { Tier: 'Advanced' })).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });

  it('lists a path page by page, its children only unless recursive', async () => {
    // Prepare: 12 environments and a global parameter under one path, and a neighbour path.
    const path = '/stepdeploy/machine';
    await put(`${path}/global`, '{}');
    for (let index = 0; index < 12; index += 1) {
      await put(`${path}/environments/env${String(index).padStart(2, '0')}`, `{"n":${index}}`);
    }
    await put('/stepdeploy/machine-other/global', '{}');

    // Act
    const pages: string[][] = [];
    let NextToken: string | undefined;
    do {
      const page = await ssm.send(
        new GetParametersByPathCommand({ Path: path, Recursive: true, MaxResults: 5, NextToken }),
      );
      pages.push((page.Parameters ?? []).map((parameter) => String(parameter.Name)));
      NextToken = page.NextToken;
    } while (NextToken);
    const children = await ssm.send(new GetParametersByPathCommand({ Path: `${path}/` }));

    // Assess
    expect(pages.map((page) => page.length)).toEqual([5, 5, 3]);
    expect(pages.flat()).toEqual([
      ...Array.from(
        { length: 12 },
        (_, index) => `${path}/environments/env${String(index).padStart(2, '0')}`,
      ),
      `${path}/global`,
    ]);
    expect(children.Parameters?.map((parameter) => parameter.Name)).toEqual([`${path}/global`]);
  });

  it('refuses more than 10 results a page, a relative path and a token it did not issue', async () => {
    await expect(
      ssm.send(new GetParametersByPathCommand({ Path: '/stepdeploy', MaxResults: 11 })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(ssm.send(new GetParametersByPathCommand({ Path: 'stepdeploy' }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await expect(
      ssm.send(new GetParametersByPathCommand({ Path: '/stepdeploy', NextToken: 'not-ours' })),
    ).rejects.toMatchObject({ name: 'InvalidNextToken' });
  });
});
