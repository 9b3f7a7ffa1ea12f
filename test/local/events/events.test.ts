import {
  DescribeRuleCommand,
  type EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
} from '@aws-sdk/client-eventbridge';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { matchesPattern } from '../../../local/events/event-pattern.js';
import type { BusEvent } from '../../../local/events/events-model.js';
import type { LocalAws } from '../../../local/local-aws.js';
import { startLocal } from '../local-aws-fixture.js';

let local: LocalAws;
let events: EventBridgeClient;

beforeEach(async () => {
  ({ local, events } = await startLocal({}, 'eu-west-1'));
});

afterEach(async () => {
  await local.stop();
});

const statusChange = (status: string, stateMachineArn: string): BusEvent => ({
  version: '0',
  id: `event-${status}`,
  'detail-type': 'Step Functions Execution Status Change',
  source: 'aws.states',
  account: '000000000000',
  time: new Date().toISOString(),
  region: 'eu-west-1',
  resources: [`${stateMachineArn.replace(':stateMachine:', ':execution:')}:run-1`],
  detail: {
    status,
    stateMachineArn,
    executionArn: 'arn:aws:states:eu-west-1:000000000000:execution:sm:run-1',
  },
});

describe('PutEvents', () => {
  it('keeps every entry with an EventId and lists it on /_local/events', async () => {
    // Act
    const output = await events.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: 'stepdeploy',
            DetailType: 'Release Succeeded',
            Detail: JSON.stringify({ release: 'r1' }),
          },
          {
            Source: 'stepdeploy',
            DetailType: 'Release Failed',
            Detail: JSON.stringify({ release: 'r2' }),
            Time: new Date('2026-11-26T12:00:00Z'),
          },
        ],
      }),
    );
    const listed = (await (await fetch(`${local.endpoint}/_local/events`)).json()) as { events: BusEvent[] };

    // Assess
    expect(output.FailedEntryCount).toBe(0);
    expect(output.Entries?.map((entry) => entry.EventId)).toEqual(listed.events.map((event) => event.id));
    expect(listed.events).toMatchObject([
      {
        source: 'stepdeploy',
        'detail-type': 'Release Succeeded',
        detail: { release: 'r1' },
        region: 'eu-west-1',
      },
      {
        source: 'stepdeploy',
        'detail-type': 'Release Failed',
        detail: { release: 'r2' },
        time: '2026-11-26T12:00:00.000Z',
      },
    ]);
  });

  it('puts an entry addressed by bus ARN on that bus, where its rules see it', async () => {
    // Prepare
    await events.send(
      new PutRuleCommand({ Name: 'announcements', EventPattern: JSON.stringify({ source: ['stepdeploy'] }) }),
    );
    const delivered: string[] = [];
    local.events.addTarget('announcements', async (event) => {
      delivered.push(event['detail-type']);
    });

    // Act
    await events.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: 'stepdeploy',
            DetailType: 'Release Succeeded',
            Detail: '{}',
            EventBusName: 'arn:aws:events:eu-west-1:000000000000:event-bus/default',
          },
        ],
      }),
    );
    await local.events.settle();

    // Assess
    expect(delivered).toEqual(['Release Succeeded']);
    expect(local.events.list()[0]?.eventBusName).toBe('default');
  });

  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevents.html: a failed entry is
  // answered with ErrorCode and ErrorMessage and counted in FailedEntryCount; the others are put,
  // and the call does not fail. InternalFailure is retryable
  // (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsResultEntry.html).
  it('answers a failed entry in FailedEntryCount with its ErrorCode, puts the others, and does not throw', async () => {
    // Prepare
    local.faults.add({ kind: 'put-events-entry-failure', detailType: 'Release Failed', count: 1 });

    // Act
    const output = await events.send(
      new PutEventsCommand({
        Entries: [
          { Source: 'stepdeploy', DetailType: 'Release Failed', Detail: '{"release":"r1"}' },
          { Source: 'stepdeploy', DetailType: 'Release Succeeded', Detail: '{"release":"r2"}' },
        ],
      }),
    );

    // Assess
    expect(output.FailedEntryCount).toBe(1);
    expect(output.Entries).toEqual([
      { ErrorCode: 'InternalFailure', ErrorMessage: expect.stringContaining('Release Failed') },
      { EventId: expect.any(String) },
    ]);
    expect(local.events.list().map((event) => event['detail-type'])).toEqual(['Release Succeeded']);
  });

  it('rejects an entry whose Detail is not JSON', async () => {
    await expect(
      events.send(new PutEventsCommand({ Entries: [{ Source: 's', DetailType: 'd', Detail: 'not json' }] })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  });
});

