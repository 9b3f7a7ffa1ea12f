import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges the AwsSolutions-IAM5 (wildcard) findings of the IAM policies under
 * `scope` for which `reasonFor` gives a reason; any other wildcard stays a finding.
 */
export function acknowledgeWildcards(
  scope: IConstruct,
  reasonFor: (finding: string) => string | undefined,
): void {
  for (const node of scope.node.findAll()) {
    if (!(node instanceof iam.CfnPolicy)) continue;
    const document = Stack.of(node).resolve(node.policyDocument) as {
      Statement?: Array<{ Effect?: string; Action?: string | string[]; Resource?: unknown }>;
    };
    const findings = new Set<string>();
    for (const statement of document.Statement ?? []) {
      if (statement.Effect !== 'Allow') continue;
      for (const action of [statement.Action ?? []].flat()) {
        if (action.includes('*')) findings.add(`Action::${action}`);
      }
      for (const resource of [statement.Resource ?? []].flat()) {
        const flat = flattenCfnReference(resource);
        if (flat.includes('*')) findings.add(`Resource::${flat}`);
      }
    }
    for (const finding of findings) {
      const reason = reasonFor(finding);
      if (reason) Validations.of(node).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
    }
  }
}
