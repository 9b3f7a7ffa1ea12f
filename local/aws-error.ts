/**
 * An error the local AWS answers the way AWS does: `{"__type": type, "message": message}`
 * with an HTTP status (400 for the caller's mistakes, 500 for our own), plus the members
 * the error shape has besides the message (`fields`: ECS's `ConflictException` names the
 * `resourceIds`). Handlers throw it; the server turns anything else into a 500 `InternalFailure`.
 */
export class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
    readonly fields: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AwsError';
  }
}

/** The request body as an object; anything else is the caller's `SerializationException`. */
export function requestObject<T extends object>(input: unknown, operation: string): T {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new AwsError('SerializationException', `${operation}: the request body must be a JSON object.`);
  }
  return input as T;
}

/**
 * A required request field, or a validation error naming it. `type` is the error type the
 * service uses for a missing parameter (ECS: `InvalidParameterException`...).
 */
export function required<T>(
  value: T | undefined | null,
  field: string,
  type = 'InvalidParameterException',
): T {
  if (value === undefined || value === null || value === '') {
    throw new AwsError(type, `${field} is required; pass it in the request.`);
  }
  return value;
}
