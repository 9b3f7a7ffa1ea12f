import { HANDLER_METADATA_KEY, type Verb } from './handlers.js';

/** A CloudFormation template, as far as the extraction needs it. */
export interface Template {
  Resources?: Record<
    string,
    { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }
  >;
}

/** The Amazon States Language definition of a state machine (JSONPath states). */
export interface AslDefinition {
  StartAt: string;
  States: Record<string, AslState>;
  TimeoutSeconds?: number;
  Comment?: string;
}

/** One state of an {@link AslDefinition}; only the fields the tools here read are typed. */
export interface AslState {
  Type: string;
  Resource?: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: Array<{ Next: string; [condition: string]: unknown }>;
  Catch?: Array<{ ErrorEquals: string[]; Next: string; ResultPath?: string }>;
  Retry?: Array<Record<string, unknown>>;
  [field: string]: unknown;
}

/** Turns the logical id of a resource a definition references (`Fn::GetAtt [id, Arn]`, `Ref id`) into a value. */
export type ReferenceResolver = (logicalId: string, attribute: string | undefined) => string;

/** The default resolver: Lambda-style ARNs in the local account named after the logical id. */
export const localArn: ReferenceResolver = (logicalId) =>
  `arn:aws:lambda:us-east-1:000000000000:function:${logicalId}`;

/** The logical id of the template's one state machine; throws when there is none or several. */
export function stateMachineLogicalId(template: Template): string {
  const ids = Object.entries(template.Resources ?? {})
    .filter(([, resource]) => resource.Type === 'AWS::StepFunctions::StateMachine')
    .map(([id]) => id);
  if (ids.length !== 1) {
    throw new Error(`Expected one AWS::StepFunctions::StateMachine in the template, found ${ids.length}.`);
  }
  return ids[0];
}

/**
 * The definition of the template's state machine, with every reference in its
 * `DefinitionString` (`Fn::Join` of strings, `Fn::GetAtt`, `Ref`) resolved by `resolve`.
 */
export function extractDefinition(template: Template, resolve: ReferenceResolver = localArn): AslDefinition {
  const id = stateMachineLogicalId(template);
  const definition = template.Resources?.[id]?.Properties?.DefinitionString;
  return JSON.parse(renderTemplateValue(definition, resolve, `${id}.DefinitionString`)) as AslDefinition;
}

/**
 * A template string value with its references resolved: a plain string, or `Fn::Join`
 * of such values, `Fn::GetAtt` and `Ref` (what CDK renders a string with tokens into).
 */
export function renderTemplateValue(value: unknown, resolve: ReferenceResolver, where = 'value'): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const join = record['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
      return join[1].map((part: unknown) => renderTemplateValue(part, resolve, where)).join(join[0]);
    }
    const getAtt = record['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') {
      return resolve(getAtt[0], typeof getAtt[1] === 'string' ? getAtt[1] : undefined);
    }
    if (typeof record.Ref === 'string') return resolve(record.Ref, undefined);
  }
  throw new Error(
    `${where}: cannot render ${JSON.stringify(value)}; only Fn::Join, Fn::GetAtt and Ref are supported.`,
  );
}

/**
 * The handler verb of every Lambda task state, by state name, read from the
 * `stepdeploy:handler` metadata of the function each state's `Resource` references.
 */
export function taskHandlers(template: Template): Record<string, Verb> {
  const verbs = new Map<string, Verb>();
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    const verb = resource.Metadata?.[HANDLER_METADATA_KEY];
    if (resource.Type === 'AWS::Lambda::Function' && typeof verb === 'string') {
      verbs.set(localArn(logicalId, 'Arn'), verb as Verb);
    }
  }
  const byState: Record<string, Verb> = {};
  for (const [name, state] of Object.entries(extractDefinition(template, localArn).States)) {
    if (state.Type !== 'Task' || !state.Resource) continue;
    const verb = verbs.get(state.Resource);
    if (!verb)
      throw new Error(
        `Task state '${name}' invokes ${state.Resource}, which has no ${HANDLER_METADATA_KEY} metadata.`,
      );
    byState[name] = verb;
  }
  return byState;
}
