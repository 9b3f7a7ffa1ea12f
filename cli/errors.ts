/** The run could not be found or read; `tail-deploy` exits 3 with this message. */
export class UnreadableRunError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnreadableRunError';
  }
}

/** The command line is wrong; `tail-deploy` exits 64 with this message. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const NOT_FOUND = new Set(['ExecutionDoesNotExist', 'StateMachineDoesNotExist', 'ResourceNotFound']);

/** Errors after which reading the run again cannot succeed: no such run, or no permission to read it. */
export function isFatalReadError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    NOT_FOUND.has(error.name) ||
    error.name === 'AccessDeniedException' ||
    error.name === 'InvalidArn' ||
    error.name === 'UnrecognizedClientException' ||
    error.name === 'InvalidSignatureException' ||
    error.name === 'CredentialsProviderError'
  );
}

/**
 * A message for a failed read of `arn` in `region` by `operation`: what was not found or
 * which permission is missing, and what to do.
 */
export function describeReadFailure(
  operation: string,
  permission: string,
  arn: string,
  region: string,
  error: unknown,
): string {
  const name = error instanceof Error ? error.name : 'Error';
  const detail = error instanceof Error ? error.message : String(error);
  if (NOT_FOUND.has(name)) {
    return `${arn} was not found in Region ${region} (${operation}: ${name}). Check the ARN, and pass --region when the run lives in another Region.`;
  }
  if (name === 'AccessDeniedException') {
    return `${operation} on ${arn} in Region ${region} was denied: the caller needs ${permission}. (${detail})`;
  }
  if (name === 'InvalidArn') {
    return `${arn} is not a valid ARN (${operation} in Region ${region}: ${detail}).`;
  }
  if (name === 'CredentialsProviderError') {
    return `No AWS credentials to call ${operation} in Region ${region}: set AWS_PROFILE or pass --profile (${detail}).`;
  }
  return `${operation} on ${arn} in Region ${region} failed: ${name}: ${detail}`;
}
