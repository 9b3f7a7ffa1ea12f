import { getDenialReasons, type RequestAnalysis, runSimulation } from '@cloud-copilot/iam-simulate';
import { AwsError } from '../aws-error.js';
import type { LocalClock } from '../clock.js';
import { ACCOUNT_ID } from '../server.js';
import type { Caller } from '../sts/sts-model.js';
import { type AttachedPolicy, type IamModel, type PolicyDocument, statementsOf } from './iam-model.js';
import { type AccessCheck, OPERATION_ACCESS, type ResourceLookups } from './operations.js';

/** The engine's answer to one check. */
export interface Decision {
  allowed: boolean;
  /** A Deny statement matched (AWS then says "with an explicit deny"). */
  explicit: boolean;
  /** Why, in the engine's terms: the statements that matched, or why none did. */
  reason: string;
}

/** A call the authorizer refused. */
export interface DeniedCall {
  /** `<service>.<Operation>` or `lambda.Invoke`. */
  operation: string;
  action: string;
  resource: string;
  reason: string;
  /** ISO 8601, local clock. */
  time: string;
}

/** What `GET /_local/iam` answers. */
export interface IamReport {
  enabled: boolean;
  /** Per principal ARN: how many calls were allowed, and every denied one. */
  principals: Record<string, { allowed: number; denied: DeniedCall[] }>;
  /** Per role ARN: the actions its sessions were allowed, and the actions its policies grant. */
  roles: Record<string, { used: string[]; granted: string[] }>;
}

/** Who invokes a Lambda function: a role (Step Functions), or a service under a resource-based policy. */
export type InvokeCaller =
  | { kind: 'role'; roleArn: string; sessionName: string }
  | { kind: 'service'; servicePrincipal: string; sourceArn: string };

/**
 * "User: <principal> is not authorized to perform: <action> on resource: <resource>
 * because no identity-based policy allows the <action> action", as ECS, CodeDeploy, Logs,
 * Step Functions, EventBridge, SSM and Lambda word an AccessDeniedException.
 */
export function accessDeniedMessage(principalArn: string, check: AccessCheck, explicit: boolean): string {
  const why = explicit
    ? 'with an explicit deny in an identity-based policy'
    : `because no identity-based policy allows the ${check.action} action`;
  return `User: ${principalArn} is not authorized to perform: ${check.action} on resource: ${check.resource} ${why}`;
}

const ALLOWED: Decision = { allowed: true, explicit: false, reason: 'administrator' };

/**
 * Evaluates requests against the policies of the caller's role with
 * @cloud-copilot/iam-simulate, and keeps a record per principal of what it allowed and
 * refused. Callers that are not role sessions act as the account's administrator.
 */
export class Authorizer {
  private readonly records = new Map<string, { allowed: number; denied: DeniedCall[] }>();
  private readonly used = new Map<string, Set<string>>();

  constructor(
    private readonly deps: {
      iam: IamModel;
      lookups: ResourceLookups;
      clock: LocalClock;
      /** Off: every call is allowed and nothing is recorded. */
      enabled: boolean;
    },
  ) {}

  /** Whether requests are evaluated at all. */
  get enabled(): boolean {
    return this.deps.enabled;
  }

  /**
   * Authorizes one API call: every check of its row in the operation table must be
   * allowed. Throws the AccessDeniedException AWS answers for the first one that is not.
   */
  async authorizeCall(
    caller: Caller,
    service: string,
    operation: string,
    input: unknown,
    region: string,
  ): Promise<void> {
    if (!this.deps.enabled || caller.kind !== 'role') return;
    const name = `${service}.${operation}`;
    const row = OPERATION_ACCESS[name];
    const principal = caller.session.principalArn;
    if (!row) {
      const check = { action: `${service}:${operation}`, resource: '*' };
      this.deny(
        principal,
        name,
        check,
        `the local AWS has no IAM mapping for ${name}: add a row to OPERATION_ACCESS`,
      );
      throw new AwsError('AccessDeniedException', accessDeniedMessage(principal, check, false));
    }
    const body = input !== null && typeof input === 'object' ? (input as Record<string, unknown>) : {};
    const checks = row.checks(body, { region, accountId: ACCOUNT_ID, lookups: this.deps.lookups });
    for (const check of checks) {
      const decision = await this.evaluateRole(caller.session.roleArn, principal, check, region);
      if (!decision.allowed) {
        this.deny(principal, name, check, decision.reason);
        throw new AwsError('AccessDeniedException', accessDeniedMessage(principal, check, decision.explicit));
      }
    }
    this.allow(principal, caller.session.roleArn, checks);
  }

