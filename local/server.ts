import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AwsError } from './aws-error.js';
import {
  parseQueryParams,
  type QueryResponse,
  type QueryValue,
  queryErrorResponse,
  queryResponse,
  toQueryXml,
} from './query-protocol.js';

/** What every handler learns about the request besides its body. */
export interface RequestContext {
  /** The Region of the request's SigV4 credential scope (us-east-1 when unsigned). */
  region: string;
  accountId: string;
}

/** One operation of a service: the parsed JSON body in, the response object out. */
export type Handler = (input: unknown, ctx: RequestContext) => Promise<unknown>;

/** The JSON protocols the services speak: the content type is `application/x-amz-json-<version>`. */
export type Protocol = 'awsJson1_0' | 'awsJson1_1';

/** A handler of a control path (`/_local/...`): the parsed body (if any) in, JSON out. */
export type ControlHandler = (body: unknown) => Promise<unknown>;

/** The account every ARN of the local AWS carries. */
export const ACCOUNT_ID = '000000000000';

/**
 * The short service names used by throttle faults, per `X-Amz-Target` prefix.
 */
export const SERVICE_NAMES: Record<string, string> = {
  AmazonEC2ContainerServiceV20141113: 'ecs',
  Logs_20140328: 'logs',
  CodeDeploy_20141006: 'codedeploy',
  AWSStepFunctions: 'sfn',
  AWSEvents: 'events',
  GraniteServiceVersion20100801: 'cloudwatch',
};

/**
 * How an awsJson service that is query-compatible (CloudWatch) also answers the query
 * protocol, for clients that speak that one (the AWS CLI v2 of Debian for CloudWatch): the
 * same handlers, authorization and faults, with the input unflattened from the form and the
 * answer written as XML.
 */
export interface QueryCompatibility {
  /** The service of the SigV4 credential scope of its query requests (`monitoring`). */
  scopeService: string;
  /** The XML namespace of its answers. */
  namespace: string;
  /** The operation's input from the request's parameters (numbers and booleans typed). */
  input(operation: string, params: Record<string, QueryValue>): unknown;
  /** The query error code of an error type (`InvalidFormatFault` is `InvalidFormat`). */
  errorCode(type: string): string;
}

interface Mounted {
  protocol: Protocol;
  service: string;
  handlers: Record<string, Handler>;
  query?: QueryCompatibility;
}

/** Called before each operation; throws an AwsError to answer it instead (throttling). */
export type BeforeOperation = (service: string, operation: string) => void;

/** One API call as the authorization hook sees it. */
export interface CallToAuthorize {
  /** The access key id of the SigV4 credential scope; undefined for unsigned requests. */
  accessKeyId: string | undefined;
  service: string;
  operation: string;
  input: unknown;
  region: string;
}

/** Authenticates and authorizes a call; rejects with an AwsError (AccessDeniedException) to refuse it. */
export type Authorize = (call: CallToAuthorize) => Promise<void>;

/** A query-protocol service (form-encoded `Action=...`, XML answers), such as STS. */
export type QueryHandler = (
  form: URLSearchParams,
  request: { accessKeyId: string | undefined; region: string },
) => Promise<QueryResponse>;

/**
 * Turns Dates into epoch seconds, as the awsJson protocols put timestamps on the wire,
 * and drops undefined fields.
 */
export function toWire(value: unknown): unknown {
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(toWire);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) {
      if (field !== undefined) out[key] = toWire(field);
    }
    return out;
  }
  return value;
}

/** The Region of a SigV4 `Authorization` header's credential scope. */
export function regionOf(authorization: string | undefined): string {
  const match = /Credential=[^/,\s]+\/\d{8}\/([a-z0-9-]+)\//.exec(authorization ?? '');
  return match?.[1] ?? 'us-east-1';
}

/**
 * The access key id of a SigV4 `Authorization` header's credential scope: who signed the
 * request. The signature itself is not verified.
 */
export function accessKeyOf(authorization: string | undefined): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(authorization ?? '')?.[1];
}

/** The service of a SigV4 credential scope (`sts`, `ecs`...). */
export function scopeServiceOf(authorization: string | undefined): string | undefined {
  return /Credential=[^/,\s]+\/\d{8}\/[a-z0-9-]+\/([a-z0-9-]+)\//.exec(authorization ?? '')?.[1];
}

/**
 * The wire side of the local AWS: one HTTP server on 127.0.0.1 that routes
 * `POST /` with `X-Amz-Target: <prefix>.<Operation>` to the mounted services, and
 * `/_local/...` to control handlers.
 */
