import type { Authorizer } from '../iam/authorizer.js';
import type { IamModel } from '../iam/iam-model.js';
import { escapeXml, type QueryResponse, queryErrorResponse, queryResponse } from '../query-protocol.js';
import { ACCOUNT_ID } from '../server.js';
import { type Caller, principalOf, type StsModel } from './sts-model.js';

const NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';

/** An STS error, as the query protocol puts it: `ErrorResponse` with Type, Code and Message. */
export class StsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = code;
  }
}

const response = (action: string, result: string) => queryResponse(action, NAMESPACE, result);

const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

/** What the STS handlers work with. */
export interface StsDeps {
  sts: StsModel;
  iam: IamModel;
  authorizer: Authorizer;
  now: () => Date;
}

/**
 * STS on the query protocol (form-encoded `Action=...&Version=2011-06-15`, XML answers),
 * as the AWS SDKs and the AWS CLI speak it: AssumeRole for the roles of the deployed
 * templates, and GetCallerIdentity.
 */
export async function handleStsQuery(
  form: URLSearchParams,
  caller: Caller,
  region: string,
  deps: StsDeps,
): Promise<QueryResponse> {
  try {
    switch (form.get('Action')) {
      case 'GetCallerIdentity':
        // No permission is needed to ask who one is.
        return response(
          'GetCallerIdentity',
          `<Arn>${escapeXml(principalOf(caller))}</Arn>` +
            `<UserId>${escapeXml(caller.kind === 'role' ? caller.session.userId : caller.userId)}</UserId>` +
            `<Account>${ACCOUNT_ID}</Account>`,
        );
      case 'AssumeRole':
        return await assumeRole(form, caller, region, deps);
      default:
        throw new StsError(
          'InvalidAction',
          `Could not find operation ${form.get('Action') ?? '(none)'} for version 2011-06-15; the local AWS serves AssumeRole and GetCallerIdentity.`,
        );
    }
  } catch (error) {
    if (error instanceof StsError) return queryErrorResponse(NAMESPACE, error);
    throw error;
  }
}

async function assumeRole(
  form: URLSearchParams,
  caller: Caller,
  region: string,
  deps: StsDeps,
): Promise<QueryResponse> {
  const roleArn = form.get('RoleArn') ?? '';
  const sessionName = form.get('RoleSessionName') ?? '';
  if (!SESSION_NAME.test(sessionName)) {
    throw new StsError(
      'ValidationError',
      `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length 2 to 64.`,
    );
  }
  const durationSeconds = Number(form.get('DurationSeconds') ?? '3600');
  if (!Number.isInteger(durationSeconds) || durationSeconds < 900 || durationSeconds > 43_200) {
    throw new StsError(
      'ValidationError',
      `1 validation error detected: Value '${form.get('DurationSeconds')}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200.`,
    );
  }
  const role = deps.iam.role(roleArn);
  const decision = await deps.authorizer.authorizeAssumeRole(caller, roleArn, region);
  if (!role || role.arn !== roleArn || !decision.allowed) {
    // An unknown role is refused like a forbidden one: STS does not tell which roles exist.
    throw new StsError(
      'AccessDenied',
      `User: ${principalOf(caller)} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
      403,
    );
  }
  if (durationSeconds > role.maxSessionDurationSeconds) {
    throw new StsError(
      'ValidationError',
      `The requested DurationSeconds exceeds the MaxSessionDuration set for this role.`,
    );
  }
  const session = deps.sts.issue(role.arn, sessionName, deps.now(), durationSeconds);
  const { credentials } = session;
  return response(
    'AssumeRole',
    `<AssumedRoleUser><Arn>${escapeXml(session.principalArn)}</Arn><AssumedRoleId>${escapeXml(session.userId)}</AssumedRoleId></AssumedRoleUser>` +
      `<Credentials><AccessKeyId>${credentials.accessKeyId}</AccessKeyId><SecretAccessKey>${escapeXml(credentials.secretAccessKey)}</SecretAccessKey>` +
      `<SessionToken>${escapeXml(credentials.sessionToken)}</SessionToken><Expiration>${credentials.expiration?.toISOString()}</Expiration></Credentials>`,
  );
}