describe('rules', () => {
  // A Lambda target may get the same event more than once: Lambda's asynchronous queue "is eventually
  // consistent" (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
  // A duplicate-delivery fault delivers an event twice, both at once.
  it('delivers an event twice to each target under a duplicate-delivery fault', async () => {
    // Prepare
    const stateMachineArn = 'arn:aws:states:eu-west-1:000000000000:stateMachine:sm';
    await events.send(
      new PutRuleCommand({
        Name: 'cleanup',
        EventPattern: JSON.stringify({ source: ['aws.states'], detail: { status: ['ABORTED'] } }),
      }),
    );
    const seen: string[] = [];
    local.events.addTarget('cleanup', async (event) => {
      seen.push(event.id);
    });
    local.faults.add({
      kind: 'duplicate-delivery',
      detailType: 'Step Functions Execution Status Change',
      count: 1,
    });

    // Act
    local.events.emit(statusChange('ABORTED', stateMachineArn));
    local.events.emit({ ...statusChange('ABORTED', stateMachineArn), id: 'event-again' });
    await local.events.settle();

    // Assess
    expect(seen).toEqual(['event-ABORTED', 'event-ABORTED', 'event-again']);
  });

  it('calls the targets of a rule whose pattern matches an emitted event, and no others', async () => {
    // Prepare
    const stateMachineArn = 'arn:aws:states:eu-west-1:000000000000:stateMachine:sm';
    const pattern = {
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { status: ['ABORTED', 'TIMED_OUT', 'FAILED'], stateMachineArn: [stateMachineArn] },
    };
    const created = await events.send(
      new PutRuleCommand({ Name: 'cleanup', EventPattern: JSON.stringify(pattern), State: 'ENABLED' }),
    );
    const delivered: string[] = [];
    local.events.addTarget('cleanup', async (event) => {
      delivered.push((event.detail as { status: string }).status);
    });

    // Act
    local.events.emit(statusChange('SUCCEEDED', stateMachineArn));
    local.events.emit(statusChange('ABORTED', stateMachineArn));
    local.events.emit(statusChange('FAILED', 'arn:aws:states:eu-west-1:000000000000:stateMachine:other'));
    await local.events.settle();
    const rule = await events.send(new DescribeRuleCommand({ Name: 'cleanup' }));

    // Assess
    expect(created.RuleArn).toBe('arn:aws:events:eu-west-1:000000000000:rule/cleanup');
    expect(delivered).toEqual(['ABORTED']);
    expect(rule).toMatchObject({ Name: 'cleanup', State: 'ENABLED', EventPattern: JSON.stringify(pattern) });
  });
});

describe('matchesPattern', () => {
  const event = {
    source: 'aws.states',
    detail: { status: 'FAILED', executionArn: 'arn:aws:states:us-east-1:1:execution:sm:x', tags: ['a', 'b'] },
  };

  it.each([
    [{ source: ['aws.states'] }, true],
    [{ source: ['aws.ecs', 'aws.states'] }, true],
    [{ source: ['aws.ecs'] }, false],
    [{ detail: { status: ['FAILED'] } }, true],
    [{ detail: { status: ['ABORTED'] } }, false],
    [{ detail: { executionArn: [{ prefix: 'arn:aws:states:us-east-1:' }] } }, true],
    [{ detail: { executionArn: [{ prefix: 'arn:aws:states:eu-west-1:' }] } }, false],
    [{ detail: { tags: ['b'] } }, true],
    [{ detail: { missing: [{ exists: false }] } }, true],
    [{ detail: { status: [{ 'anything-but': ['SUCCEEDED'] }] } }, true],
    [{ detail: { nested: { deeper: ['x'] } } }, false],
  ])('pattern %j matches: %s', (pattern, expected) => {
    expect(matchesPattern(pattern, event)).toBe(expected);
  });
});