export class WireServer {
  private readonly services = new Map<string, Mounted>();
  private readonly control = new Map<string, ControlHandler>();
  private readonly queryServices = new Map<string, QueryHandler>();
  private readonly calls = new Map<string, number>();
  private readonly server: Server;

  constructor(
    private readonly beforeOperation: BeforeOperation = () => {},
    private readonly authorize: Authorize = async () => {},
  ) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) this.send(res, 500, { message: String(error) }, 'application/json');
        else res.destroy();
      });
    });
    // Long-polling SDK clients keep sockets open; closing the server must not wait for them.
    this.server.keepAliveTimeout = 5_000;
  }

  /**
   * Serves `targetPrefix.<Operation>` with `handlers`; `service` names it for throttle faults.
   * With `query`, the same operations also answer the query protocol.
   */
  mount(
    targetPrefix: string,
    protocol: Protocol,
    handlers: Record<string, Handler>,
    service = SERVICE_NAMES[targetPrefix] ?? targetPrefix,
    query?: QueryCompatibility,
  ): void {
    const existing = this.services.get(targetPrefix);
    this.services.set(targetPrefix, {
      protocol,
      service,
      handlers: { ...(existing?.handlers ?? {}), ...handlers },
      query: query ?? existing?.query,
    });
  }

  /**
   * Serves a query-protocol service: form-encoded POSTs signed for `scopeService` (the
   * service of the SigV4 credential scope) go to `handler`.
   */
  mountQuery(scopeService: string, handler: QueryHandler): void {
    this.queryServices.set(scopeService, handler);
  }

  /** Serves `METHOD /_local/<path>` with `handler`. */
  route(method: string, path: string, handler: ControlHandler): void {
    this.control.set(`${method.toUpperCase()} ${path}`, handler);
  }

  /** Every operation served on an awsJson protocol, as `service.Operation`. */
  operations(): string[] {
    return [...this.services.values()].flatMap((mounted) =>
      Object.keys(mounted.handlers).map((operation) => `${mounted.service}.${operation}`),
    );
  }

  /**
   * How many times each operation was called, as `service.Operation` (throttled calls
   * included: a client sees them): the figures behind API rate budgets.
   */
  callCounts(): Record<string, number> {
    return Object.fromEntries([...this.calls.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** Starts listening; resolves with the port. */
  listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const failed = (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'EADDRINUSE'
            ? new Error(
                `Port ${port} on 127.0.0.1 is in use: stop what listens there (another local AWS?) or pick another port (0 = any free one).`,
              )
            : error,
        );
      this.server.once('error', failed);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', failed);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** Stops listening and drops every open connection. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith('/_local/')) {
      await this.handleControl(req.method ?? 'GET', url.pathname, raw, res);
      return;
    }
    const target = req.headers['x-amz-target'];
    const scopeService = scopeServiceOf(req.headers.authorization) ?? '';
    const query = this.queryServices.get(scopeService);
    if (query && typeof target !== 'string' && req.method === 'POST') {
      await this.handleQuery(query, req, raw, res);
      return;
    }
    const compatible = [...this.services.values()].find((m) => m.query?.scopeService === scopeService);
    if (compatible?.query && typeof target !== 'string' && req.method === 'POST') {
      await this.handleCompatibleQuery(compatible, compatible.query, req, raw, res);
      return;
    }
    const contentType = (mounted?: Mounted) =>
      mounted?.protocol === 'awsJson1_0' ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1';
    if (req.method !== 'POST' || typeof target !== 'string') {
      this.sendError(
        res,
        new AwsError(
          'UnknownOperationException',
          'The local AWS answers POST requests with an X-Amz-Target header (awsJson protocol), or /_local/ control paths.',
        ),
        contentType(),
      );
      return;
    }
    const dot = target.lastIndexOf('.');
    const mounted = this.services.get(target.slice(0, dot));
    const operation = target.slice(dot + 1);
    if (!mounted || !Object.hasOwn(mounted.handlers, operation)) {
      this.sendError(
        res,
        new AwsError('UnknownOperationException', `The local AWS does not implement ${target}.`),
        contentType(mounted),
      );
      return;
    }
    try {
      let input: unknown = {};
      if (raw.length > 0) {
        try {
          input = JSON.parse(raw);
        } catch {
          throw new AwsError('SerializationException', `The body of ${target} is not valid JSON.`);
        }
      }
      const output = await this.dispatch(mounted, operation, input, req);
      this.send(res, 200, toWire(output ?? {}), contentType(mounted));
    } catch (error) {
      const awsError = asAwsError(error, target);
      if (mounted.query) {
        res.setHeader('x-amzn-query-error', `${mounted.query.errorCode(awsError.type)};Sender`);
      }
      this.sendError(res, awsError, contentType(mounted));
    }
  }

  /** Counts, authorizes and runs one operation of a mounted service (either protocol). */
  private async dispatch(
    mounted: Mounted,
    operation: string,
    input: unknown,
    req: IncomingMessage,
  ): Promise<unknown> {
    const counted = `${mounted.service}.${operation}`;
    this.calls.set(counted, (this.calls.get(counted) ?? 0) + 1);
    const handler = mounted.handlers[operation] as Handler;
    const region = regionOf(req.headers.authorization);
    await this.authorize({
      accessKeyId: accessKeyOf(req.headers.authorization),
      service: mounted.service,
      operation,
      input,
      region,
    });
    this.beforeOperation(mounted.service, operation);
    return handler(input, { region, accountId: ACCOUNT_ID });
  }

  /** A query-protocol request to a query-compatible awsJson service: same handlers, XML answers. */
  private async handleCompatibleQuery(
    mounted: Mounted,
    query: QueryCompatibility,
    req: IncomingMessage,
    raw: string,
    res: ServerResponse,
  ): Promise<void> {
    const form = new URLSearchParams(raw);
    const operation = form.get('Action') ?? '';
    let answer: QueryResponse;
    if (!Object.hasOwn(mounted.handlers, operation)) {
      answer = queryErrorResponse(query.namespace, {
        code: 'InvalidAction',
        message: `The local AWS does not implement ${mounted.service} ${operation || '(no Action)'}.`,
        status: 400,
      });
    } else {
      try {
        const output = await this.dispatch(
          mounted,
          operation,
          query.input(operation, parseQueryParams(form)),
          req,
        );
        const fields = (output ?? {}) as Record<string, unknown>;
        answer = queryResponse(
          operation,
          query.namespace,
          Object.keys(fields).length > 0 ? toQueryXml(fields) : undefined,
        );
      } catch (error) {
        const awsError = asAwsError(error, `${mounted.service} ${operation}`);
        answer = queryErrorResponse(query.namespace, {
          code: query.errorCode(awsError.type),
          message: awsError.message,
          status: awsError.status,
        });
      }
    }
    this.sendXml(res, answer);
  }

  private async handleQuery(
    handler: QueryHandler,
    req: IncomingMessage,
    raw: string,
    res: ServerResponse,
  ): Promise<void> {
    const form = new URLSearchParams(raw);
    const counted = `${scopeServiceOf(req.headers.authorization)}.${form.get('Action')}`;
    this.calls.set(counted, (this.calls.get(counted) ?? 0) + 1);
    const answer = await handler(form, {
      accessKeyId: accessKeyOf(req.headers.authorization),
      region: regionOf(req.headers.authorization),
    });
    this.sendXml(res, answer);
  }

  private sendXml(res: ServerResponse, answer: QueryResponse): void {
    res.writeHead(answer.status, {
      'content-type': 'text/xml',
      'content-length': Buffer.byteLength(answer.body),
      'x-amzn-requestid': randomUUID(),
    });
    res.end(answer.body);
  }

  private async handleControl(method: string, path: string, raw: string, res: ServerResponse): Promise<void> {
    const handler = this.control.get(`${method.toUpperCase()} ${path}`);
    if (!handler) {
      this.send(res, 404, { message: `No control path ${method} ${path}.` }, 'application/json');
      return;
    }
    try {
      const body: unknown = raw.length > 0 ? JSON.parse(raw) : undefined;
      this.send(res, 200, toWire((await handler(body)) ?? {}), 'application/json');
    } catch (error) {
      this.send(
        res,
        400,
        { message: error instanceof Error ? error.message : String(error) },
        'application/json',
      );
    }
  }

  private sendError(res: ServerResponse, error: AwsError, contentType: string): void {
    res.setHeader('x-amzn-errortype', error.type);
    this.send(
      res,
      error.status,
      { ...error.fields, __type: error.type, message: error.message },
      contentType,
    );
  }

  private send(res: ServerResponse, status: number, body: unknown, contentType: string): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': contentType,
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomUUID(),
    });
    res.end(text);
  }
}

/** An error as the service answers it: AwsErrors as they are, anything else a 500 `InternalFailure`. */
function asAwsError(error: unknown, what: string): AwsError {
  return error instanceof AwsError
    ? error
    : new AwsError('InternalFailure', `${what} failed in the local AWS: ${String(error)}`, 500);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
