import { randomUUID } from 'node:crypto';
import type { PutEventsRequestEntry, PutRuleRequest } from '@aws-sdk/client-eventbridge';
import { AwsError, required } from '../aws-error.js';
import { Faults } from '../faults.js';
import { ACCOUNT_ID } from '../server.js';
import { matchesPattern } from './event-pattern.js';

/** An event as EventBridge delivers it to targets (and as `GET /_local/events` lists it). */
export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
  /** The bus it was put on (not part of AWS's envelope; kept for tests). */
  eventBusName?: string;
}

/** A rule of one Region's bus. */
export interface Rule {
  name: string;
  arn: string;
  region: string;
  eventBusName: string;
  eventPattern?: string;
  state: 'ENABLED' | 'DISABLED';
  description?: string;
}

/** What a rule calls for each matching event. */
export type RuleTarget = (event: BusEvent) => Promise<void>;

/**
 * EventBridge of the local AWS: PutEvents keeps every event (for tests and the demo),
 * rules match them with their event pattern and call the targets registered in process.
 * Faults make it deliver an event twice (`duplicate-delivery`) or fail PutEvents entries
 * (`put-events-entry-failure`).
 */
export class EventsModel {
  /** @param faults the fault injection in force (`duplicate-delivery`, `put-events-entry-failure`). */
  constructor(private readonly faults: Faults = new Faults()) {}

  private readonly events: BusEvent[] = [];
  private readonly rules = new Map<string, Rule>();
  private readonly targets = new Map<string, RuleTarget[]>();
  private readonly deliveries = new Set<Promise<void>>();

  /** Called with a target's error; the event is still kept (EventBridge would retry, then drop). */
  onTargetError: (rule: Rule, event: BusEvent, error: unknown) => void = (rule, event, error) => {
    process.stderr.write(
      `local AWS: target of rule ${rule.name} failed on event ${event.id}: ${String(error)}\n`,
    );
  };

  /** Every event put or emitted so far, oldest first. */
  list(): BusEvent[] {
    return [...this.events];
  }

