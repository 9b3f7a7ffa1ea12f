import { AwsError } from './aws-error.js';

/** The opaque `nextToken` of a list page: the offset of the next page, base64url-encoded. */
export function encodeOffsetToken(offset: number): string {
  return Buffer.from(String(offset)).toString('base64url');
}

/**
 * The offset a `nextToken` names (0 for none or empty). A token that does not decode is the
 * service's own error, `errorType` (each service names it differently).
 */
export function decodeOffsetToken(token: string | undefined, errorType: string): number {
  if (token === undefined || token === '') return 0;
  const offset = Number(Buffer.from(token, 'base64url').toString('utf8'));
  if (!Number.isInteger(offset) || offset < 0) {
    throw new AwsError(errorType, `The nextToken ${token} is invalid; pass the one the last page returned.`);
  }
  return offset;
}

/** The page of at most `size` items starting where `token` points, with the token of the next page if any. */
export function offsetPage<T>(
  items: readonly T[],
  size: number,
  token: string | undefined,
  errorType: string,
): { items: T[]; nextToken: string | undefined } {
  const offset = decodeOffsetToken(token, errorType);
  const page = items.slice(offset, offset + size);
  const next = offset + page.length;
  return { items: page, nextToken: next < items.length ? encodeOffsetToken(next) : undefined };
}
