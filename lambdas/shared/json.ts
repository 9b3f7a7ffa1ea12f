/** The value of a JSON text, or undefined when there is no text or it is not JSON (outputs and inputs read back from a history). */
export function parseJsonOrUndefined(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