  /** Creates or updates a rule. */
  putRule(region: string, request: PutRuleRequest): Rule {
    const name = required(request.Name, 'Name', 'ValidationException');
    const eventBusName = busName(request.EventBusName);
    if (!request.EventPattern && !request.ScheduleExpression) {
      throw new AwsError(
        'ValidationException',
        `Rule ${name} needs an EventPattern or a ScheduleExpression.`,
      );
    }
    if (request.EventPattern) {
      try {
        matchesPattern(JSON.parse(request.EventPattern), {});
      } catch (error) {
        throw new AwsError(
          'InvalidEventPatternException',
          `Event pattern of rule ${name} is invalid: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
    const rule: Rule = {
      name,
      arn: `arn:aws:events:${region}:${ACCOUNT_ID}:rule/${eventBusName === 'default' ? '' : `${eventBusName}/`}${name}`,
      region,
      eventBusName,
      eventPattern: request.EventPattern,
      state: request.State === 'DISABLED' ? 'DISABLED' : 'ENABLED',
      description: request.Description,
    };
    this.rules.set(ruleKey(region, eventBusName, name), rule);
    return rule;
  }

  /** The rule, or `ResourceNotFoundException`. */
  rule(region: string, name: string, bus?: string): Rule {
    const eventBusName = busName(bus);
    const rule = this.rules.get(ruleKey(region, eventBusName, name));
    if (!rule)
      throw new AwsError('ResourceNotFoundException', `Rule ${name} does not exist on bus ${eventBusName}.`);
    return rule;
  }

  /** The rules of a Region's bus, by name prefix. */
  listRules(region: string, namePrefix = '', bus?: string): Rule[] {
    const eventBusName = busName(bus);
    return [...this.rules.values()].filter(
      (rule) =>
        rule.region === region && rule.eventBusName === eventBusName && rule.name.startsWith(namePrefix),
    );
  }

  /** Deletes a rule and its targets. */
  deleteRule(region: string, name: string, bus?: string): void {
    const eventBusName = busName(bus);
    const key = ruleKey(region, eventBusName, name);
    this.rules.delete(key);
    this.targets.delete(name);
  }

  /** Calls `target` for every later event that the rule `ruleName` (of any Region) matches. */
  addTarget(ruleName: string, target: RuleTarget): void {
    this.targets.set(ruleName, [...(this.targets.get(ruleName) ?? []), target]);
  }

  /**
   * PutEvents: keeps each entry as an event and delivers it to matching rules. An entry a
   * fault fails is answered with `ErrorCode` and `ErrorMessage` and counted in
   * `FailedEntryCount`; the call itself succeeds, as EventBridge's does.
   */
  putEvents(region: string, entries: PutEventsRequestEntry[]) {
    let failed = 0;
    const results = entries.map((entry) => {
      let detail: unknown;
      try {
        detail = JSON.parse(required(entry.Detail, 'Entries[].Detail', 'ValidationException'));
      } catch (error) {
        if (error instanceof AwsError) throw error;
        throw new AwsError('ValidationException', `Entries[].Detail is not valid JSON: ${entry.Detail}.`);
      }
      const detailType = required(entry.DetailType, 'Entries[].DetailType', 'ValidationException');
      const source = required(entry.Source, 'Entries[].Source', 'ValidationException');
      const fault = this.faults.take(
        'put-events-entry-failure',
        (f) =>
          (f.source === undefined || f.source === source) &&
          (f.detailType === undefined || f.detailType === detailType),
      );
      if (fault) {
        failed += 1;
        const errorCode = fault.errorCode ?? 'InternalFailure';
        return {
          ErrorCode: errorCode,
          ErrorMessage: `The entry "${detailType}" from ${source} was not put (${errorCode}, injected by a local AWS fault).`,
        };
      }
      const event = this.emit({
        version: '0',
        id: randomUUID(),
        'detail-type': detailType,
        source,
        account: ACCOUNT_ID,
        time: (entry.Time === undefined
          ? new Date()
          : new Date(entry.Time instanceof Date ? entry.Time : Number(entry.Time) * 1000)
        ).toISOString(),
        region,
        resources: entry.Resources ?? [],
        detail,
        eventBusName: busName(entry.EventBusName),
      });
      return { EventId: event.id };
    });
    return { FailedEntryCount: failed, Entries: results };
  }

  /**
   * Puts an event on its Region's bus as an AWS service would (Step Functions status
   * changes): keeps it and calls the targets of every enabled rule it matches, without
   * waiting for them (`settle()` waits). A `duplicate-delivery` fault delivers it twice.
   */
  emit(event: BusEvent): BusEvent {
    this.events.push(event);
    const bus = event.eventBusName ?? 'default';
    const copies = this.faults.take(
      'duplicate-delivery',
      (fault) => fault.detailType === undefined || fault.detailType === event['detail-type'],
    )
      ? 2
      : 1;
    for (const rule of this.rules.values()) {
      if (rule.region !== event.region || rule.eventBusName !== bus || rule.state !== 'ENABLED') continue;
      if (!rule.eventPattern || !matchesPattern(JSON.parse(rule.eventPattern), stripBus(event))) continue;
      for (const target of this.targets.get(rule.name) ?? []) {
        for (let copy = 0; copy < copies; copy += 1) {
          const delivery = target(stripBus(event))
            .catch((error: unknown) => this.onTargetError(rule, event, error))
            .finally(() => this.deliveries.delete(delivery));
          this.deliveries.add(delivery);
        }
      }
    }
    return event;
  }

  /** Resolves when every delivery started so far has finished. */
  async settle(): Promise<void> {
    while (this.deliveries.size > 0) await Promise.all([...this.deliveries]);
  }
}

/** A bus name from a name or an ARN (`arn:aws:events:<region>:<account>:event-bus/<name>`); `default` when absent. */
export function busName(nameOrArn: string | undefined): string {
  if (!nameOrArn) return 'default';
  const arn = /^arn:aws[a-z-]*:events:[^:]*:\d{12}:event-bus\/(.+)$/.exec(nameOrArn);
  return arn ? arn[1] : nameOrArn;
}

const ruleKey = (region: string, bus: string, name: string) => `${region}|${bus}|${name}`;

function stripBus(event: BusEvent): BusEvent {
  const { eventBusName: _bus, ...envelope } = event;
  return envelope;
}
