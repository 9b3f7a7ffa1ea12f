import { randomUUID } from 'node:crypto';

/**
 * The AWS query protocol as the local AWS speaks it (STS; CloudWatch as the AWS CLI v2 of
 * Debian reaches it): form-encoded `Action=...&Version=...` requests, XML answers. Request
 * parameters are flattened (`AlarmNames.member.1=a`, `Dimensions.member.1.Name=x`); answers
 * wrap the result in `<ActionResponse><ActionResult>` with lists as `<member>` elements, and
 * errors are an `ErrorResponse` with Type, Code and Message
 * (https://smithy.io/2.0/aws/protocols/aws-query-protocol.html).
 */

/** A query-protocol answer: status and XML body. */
export interface QueryResponse {
  status: number;
  body: string;
}

/** Text escaped for an XML element or attribute. */
export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/**
 * A successful answer: `<ActionResponse xmlns=...>` with `<ActionResult>` holding `result`
 * (already XML) when the operation returns anything, and the request id.
 */
export function queryResponse(action: string, namespace: string, result?: string): QueryResponse {
  const body = result === undefined ? '' : `<${action}Result>${result}</${action}Result>`;
  return {
    status: 200,
    body:
      `<${action}Response xmlns="${namespace}">${body}` +
      `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`,
  };
}

/** An error answer: `ErrorResponse` with the error's Type (Sender for the caller's mistakes), Code and Message. */
export function queryErrorResponse(
  namespace: string,
  error: { code: string; message: string; status: number },
): QueryResponse {
  const type = error.status >= 500 ? 'Receiver' : 'Sender';
  return {
    status: error.status,
    body:
      `<ErrorResponse xmlns="${namespace}"><Error><Type>${type}</Type><Code>${escapeXml(error.code)}</Code>` +
      `<Message>${escapeXml(error.message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  };
}

/** A request's parameters as a tree: `member.N` lists become arrays, dotted names nested objects, values strings. */
export type QueryValue = string | QueryValue[] | { [key: string]: QueryValue };

/**
 * Unflattens the form of a query request (without `Action` and `Version`): `A.member.2.B=x`
 * becomes `{ A: [<1>, { B: 'x' }] }` (lists in the order of their indexes), `A.B=x` becomes
 * `{ A: { B: 'x' } }`. Values stay strings: each operation knows which of its members are
 * numbers, booleans or timestamps.
 */
export function parseQueryParams(form: URLSearchParams): Record<string, QueryValue> {
  const root: Record<string, unknown> = {};
  for (const [name, value] of form) {
    if (name === 'Action' || name === 'Version') continue;
    const path = name.split('.');
    let node: Record<string, unknown> = root;
    for (let i = 0; i < path.length; i += 1) {
      const key = path[i] as string;
      const last = i === path.length - 1;
      // `member.N` (or `entry.N` for maps) is one item of the list held at the previous key.
      if ((key === 'member' || key === 'entry') && /^\d+$/.test(path[i + 1] ?? '')) {
        const index = path[i + 1] as string;
        const itemLast = i + 1 === path.length - 1;
        if (itemLast) node[`#${index}`] = value;
        else {
          node[`#${index}`] ??= {};
          node = node[`#${index}`] as Record<string, unknown>;
        }
        i += 1;
        continue;
      }
      if (last) node[key] = value;
      else {
        node[key] ??= {};
        node = node[key] as Record<string, unknown>;
      }
    }
  }
  return listsOf(root) as Record<string, QueryValue>;
}

/** Turns the `#N`-keyed objects `parseQueryParams` builds into arrays ordered by N. */
function listsOf(node: unknown): unknown {
  if (typeof node !== 'object' || node === null) return node;
  const entries = Object.entries(node as Record<string, unknown>);
  if (entries.length > 0 && entries.every(([key]) => /^#\d+$/.test(key))) {
    return entries
      .sort(([a], [b]) => Number(a.slice(1)) - Number(b.slice(1)))
      .map(([, value]) => listsOf(value));
  }
  return Object.fromEntries(entries.map(([key, value]) => [key, listsOf(value)]));
}

/**
 * An answer's members as query-protocol XML: each field an element named after it, lists
 * as `<member>` items, timestamps in ISO 8601, booleans `true`/`false`; undefined fields are
 * left out. An empty list is an empty element, as AWS writes it.
 */
export function toQueryXml(value: Record<string, unknown>): string {
  return Object.entries(value)
    .filter(([, field]) => field !== undefined && field !== null)
    .map(([key, field]) => `<${key}>${valueXml(field)}</${key}>`)
    .join('');
}

function valueXml(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value))
    return value
      .filter((item) => item !== undefined && item !== null)
      .map((item) => `<member>${valueXml(item)}</member>`)
      .join('');
  if (typeof value === 'object' && value !== null) return toQueryXml(value as Record<string, unknown>);
  return escapeXml(String(value));
}
