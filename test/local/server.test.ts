import { ECSClient, ListClustersCommand } from '@aws-sdk/client-ecs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AwsError } from '../../local/aws-error.js';
import { LocalAws } from '../../local/local-aws.js';
import { regionOf, toWire } from '../../local/server.js';
import { clientConfig, startLocal } from './local-aws-fixture.js';

let local: LocalAws;

beforeEach(async () => {
  ({ local } = await startLocal());
});

afterEach(async () => {
  await local.stop();
});

const post = (target: string, body: string, contentType = 'application/x-amz-json-1.1') =>
  fetch(local.endpoint, {
    method: 'POST',
    headers: { 'x-amz-target': target, 'content-type': contentType },
    body,
  });

describe('wire server', () => {
  it('answers an unknown operation with UnknownOperationException and its __type', async () => {
    // Act
    const response = await post('AmazonEC2ContainerServiceV20141113.CreateCapacityProvider', '{}');

    // Assess
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(await response.json()).toEqual({
      __type: 'UnknownOperationException',
      message: 'The local AWS does not implement AmazonEC2ContainerServiceV20141113.CreateCapacityProvider.',
    });
  });

  it('answers a body that is not JSON with SerializationException', async () => {
    const response = await post('AmazonEC2ContainerServiceV20141113.ListClusters', '{not json');
    expect(response.status).toBe(400);
    expect(((await response.json()) as { __type: string }).__type).toBe('SerializationException');
  });

  it('serves mounted services, with the Region of the SigV4 credential scope and AWS errors with their status', async () => {
    // Prepare
    local.mount('AWSStepFunctions', 'awsJson1_0', {
      Echo: async (input, ctx) => ({
        input,
        region: ctx.region,
        accountId: ctx.accountId,
        at: new Date(1_500),
      }),
      Fail: async () => {
        throw new AwsError('ExecutionDoesNotExist', 'no such execution');
      },
      Crash: async () => {
        throw new Error('boom');
      },
    });
    const signed = new ECSClient(clientConfig(local, 'ap-southeast-2'));
    const authorization =
      'AWS4-HMAC-SHA256 Credential=AKID/20261126/eu-central-1/states/aws4_request, SignedHeaders=host, Signature=x';

    // Act
    const echo = await fetch(local.endpoint, {
      method: 'POST',
      headers: { 'x-amz-target': 'AWSStepFunctions.Echo', authorization },
      body: '{"a":1}',
    });
    const fail = await post('AWSStepFunctions.Fail', '{}', 'application/x-amz-json-1.0');
    const crash = await post('AWSStepFunctions.Crash', '{}', 'application/x-amz-json-1.0');
    local.ecs.createCluster('ap-southeast-2', 'sydney');
    local.ecs.createCluster('us-east-1', 'virginia');
    const clusters = await signed.send(new ListClustersCommand({}));

    // Assess
    expect(echo.headers.get('content-type')).toBe('application/x-amz-json-1.0');
    expect(await echo.json()).toEqual({
      input: { a: 1 },
      region: 'eu-central-1',
      accountId: '000000000000',
      at: 1.5,
    });
    expect(fail.status).toBe(400);
    expect(await fail.json()).toEqual({ __type: 'ExecutionDoesNotExist', message: 'no such execution' });
    expect(clusters.clusterArns).toEqual(['arn:aws:ecs:ap-southeast-2:000000000000:cluster/sydney']);
    expect(crash.status).toBe(500);
    expect(((await crash.json()) as { __type: string }).__type).toBe('InternalFailure');
  });

  it('counts the calls of each operation, throttled ones included', async () => {
    // Prepare
    const ecs = new ECSClient(clientConfig(local));
    local.faults.add({ kind: 'throttle', service: 'ecs', operation: 'ListClusters', count: 1 });

    // Act
    await ecs.send(new ListClustersCommand({})).catch(() => undefined);
    await ecs.send(new ListClustersCommand({}));
    const counted = (await (await fetch(`${local.endpoint}/_local/calls`)).json()) as {
      calls: Record<string, number>;
    };

    // Assess
    expect(counted.calls).toEqual({ 'ecs.ListClusters': 2 });
    expect(local.callCounts()).toEqual({ 'ecs.ListClusters': 2 });
  });

  it('says which port is taken when it cannot listen', async () => {
    const port = Number(new URL(local.endpoint).port);
    await expect(LocalAws.start({ port })).rejects.toThrow(`Port ${port} on 127.0.0.1 is in use`);
  });

  it('answers the health check', async () => {
    const response = await fetch(`${local.endpoint}/_local/health`);
    expect(await response.json()).toEqual({ status: 'ok', endpoint: local.endpoint });
  });
});

describe('regionOf and toWire', () => {
  it.each([
    [
      'AWS4-HMAC-SHA256 Credential=AKID/20261126/eu-west-1/ecs/aws4_request, SignedHeaders=x, Signature=y',
      'eu-west-1',
    ],
    [undefined, 'us-east-1'],
    ['Bearer token', 'us-east-1'],
  ])('reads the Region of %s as %s', (header, region) => {
    expect(regionOf(header)).toBe(region);
  });

  it('puts dates as epoch seconds and drops undefined fields', () => {
    expect(toWire({ a: new Date(2_500), b: undefined, c: [{ d: new Date(0) }] })).toEqual({
      a: 2.5,
      c: [{ d: 0 }],
    });
  });
});
