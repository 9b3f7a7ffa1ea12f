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
  extra: Partial<{ Tier: 'Standard' | 'Advanced' | 'Intelligent-Tiering'; Overwrite: boolean }> = {},
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

  // https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html (Tier):
  // an Advanced parameter cannot revert to Standard; the error text is the one
  // hashicorp/terraform-provider-aws quotes in internal/service/ssm/parameter.go.
  it('never takes an Advanced parameter back to Standard: refused when asked, kept by Intelligent-Tiering', async () => {
    // Prepare
    await put('/app/tier/shrinks', 'x'.repeat(5000), { Tier: 'Intelligent-Tiering' });

    // Act
    const downgrade = await put('/app/tier/shrinks', 'small', { Tier: 'Standard', Overwrite: true }).catch(
      (error: unknown) => error,
    );
    const intelligent = await put('/app/tier/shrinks', 'small', {
      Tier: 'Intelligent-Tiering',
      Overwrite: true,
    });

    // Assess
    expect(downgrade).toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(
        /This parameter uses the advanced-parameter tier\. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier\./,
      ),
    });
    expect(intelligent).toEqual(expect.objectContaining({ Version: 2, Tier: 'Advanced' }));
  });

  // https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html:
  // Intelligent-Tiering stores a value in Standard unless it needs Advanced, and upgrades on growth.
  it('puts an Intelligent-Tiering value in Standard while it fits, and upgrades it when it grows', async () => {
    const small = await put('/app/tier/grows', 'small', { Tier: 'Intelligent-Tiering' });
    const grown = await put('/app/tier/grows', 'x'.repeat(4097), {
      Tier: 'Intelligent-Tiering',
      Overwrite: true,
    });

    expect(small.Tier).toBe('Standard');
    expect(grown.Tier).toBe('Advanced');
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
