import { AwsError } from '../aws-error.js';
import { ACCOUNT_ID } from '../server.js';

/** A stored parameter, shaped as GetParameter and GetParametersByPath return it. */
export interface StoredParameter {
  Name: string;
  Type: 'String' | 'StringList' | 'SecureString';
  Value: string;
  Version: number;
  LastModifiedDate: Date;
  ARN: string;
  DataType: string;
  Tier: 'Standard' | 'Advanced';
  Description?: string;
}

/** What PutParameter takes (the fields the local AWS models). */
export interface PutParameterInput {
  Name?: string;
  Value?: string;
  Type?: string;
  Overwrite?: boolean;
  Tier?: string;
  Description?: string;
  DataType?: string;
}

/** What GetParametersByPath takes. */
export interface ParametersByPathInput {
  Path?: string;
  Recursive?: boolean;
  NextToken?: string;
  MaxResults?: number;
}

/** Parameter Store's value ceilings per tier, in characters. */
const MAX_VALUE_CHARS = { Standard: 4096, Advanced: 8192 } as const;

/** GetParametersByPath returns at most this many parameters per page. */
const MAX_PAGE_SIZE = 10;

const TYPES = new Set(['String', 'StringList', 'SecureString']);

/**
 * SSM Parameter Store: parameters per Region, with the checks AWS makes on names, types,
 * tiers and value sizes, and GetParametersByPath's hierarchy and paging.
 */
export class SsmModel {
  private readonly regions = new Map<string, Map<string, StoredParameter>>();

  private parameters(region: string): Map<string, StoredParameter> {
    let parameters = this.regions.get(region);
    if (!parameters) {
      parameters = new Map();
      this.regions.set(region, parameters);
    }
    return parameters;
  }

  /** Creates a parameter, or with `Overwrite` a new version of it; returns the version and tier. */
  putParameter(region: string, input: PutParameterInput): { Version: number; Tier: StoredParameter['Tier'] } {
    const name = validName(input.Name);
    if (input.Value === undefined || input.Value === '') {
      throw new AwsError(
        'ValidationException',
        'Value is required and must not be empty; pass the value to store.',
      );
    }
    const existing = this.parameters(region).get(name);
    if (existing && !input.Overwrite) {
      throw new AwsError(
        'ParameterAlreadyExists',
        `The parameter ${name} already exists; pass Overwrite: true to store a new version.`,
      );
    }
    const type = input.Type ?? existing?.Type;
    if (type === undefined || !TYPES.has(type)) {
      throw new AwsError(
        'ValidationException',
        `Type is ${type === undefined ? 'missing' : `'${type}'`}; use String, StringList or SecureString.`,
      );
    }
    const tier = tierOf(name, input.Value, input.Tier, existing?.Tier);
    const version = (existing?.Version ?? 0) + 1;
    this.parameters(region).set(name, {
      Name: name,
      Type: type as StoredParameter['Type'],
      Value: input.Value,
      Version: version,
      LastModifiedDate: new Date(),
      ARN: `arn:aws:ssm:${region}:${ACCOUNT_ID}:parameter${name.startsWith('/') ? '' : '/'}${name}`,
      DataType: input.DataType ?? 'text',
      Tier: tier,
      Description: input.Description ?? existing?.Description,
    });
    return { Version: version, Tier: tier };
  }

  /** The parameter of that name, or AWS's `ParameterNotFound`. */
  getParameter(region: string, name: string | undefined): StoredParameter {
    const wanted = validName(name);
    const parameter = this.parameters(region).get(wanted);
    if (!parameter) {
      throw new AwsError('ParameterNotFound', `Parameter ${wanted} not found in ${region}.`);
    }
    return parameter;
  }

