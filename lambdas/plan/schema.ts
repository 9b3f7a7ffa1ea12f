import * as z from 'zod';
import type { DeployConfig } from '../shared/config.js';
import { RELEASE_NAME } from '../shared/markers.js';
import { parseOrThrow } from '../shared/schemas.js';
import type { ReleaseInput } from '../shared/types.js';

/** What the state machine passes Plan. */
export interface PlanEvent {
  /** The execution input, validated against the configuration by `parseReleaseInput`. */
  input: unknown;
  executionArn: string;
  stateMachineArn: string;
}

/** The event; the input inside it is checked separately, against the configuration. */
export const PlanEventSchema: z.ZodType<PlanEvent> = z.object({
  input: z.unknown(),
  executionArn: z.string().startsWith('arn:', 'expected the execution ARN (JsonPath.executionId)'),
  stateMachineArn: z.string().startsWith('arn:', 'expected the state machine ARN'),
});

const RELEASE_RULE = '1-64 of A-Z a-z 0-9 . _ -';
const INPUT_FIELDS = 'release, images, environments, skipMigrations, rollbackTo';
const show = (value: unknown) => JSON.stringify(value) ?? String(value);
const IMAGES_EXAMPLE = '{"app": "repo/app:tag"}';

/**
 * The execution input's schema for this configuration: environments must be configured ones,
 * and the input is either a release of new images (`images`, optionally `skipMigrations`) or
 * a rollback to an earlier release (`rollbackTo`, without images or skipMigrations).
 */
export function releaseInputSchema(config: DeployConfig): z.ZodType<ReleaseInput> {
  const configured = config.environments.map((environment) => environment.name);
  return z
    .strictObject(
      {
        release: z
          .string({
            error: (issue) =>
              issue.input === undefined
                ? `required: name the release with ${RELEASE_RULE}, e.g. "2026-11-26.3"`
                : `expected a string of ${RELEASE_RULE}, got ${show(issue.input)}`,
          })
          .regex(RELEASE_NAME, {
            error: (issue) => `${show(issue.input)} is not a release name; use ${RELEASE_RULE}`,
          }),
        rollbackTo: z
          .string({
            error: (issue) =>
              `expected the name of the earlier release to roll back to (${RELEASE_RULE}), got ${show(issue.input)}`,
          })
          .regex(RELEASE_NAME, {
            error: (issue) =>
              `${show(issue.input)} is not a release name; name the earlier release to roll back to (${RELEASE_RULE})`,
          })
          .optional(),
        images: z
          .record(
            z.string().regex(/^[A-Za-z0-9_-]{1,255}$/),
            z.string({ error: (issue) => `expected an image URI string, got ${show(issue.input)}` }).min(1, {
              error:
                'the image URI is empty; give e.g. "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:3f2c1d0"',
            }),
            {
              error: (issue) =>
                issue.code === 'invalid_key'
                  ? `${show(issue.input)} is not a container name; use 1-255 of A-Z a-z 0-9 _ -`
                  : `expected an object of container name to image URI, got ${show(issue.input)}`,
            },
          )
          .refine((images) => Object.keys(images).length > 0, {
            error: `empty: name at least one container and the image to roll out, e.g. ${IMAGES_EXAMPLE}`,
          })
          .optional(),
        environments: z
          .array(z.string({ error: (issue) => `expected an environment name, got ${show(issue.input)}` }), {
            error: (issue) => `expected a list of environment names, got ${show(issue.input)}`,
          })
          .min(1, { error: `empty: list some of ${configured.join(', ')}, or leave it out to deploy to all` })
          .superRefine((names, context) => {
            names.forEach((name, index) => {
              if (!configured.includes(name)) {
                context.addIssue({
                  code: 'custom',
                  path: [index],
                  message: `${show(name)} is not configured; configured: ${configured.join(', ')}`,
                });
              } else if (names.indexOf(name) !== index) {
                context.addIssue({
                  code: 'custom',
                  path: [index],
                  message: `${show(name)} is listed twice (also at [${names.indexOf(name)}]); list each environment once`,
                });
              }
            });
          })
          .optional(),
        skipMigrations: z
          .boolean({ error: (issue) => `expected true or false, got ${show(issue.input)}` })
          .optional(),
      },
      {
        error: (issue) =>
          issue.code === 'unrecognized_keys'
            ? `unknown field; the input takes ${INPUT_FIELDS}`
            : `expected an object with ${INPUT_FIELDS}, got ${show(issue.input)}`,
      },
    )
    .superRefine((input, context) => {
      if (input.rollbackTo === undefined) {
        if (input.images === undefined) {
          context.addIssue({
            code: 'custom',
            path: ['images'],
            message: `required: map each container to the image to roll out, e.g. ${IMAGES_EXAMPLE}; or give rollbackTo to deploy an earlier release again`,
          });
        }
        return;
      }
      if (input.rollbackTo === input.release) {
        context.addIssue({
          code: 'custom',
          path: ['rollbackTo'],
          message: `names this run's own release ${show(input.release)}; name the earlier release to deploy again, and give this run a release name of its own`,
        });
      }
      if (input.images !== undefined) {
        context.addIssue({
          code: 'custom',
          path: ['images'],
          message: `a rollback deploys the revisions release ${show(input.rollbackTo)} registered, with their images; leave images out, or leave rollbackTo out to release these images`,
        });
      }
      if (input.skipMigrations !== undefined) {
        context.addIssue({
          code: 'custom',
          path: ['skipMigrations'],
          message: 'a rollback runs no migrations and no steps; leave skipMigrations out',
        });
      }
    })
    .transform((input) => input as ReleaseInput);
}

/** The execution input, checked against the configuration; every problem named in one `ValidationError`. */
export function parseReleaseInput(input: unknown, config: DeployConfig): ReleaseInput {
  return parseOrThrow(releaseInputSchema(config), input, 'input');
}
