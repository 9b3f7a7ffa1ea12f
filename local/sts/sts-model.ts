import { createHash, randomBytes } from 'node:crypto';
import { ACCOUNT_ID } from '../server.js';

/** Temporary credentials, as STS hands them out and the SDKs read them. */
export interface SessionCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** Absent for the sessions of Lambda functions, which last as long as the function. */
  expiration?: Date;
}

/** A role session: the credentials and who they act as. */
export interface RoleSession {
  credentials: SessionCredentials;
  roleArn: string;
  roleName: string;
  sessionName: string;
  /** `arn:aws:sts::<account>:assumed-role/<role name>/<session name>`. */
  principalArn: string;
  /** `<role id>:<session name>`, as GetCallerIdentity's UserId and AssumedRoleId. */
  userId: string;
}

/**
 * Who signed a request: the session of a role, or, for any credentials STS did not issue,
 * the account's administrator (so a person's `aws ... --endpoint-url` keeps working).
 */
export type Caller =
  | { kind: 'role'; session: RoleSession }
  | { kind: 'administrator'; principalArn: string; userId: string };

/** The principal that credentials nobody issued act as: the account root. */
export const ADMINISTRATOR: Caller = {
  kind: 'administrator',
  principalArn: `arn:aws:iam::${ACCOUNT_ID}:root`,
  userId: ACCOUNT_ID,
};

/** The principal ARN of a caller. */
export function principalOf(caller: Caller): string {
  return caller.kind === 'role' ? caller.session.principalArn : caller.principalArn;
}

const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function randomKey(prefix: string): string {
  return prefix + [...randomBytes(16)].map((byte) => UPPER_ALNUM[byte % UPPER_ALNUM.length]).join('');
}

/** A role's unique id: `AROA` and 17 characters, stable for a role ARN. */
export function roleIdOf(roleArn: string): string {
  const digest = createHash('sha256').update(roleArn).digest();
  return `AROA${[...digest.subarray(0, 17)].map((byte) => UPPER_ALNUM[byte % UPPER_ALNUM.length]).join('')}`;
}

/**
 * STS of the local AWS: the role sessions it issued (AssumeRole, and the sessions Lambda
 * and Step Functions take for their roles), found again by access key id.
 */
export class StsModel {
  private readonly sessions = new Map<string, RoleSession>();

  /** Issues credentials for `roleArn` under `sessionName`; without `durationSeconds` they do not expire. */
  issue(roleArn: string, sessionName: string, now: Date, durationSeconds?: number): RoleSession {
    const roleName = roleArn.slice(roleArn.lastIndexOf('/') + 1);
    const session: RoleSession = {
      credentials: {
        accessKeyId: randomKey('ASIA'),
        secretAccessKey: randomBytes(30).toString('base64'),
        sessionToken: randomBytes(96).toString('base64'),
        expiration:
          durationSeconds === undefined ? undefined : new Date(now.getTime() + durationSeconds * 1000),
      },
      roleArn,
      roleName,
      sessionName,
      principalArn: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${roleName}/${sessionName}`,
      userId: `${roleIdOf(roleArn)}:${sessionName}`,
    };
    this.sessions.set(session.credentials.accessKeyId, session);
    return session;
  }

  /** The caller behind an access key id: its role session, or the administrator. */
  callerOf(accessKeyId: string | undefined): Caller {
    const session = accessKeyId === undefined ? undefined : this.sessions.get(accessKeyId);
    return session ? { kind: 'role', session } : ADMINISTRATOR;
  }
}
