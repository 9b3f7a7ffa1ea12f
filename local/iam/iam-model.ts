import { ACCOUNT_ID } from '../server.js';

/** An IAM policy document as a template holds it (`Statement` a list or one statement). */
export interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement[] | PolicyStatement;
}

/** One statement of a policy document, in IAM's JSON grammar. */
export type PolicyStatement = Record<string, unknown>;

/** A policy attached to a role: inline (by name) or managed (by ARN). */
export interface AttachedPolicy {
  /** `inline:<policy name>` or the managed policy's ARN. */
  name: string;
  document: PolicyDocument;
}

/** An IAM role of the deployed template. */
export interface Role {
  name: string;
  /** `arn:aws:iam::<account>:role/<path><name>`. */
  arn: string;
  /** The trust policy (`AssumeRolePolicyDocument`). */
  trustPolicy?: PolicyDocument;
  /** Longest session AssumeRole grants, in seconds. */
  maxSessionDurationSeconds: number;
}

/** The ARN of the role named `name` (path `/` unless given). */
export function roleArnOf(name: string, path = '/'): string {
  return `arn:aws:iam::${ACCOUNT_ID}:role${path}${name}`;
}

/** The statements of a document as a list. */
export function statementsOf(document: PolicyDocument): PolicyStatement[] {
  return Array.isArray(document.Statement) ? document.Statement : [document.Statement];
}

/**
 * IAM of the local AWS: the roles of the deployed templates with their inline and managed
 * policies, and the resource-based policies of Lambda functions (`AWS::Lambda::Permission`).
 * Policies are kept as the template synthesizes them; they are evaluated by the authorizer.
 */
export class IamModel {
  private readonly roles = new Map<string, Role>();
  /** Inline policies by role name, then policy name. */
  private readonly inline = new Map<string, Map<string, PolicyDocument>>();
  /** Managed policy ARNs attached to each role name. */
  private readonly attached = new Map<string, Set<string>>();
  private readonly managed = new Map<string, PolicyDocument>();
  private readonly functionPolicies = new Map<string, PolicyStatement[]>();

  /** Creates (or replaces) a role. */
  putRole(input: {
    name: string;
    path?: string;
    trustPolicy?: PolicyDocument;
    maxSessionDurationSeconds?: number;
  }): Role {
    const role: Role = {
      name: input.name,
      arn: roleArnOf(input.name, input.path),
      trustPolicy: input.trustPolicy,
      maxSessionDurationSeconds: input.maxSessionDurationSeconds ?? 3600,
    };
    this.roles.set(input.name, role);
    return role;
  }

  /** Puts an inline policy on a role (`AWS::IAM::Policy`, or a role's `Policies`). */
  putRolePolicy(roleName: string, policyName: string, document: PolicyDocument): void {
    const policies = this.inline.get(roleName) ?? new Map<string, PolicyDocument>();
    policies.set(policyName, document);
    this.inline.set(roleName, policies);
  }

  /** Removes an inline policy from a role. */
  deleteRolePolicy(roleName: string, policyName: string): void {
    this.inline.get(roleName)?.delete(policyName);
  }

  /** Creates a customer managed policy (`AWS::IAM::ManagedPolicy`). */
  putManagedPolicy(arn: string, document: PolicyDocument): void {
    this.managed.set(arn, document);
  }

  /** Attaches a managed policy to a role. */
  attachRolePolicy(roleName: string, policyArn: string): void {
    const arns = this.attached.get(roleName) ?? new Set<string>();
    arns.add(policyArn);
    this.attached.set(roleName, arns);
  }

  /** The role named by `nameOrArn` (name, or role ARN with or without a path). */
  role(nameOrArn: string): Role | undefined {
    const name = nameOrArn.startsWith('arn:') ? nameOrArn.slice(nameOrArn.lastIndexOf('/') + 1) : nameOrArn;
    return this.roles.get(name);
  }

  /** Every role. */
  listRoles(): Role[] {
    return [...this.roles.values()];
  }

  /**
   * The identity-based policies of a role: its inline policies and the managed policies
   * attached to it whose documents the local AWS knows (customer managed policies of a
   * template); `unknownManaged` names the others (AWS managed policies).
   */
  policiesOf(roleName: string): { policies: AttachedPolicy[]; unknownManaged: string[] } {
    const policies: AttachedPolicy[] = [];
    for (const [name, document] of this.inline.get(roleName) ?? []) {
      policies.push({ name: `inline:${name}`, document });
    }
    const unknownManaged: string[] = [];
    for (const arn of this.attached.get(roleName) ?? []) {
      const document = this.managed.get(arn);
      if (document) policies.push({ name: arn, document });
      else unknownManaged.push(arn);
    }
    return { policies, unknownManaged };
  }

  /** Adds a statement to a Lambda function's resource-based policy (`AWS::Lambda::Permission`). */
  addFunctionPermission(functionArn: string, statement: PolicyStatement): void {
    this.functionPolicies.set(functionArn, [...(this.functionPolicies.get(functionArn) ?? []), statement]);
  }

  /** The resource-based policy of a function, if it has one. */
  functionPolicy(functionArn: string): PolicyDocument | undefined {
    const statements = this.functionPolicies.get(functionArn);
    return statements ? { Version: '2012-10-17', Statement: statements } : undefined;
  }
}
