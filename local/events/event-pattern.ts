import { AwsError } from '../aws-error.js';

/**
 * EventBridge event pattern matching, for the subset rules use: arrays of allowed
 * values, nested objects, and the `prefix`, `suffix`, `anything-but`, `exists`,
 * `equals-ignore-case` and `numeric` operators. A field that is an array in the event
 * matches when any of its elements does.
 */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  if (pattern === null || typeof pattern !== 'object' || Array.isArray(pattern)) {
    throw new AwsError('InvalidEventPatternException', 'An event pattern must be a JSON object.');
  }
  const target = event !== null && typeof event === 'object' && !Array.isArray(event) ? event : {};
  return Object.entries(pattern).every(([key, expected]) => {
    const present = Object.hasOwn(target, key);
    const value = present ? (target as Record<string, unknown>)[key] : undefined;
    if (Array.isArray(expected)) return expected.some((rule) => matchesRule(rule, value, present));
    if (expected !== null && typeof expected === 'object') return present && matchesPattern(expected, value);
    throw new AwsError(
      'InvalidEventPatternException',
      `Event pattern field ${key} must be an array of values or an object, not ${JSON.stringify(expected)}.`,
    );
  });
}

function matchesRule(rule: unknown, value: unknown, present: boolean): boolean {
  if (rule === null || typeof rule !== 'object') {
    if (!present) return false;
    return Array.isArray(value) ? value.some((item) => item === rule) : value === rule;
  }
  const entries = Object.entries(rule);
  if (entries.length !== 1) {
    throw new AwsError(
      'InvalidEventPatternException',
      `Event pattern rule ${JSON.stringify(rule)} must have one operator.`,
    );
  }
  const [operator, operand] = entries[0];
  if (operator === 'exists') return present === operand;
  if (!present) return false;
  const values = Array.isArray(value) ? value : [value];
  return values.some((item) => matchesOperator(operator, operand, item));
}

function matchesOperator(operator: string, operand: unknown, value: unknown): boolean {
  switch (operator) {
    case 'prefix':
      return typeof value === 'string' && typeof operand === 'string' && value.startsWith(operand);
    case 'suffix':
      return typeof value === 'string' && typeof operand === 'string' && value.endsWith(operand);
    case 'equals-ignore-case':
      return (
        typeof value === 'string' &&
        typeof operand === 'string' &&
        value.toLowerCase() === operand.toLowerCase()
      );
    case 'anything-but': {
      if (operand !== null && typeof operand === 'object' && !Array.isArray(operand)) {
        return !matchesRule(operand, value, true);
      }
      const excluded = Array.isArray(operand) ? operand : [operand];
      return !excluded.includes(value);
    }
    case 'numeric':
      return typeof value === 'number' && Array.isArray(operand) && matchesNumeric(operand, value);
    default:
      throw new AwsError(
        'InvalidEventPatternException',
        `Event pattern operator ${operator} is not supported by the local AWS; use values, prefix, suffix, anything-but, exists, equals-ignore-case or numeric.`,
      );
  }
}

function matchesNumeric(conditions: unknown[], value: number): boolean {
  for (let index = 0; index + 1 < conditions.length; index += 2) {
    const bound = Number(conditions[index + 1]);
    const ok = {
      '=': value === bound,
      '<': value < bound,
      '<=': value <= bound,
      '>': value > bound,
      '>=': value >= bound,
    }[String(conditions[index])];
    if (!ok) return false;
  }
  return true;
}