  /**
   * Authorizes `lambda:InvokeFunction` on `functionArn`: for a role, against its
   * identity-based policies; for a service (EventBridge), against the function's
   * resource-based policy with the source ARN of the rule.
   */
  async authorizeInvoke(caller: InvokeCaller, functionArn: string, region: string): Promise<Decision> {
    if (!this.deps.enabled) return ALLOWED;
    const check: AccessCheck = { action: 'lambda:InvokeFunction', resource: functionArn };
    if (caller.kind === 'role') {
      const roleName = caller.roleArn.slice(caller.roleArn.lastIndexOf('/') + 1);
      const principal = `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${roleName}/${caller.sessionName}`;
      const decision = await this.evaluateRole(caller.roleArn, principal, check, region);
      if (decision.allowed) this.allow(principal, caller.roleArn, [check]);
      else this.deny(principal, 'lambda.Invoke', check, decision.reason);
      return decision;
    }
    const unqualified = functionArn.replace(/^(arn:[^:]+:lambda:[^:]+:\d+:function:[^:]+):.*$/, '$1');
    const resourcePolicy = this.deps.iam.functionPolicy(unqualified);
    const decision = resourcePolicy
      ? await this.simulate(caller.servicePrincipal, check, [], resourcePolicy, {
          'aws:SourceArn': caller.sourceArn,
          'aws:SourceAccount': ACCOUNT_ID,
        })
      : { allowed: false, explicit: false, reason: `${unqualified} has no resource-based policy` };
    if (decision.allowed) this.allow(caller.servicePrincipal, undefined, [check]);
    else this.deny(caller.servicePrincipal, 'lambda.Invoke', check, decision.reason);
    return decision;
  }

  /**
   * Authorizes sts:AssumeRole of `roleArn` by a role session: its identity-based policies
   * and the role's trust policy must allow it.
   */
  async authorizeAssumeRole(caller: Caller, roleArn: string, region: string): Promise<Decision> {
    if (!this.deps.enabled || caller.kind !== 'role') return ALLOWED;
    const check: AccessCheck = { action: 'sts:AssumeRole', resource: roleArn };
    const trust = this.deps.iam.role(roleArn)?.trustPolicy;
    const principal = caller.session.principalArn;
    const { policies } = this.deps.iam.policiesOf(caller.session.roleName);
    const decision = trust
      ? await this.simulate(
          principal,
          check,
          policies,
          trust,
          this.globalKeys(caller.session.roleArn, region),
        )
      : { allowed: false, explicit: false, reason: `${roleArn} is not a role of the local AWS` };
    if (decision.allowed) this.allow(principal, caller.session.roleArn, [check]);
    else this.deny(principal, 'sts.AssumeRole', check, decision.reason);
    return decision;
  }

  /** Per principal, the allowed count and the denied calls; per role, used and granted actions. */
  report(): IamReport {
    const roles: IamReport['roles'] = {};
    for (const role of this.deps.iam.listRoles()) {
      const granted = new Set<string>();
      for (const { document } of this.deps.iam.policiesOf(role.name).policies) {
        for (const statement of statementsOf(document)) {
          if (statement.Effect !== 'Allow') continue;
          const actions = statement.Action;
          for (const action of Array.isArray(actions) ? actions : [actions]) {
            if (typeof action === 'string') granted.add(action);
          }
        }
      }
      roles[role.arn] = { used: [...(this.used.get(role.arn) ?? [])].sort(), granted: [...granted].sort() };
    }
    return {
      enabled: this.deps.enabled,
      principals: Object.fromEntries(
        [...this.records].map(([principal, record]) => [
          principal,
          { allowed: record.allowed, denied: [...record.denied] },
        ]),
      ),
      roles,
    };
  }

  /** Every denied call so far, with its principal. */
  denials(): Array<DeniedCall & { principal: string }> {
    return [...this.records].flatMap(([principal, record]) =>
      record.denied.map((denied) => ({ principal, ...denied })),
    );
  }

