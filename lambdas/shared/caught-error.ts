import type { CaughtError } from './types.js';

/**
 * The readable text of a caught error's `Cause`. Lambda puts a JSON document there
 * (`{"errorType", "errorMessage", "trace"}`); other sources put plain text.
 */
export function causeText(error: CaughtError): string {
  try {
    const parsed: unknown = JSON.parse(error.Cause);
    if (
      parsed &&
      typeof parsed === 'object' &&
      'errorMessage' in parsed &&
      typeof parsed.errorMessage === 'string'
    ) {
      return parsed.errorMessage;
    }
  } catch {
    // Not JSON: the cause is the text itself.
  }
  return error.Cause;
}