  /**
   * The parameters under a path (its direct children, or with `Recursive` every descendant),
   * ordered by name, one page of `MaxResults` (1-10, default 10) at a time.
   */
  getParametersByPath(
    region: string,
    input: ParametersByPathInput,
  ): { Parameters: StoredParameter[]; NextToken?: string } {
    const path = input.Path;
    if (!path?.startsWith('/')) {
      throw new AwsError(
        'ValidationException',
        `Path is ${path === undefined ? 'missing' : `'${path}'`}; a path starts with a slash (/stepdeploy/app).`,
      );
    }
    const pageSize = input.MaxResults ?? MAX_PAGE_SIZE;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
      throw new AwsError(
        'ValidationException',
        `1 validation error detected: Value '${pageSize}' at 'maxResults' failed to satisfy constraint: ` +
          `Member must have value between 1 and ${MAX_PAGE_SIZE}.`,
      );
    }
    const prefix = path.endsWith('/') ? path : `${path}/`;
    const under = [...this.parameters(region).values()]
      .filter((parameter) => {
        if (!parameter.Name.startsWith(prefix)) return false;
        return input.Recursive === true || !parameter.Name.slice(prefix.length).includes('/');
      })
      .sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
    const after = input.NextToken === undefined ? undefined : tokenName(input.NextToken);
    const remaining = after === undefined ? under : under.filter((parameter) => parameter.Name > after);
    const page = remaining.slice(0, pageSize);
    const last = page[page.length - 1];
    return {
      Parameters: page,
      NextToken: remaining.length > pageSize && last ? pageToken(last.Name) : undefined,
    };
  }
}

function validName(name: string | undefined): string {
  if (name === undefined || name === '') {
    throw new AwsError('ValidationException', 'Name is required; pass the name of the parameter.');
  }
  if (name.includes('/') && !name.startsWith('/')) {
    throw new AwsError(
      'ValidationException',
      `Parameter name ${name} is not valid: a name with a hierarchy must be fully qualified, starting with a slash.`,
    );
  }
  if (!/^[a-zA-Z0-9_.\-/]{1,2048}$/.test(name)) {
    throw new AwsError(
      'ValidationException',
      `Parameter name ${name} is not valid: use 1-2048 of a-z A-Z 0-9 _ . - and /.`,
    );
  }
  return name;
}

/**
 * The tier a value is stored in: the one asked for (the parameter's own when none is), and
 * Intelligent-Tiering picks Standard unless the value needs Advanced or the parameter already
 * is Advanced. An Advanced parameter never goes back to Standard: SSM refuses the downgrade
 * (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html, Tier).
 */
function tierOf(
  name: string,
  value: string,
  requested: string | undefined,
  existing: StoredParameter['Tier'] | undefined,
): StoredParameter['Tier'] {
  let tier: StoredParameter['Tier'];
  switch (requested ?? existing ?? 'Standard') {
    case 'Standard':
      tier = 'Standard';
      break;
    case 'Advanced':
      tier = 'Advanced';
      break;
    case 'Intelligent-Tiering':
      tier = existing === 'Advanced' || value.length > MAX_VALUE_CHARS.Standard ? 'Advanced' : 'Standard';
      break;
    default:
      throw new AwsError(
        'ValidationException',
        `Tier '${requested}' of ${name} is not valid; use Standard, Advanced or Intelligent-Tiering.`,
      );
  }
  if (existing === 'Advanced' && tier === 'Standard') {
    throw new AwsError(
      'ValidationException',
      `${name}: This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the ` +
        'advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced ' +
        'parameter and recreate it as a standard parameter.',
    );
  }
  if (value.length > MAX_VALUE_CHARS[tier]) {
    throw new AwsError(
      'ValidationException',
      tier === 'Standard'
        ? `${name}: Standard tier parameters support a maximum parameter value of ${MAX_VALUE_CHARS.Standard} ` +
            `characters (this one has ${value.length}). To create a larger parameter value, upgrade the parameter ` +
            'to use the advanced-parameter tier.'
        : `${name}: Advanced tier parameters support a maximum parameter value of ${MAX_VALUE_CHARS.Advanced} ` +
            `characters (this one has ${value.length}); split the value into several parameters.`,
    );
  }
  return tier;
}

function pageToken(lastName: string): string {
  return Buffer.from(JSON.stringify({ after: lastName })).toString('base64');
}

function tokenName(token: string): string {
  try {
    const decoded = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { after?: unknown };
    if (typeof decoded.after === 'string') return decoded.after;
  } catch {
    // Falls through to the error AWS gives for a token it did not issue.
  }
  throw new AwsError(
    'InvalidNextToken',
    'The NextToken is not valid; pass the NextToken of the previous page.',
  );
}