  private async evaluateRole(
    roleArn: string,
    principal: string,
    check: AccessCheck,
    region: string,
  ): Promise<Decision> {
    const role = this.deps.iam.role(roleArn);
    if (!role)
      return { allowed: false, explicit: false, reason: `${roleArn} is not a role of the local AWS` };
    const { policies, unknownManaged } = this.deps.iam.policiesOf(role.name);
    const decision = await this.simulate(
      principal,
      check,
      policies,
      undefined,
      this.globalKeys(roleArn, region),
    );
    if (decision.allowed || unknownManaged.length === 0) return decision;
    return {
      ...decision,
      reason: `${decision.reason}; not evaluated: ${unknownManaged.join(', ')} (managed policies the local AWS does not hold)`,
    };
  }

  private globalKeys(roleArn: string, region: string): Record<string, string> {
    return { 'aws:PrincipalArn': roleArn, 'aws:PrincipalAccount': ACCOUNT_ID, 'aws:RequestedRegion': region };
  }

  private async simulate(
    principal: string,
    check: AccessCheck,
    policies: AttachedPolicy[],
    resourcePolicy: PolicyDocument | undefined,
    keys: Record<string, string>,
  ): Promise<Decision> {
    const result = await runSimulation(
      {
        request: {
          principal,
          action: check.action,
          resource: { resource: check.resource, accountId: ACCOUNT_ID },
          contextVariables: { ...keys, ...(check.context ?? {}) },
        },
        identityPolicies: policies.map(({ name, document }) => ({ name, policy: document })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy,
      },
      {},
    );
    if (result.resultType === 'error') {
      return {
        allowed: false,
        explicit: false,
        reason: `the engine could not evaluate: ${result.errors.message}`,
      };
    }
    const analyses =
      result.resultType === 'single' ? [result.result.analysis] : result.results.map((r) => r.analysis);
    const allowed = result.overallResult === 'Allowed';
    return {
      allowed,
      explicit: result.overallResult === 'ExplicitlyDenied',
      reason: allowed ? 'allowed' : explainDenial(analyses, check),
    };
  }

  private allow(principal: string, roleArn: string | undefined, checks: AccessCheck[]): void {
    const record = this.records.get(principal) ?? { allowed: 0, denied: [] };
    record.allowed += 1;
    this.records.set(principal, record);
    if (!roleArn) return;
    const used = this.used.get(roleArn) ?? new Set<string>();
    for (const check of checks) used.add(check.action);
    this.used.set(roleArn, used);
  }

  private deny(principal: string, operation: string, check: AccessCheck, reason: string): void {
    const record = this.records.get(principal) ?? { allowed: 0, denied: [] };
    record.denied.push({
      operation,
      action: check.action,
      resource: check.resource,
      reason,
      time: new Date(this.deps.clock.nowMs()).toISOString(),
    });
    this.records.set(principal, record);
  }
}

/** The engine's analysis of one statement. */
type StatementAnalysis = NonNullable<RequestAnalysis['identityAnalysis']>['unmatchedStatements'][number];

/** The engine's view of a denial: which statements came close, and why they did not apply. */
function explainDenial(analyses: RequestAnalysis[], check: AccessCheck): string {
  const parts: string[] = [];
  for (const analysis of analyses) {
    for (const denial of getDenialReasons(analysis)) {
      if (denial.denialType === 'Explicit') {
        parts.push(
          `explicitly denied by statement ${denial.statementId ?? `#${denial.statementIndex}`} of ${denial.policyIdentifier ?? denial.policyType} policy`,
        );
      } else {
        parts.push(`implicitly denied (${denial.policyType} policies)`);
      }
    }
    const near = [
      ...(analysis.identityAnalysis?.unmatchedStatements ?? []),
      ...(analysis.resourceAnalysis?.unmatchedStatements ?? []),
    ].filter((statement) => statement.actionMatch);
    for (const statement of near) parts.push(nearMiss(statement));
  }
  if (parts.length === 0) parts.push(`no statement allows ${check.action} on ${check.resource}`);
  return [...new Set(parts)].join('; ');
}

function nearMiss(statement: StatementAnalysis): string {
  const where = `statement #${statement.explain.identifier} of ${statement.policyId || 'the resource policy'}`;
  if (!statement.resourceMatch) return `${where} allows the action on other resources`;
  if (statement.principalMatch === 'NoMatch') return `${where} names other principals`;
  return `${where} matches but its condition does not`;
}
