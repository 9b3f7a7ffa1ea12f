import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** Debian's AWS CLI v2 (package awscli, installed by .ci/run), not whichever `aws` comes first on PATH. */
export const AWS_CLI = '/usr/bin/aws';

/** The credentials the CLI signs with. */
export interface CliCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Credentials the local AWS does not know: they act as the account's administrator. */
export const LOCAL_ADMIN: CliCredentials = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' };

/** What one CLI call gave: its JSON output, or its stderr when it failed. */
export type CliResult = { ok: true; json: unknown } | { ok: false; stderr: string };

/** The CLI's environment: these credentials and Region only, no configuration or credentials file of the machine. */
function cliEnv(credentials: CliCredentials, region: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
    AWS_DEFAULT_REGION: region,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
}

/**
 * Runs the AWS CLI against `endpoint` and returns its standard output; a failed call throws.
 * Asynchronous, so a local AWS running in this process keeps answering.
 */
export async function awsCliOutput(
  endpoint: string,
  args: readonly string[],
  credentials: CliCredentials = LOCAL_ADMIN,
  region = 'us-east-1',
): Promise<string> {
  const { stdout } = await promisify(execFile)(AWS_CLI, ['--endpoint-url', endpoint, ...args], {
    env: cliEnv(credentials, region),
    encoding: 'utf8',
  });
  return stdout;
}

/** Runs the AWS CLI against `endpoint` with JSON output: what it printed, or its stderr when it failed. */
export async function awsCli(
  endpoint: string,
  args: readonly string[],
  credentials: CliCredentials = LOCAL_ADMIN,
  region = 'us-east-1',
): Promise<CliResult> {
  try {
    const stdout = await awsCliOutput(endpoint, ['--output', 'json', ...args], credentials, region);
    return { ok: true, json: stdout.trim() === '' ? {} : JSON.parse(stdout) };
  } catch (error) {
    return { ok: false, stderr: String((error as { stderr?: string }).stderr) };
  }
}
