import { describe, expect, it } from 'vitest';
import {
  describeFailure,
  type ErrorKind,
  errorKind,
  failureOf,
  inCall,
  inPlace,
  isTransient,
} from '../../../lambdas/shared/aws-errors.js';
import { TransientError, ValidationError } from '../../../lambdas/shared/errors.js';
import { awsError } from './fixtures.js';

const withCode = (code: string, message = 'socket hang up') => Object.assign(new Error(message), { code });

describe('errorKind', () => {
  // The SDK's own classification (https://github.com/smithy-lang/smithy-typescript/blob/main/packages/service-error-classification/src/constants.ts),
  // plus the services' server errors.
  it.each<{ name: string; error: unknown; kind: ErrorKind }>([
    {
      name: 'ThrottlingException (CodeDeploy, ECS, Step Functions)',
      error: awsError('ThrottlingException', 'Rate exceeded'),
      kind: 'throttling',
    },
    {
      name: 'TooManyRequestsException (Lambda)',
      error: awsError('TooManyRequestsException', 'Rate exceeded'),
      kind: 'throttling',
    },
    {
      name: 'any error with HTTP 429',
      error: awsError('SomethingElse', 'slow down', 429),
      kind: 'throttling',
    },
    {
      name: 'the retryable throttling trait',
      error: Object.assign(awsError('X', 'y'), { $retryable: { throttling: true } }),
      kind: 'throttling',
    },
    {
      name: 'ECS ServerException (500)',
      error: awsError('ServerException', 'Service unavailable', 500),
      kind: 'transient',
    },
    {
      name: 'InternalFailure (500)',
      error: awsError('InternalFailure', 'internal error', 500),
      kind: 'transient',
    },
    { name: 'an unknown name with 503', error: awsError('Unknown', 'unavailable', 503), kind: 'transient' },
    {
      name: 'EventBridge InternalException',
      error: awsError('InternalException', 'oops'),
      kind: 'transient',
    },
    {
      name: 'the SDK request timeout',
      error: awsError('TimeoutError', 'Connection timed out after 1000 ms'),
      kind: 'transient',
    },
    { name: 'connection reset', error: withCode('ECONNRESET'), kind: 'transient' },
    { name: 'DNS lookup failed', error: withCode('EAI_AGAIN', 'getaddrinfo EAI_AGAIN'), kind: 'transient' },
    {
      name: 'a wrapped network error',
      error: new Error('fetch failed', { cause: withCode('ECONNREFUSED') }),
      kind: 'transient',
    },
    { name: 'our TransientError', error: new TransientError('gave up'), kind: 'transient' },
    {
      name: 'AccessDeniedException',
      error: awsError('AccessDeniedException', 'not authorized'),
      kind: 'permanent',
    },
    { name: 'ValidationException', error: awsError('ValidationException', 'bad input'), kind: 'permanent' },
    {
      name: 'ECS InvalidParameterException',
      error: awsError('InvalidParameterException', 'bad'),
      kind: 'permanent',
    },
    { name: 'ECS ClientException', error: awsError('ClientException', 'inactive'), kind: 'permanent' },
    {
      name: 'CodeDeploy DeploymentLimitExceededException (one active deployment per group)',
      error: awsError('DeploymentLimitExceededException', 'active deployment'),
      kind: 'permanent',
    },
    { name: 'ExecutionDoesNotExist', error: awsError('ExecutionDoesNotExist', 'gone'), kind: 'permanent' },
    {
      name: 'an aborted call',
      error: Object.assign(new Error('aborted'), { name: 'AbortError', code: 'ECONNRESET' }),
      kind: 'permanent',
    },
    { name: 'our ValidationError', error: new ValidationError('bad input'), kind: 'permanent' },
    { name: 'not an error at all', error: 'boom', kind: 'permanent' },
  ])('$name is $kind', ({ error, kind }) => {
    expect(errorKind(error)).toBe(kind);
    expect(isTransient(error)).toBe(kind !== 'permanent');
  });
});

describe('call sites', () => {
  it('names the call and the place, the place first', async () => {
    // Act
    const failing = inPlace('eu/web', () =>
      inCall('CreateDeployment', 'app/eu-web', () =>
        Promise.reject(awsError('ThrottlingException', 'Rate exceeded')),
      ),
    );

    // Assess
    const error = await failing.catch((caught: unknown) => caught);
    expect(describeFailure(error)).toBe(
      'CreateDeployment on eu/web (app/eu-web) failed (ThrottlingException: Rate exceeded)',
    );
    expect(error).toMatchObject({ name: 'ThrottlingException' });
  });

  it('describes an error without a call site by itself', () => {
    expect(describeFailure(new Error('boom'))).toBe('Error: boom');
  });
});

describe('failureOf', () => {
  it('turns a transient error into a TransientError naming the call, where, and what was done', async () => {
    const error = await inCall('CreateDeployment', 'eu/web', () =>
      Promise.reject(awsError('ThrottlingException', 'Rate exceeded')),
    ).catch((caught: unknown) => caught);

    const failure = failureOf(error, 'StartDeployments', 'already created: us/web d-1');

    expect(failure).toBeInstanceOf(TransientError);
    expect((failure as Error).message).toMatch(
      /^StartDeployments: CreateDeployment on eu\/web failed \(ThrottlingException: Rate exceeded\) after the SDK's retries; already created: us\/web d-1\./,
    );
    expect((failure as Error).cause).toBe(error);
  });

  it('keeps a permanent error itself, its message saying the call, where and what was done', async () => {
    const error = await inCall('RunTask', 'eu', () =>
      Promise.reject(awsError('AccessDeniedException', 'not authorized')),
    ).catch((caught: unknown) => caught);

    const failure = failureOf(error, 'StartTasks', 'started: us/migrate');

    expect(failure).toBe(error);
    expect(failure).toMatchObject({
      name: 'AccessDeniedException',
      message: 'StartTasks: RunTask on eu failed: not authorized; started: us/migrate.',
    });
  });

  it('leaves our own errors alone', () => {
    const error = new ValidationError('input.release: required');
    expect(failureOf(error, 'Plan', 'nothing registered')).toBe(error);
    expect(error.message).toBe('input.release: required');
  });
});
