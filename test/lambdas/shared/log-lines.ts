import { vi } from 'vitest';

/**
 * Captures what handlers log, as Lambda sees it: every line written to stdout or stderr,
 * parsed as JSON. Sets the function's log level as Lambda does (`AWS_LAMBDA_LOG_LEVEL`);
 * undo with `vi.unstubAllEnvs()` and `vi.restoreAllMocks()`.
 */
export function captureLogLines(level = 'INFO'): () => Array<Record<string, unknown>> {
  vi.stubEnv('AWS_LAMBDA_LOG_LEVEL', level);
  const written: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  return () =>
    written
      .join('')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
}
