import type { StateMachineDefinition } from 'aws-local-stepfunctions';

type States = StateMachineDefinition['States'];
type AnyState = States[string];

/** ASL's default `IntervalSeconds` of a retrier (https://states-language.net/spec.html#retrying-after-error). */
const DEFAULT_INTERVAL_SECONDS = 1;

/** A copy of `states` with `change` applied to every state, nested ones (Parallel branches, Map processors) included. */
function mapStates(states: States, change: (state: AnyState) => AnyState): States {
  return Object.fromEntries(
    Object.entries(states).map(([name, state]) => {
      let changed = change(state);
      if (changed.Type === 'Parallel') {
        changed = {
          ...changed,
          Branches: changed.Branches.map((branch) => ({
            ...branch,
            States: mapStates(branch.States, change),
          })),
        };
      }
      if (changed.Type === 'Map') {
        if (changed.ItemProcessor)
          changed = {
            ...changed,
            ItemProcessor: {
              ...changed.ItemProcessor,
              States: mapStates(changed.ItemProcessor.States, change),
            },
          };
        if (changed.Iterator)
          changed = {
            ...changed,
            Iterator: { ...changed.Iterator, States: mapStates(changed.Iterator.States, change) },
          };
      }
      return [name, changed];
    }),
  ) as States;
}

/**
 * `ResultPath: "$"` (on a state or a catcher) replaces the whole input with the result, as no
 * `ResultPath` does (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultpath.html:
 * "If you don't specify a ResultPath, the default behavior is as if you had specified
 * "ResultPath": "$""), whatever the input's JSON type. aws-local-stepfunctions 3 instead writes
 * the result under a key named `$`, and fails an input that is not an object with
 * States.ResultPathMatchFailure: the engine is given the equivalent definition without it.
 */
function withoutRootResultPaths(state: AnyState): AnyState {
  let changed: AnyState = state;
  if ('ResultPath' in changed && changed.ResultPath === '$') {
    const { ResultPath: _, ...rest } = changed;
    changed = rest as AnyState;
  }
  if ('Catch' in changed && changed.Catch) {
    changed = {
      ...changed,
      Catch: changed.Catch.map((catcher) => {
        if (catcher.ResultPath !== '$') return catcher;
        const { ResultPath: _, ...rest } = catcher;
        return rest;
      }),
    } as AnyState;
  }
  return changed;
}

/**
 * Every retrier's `IntervalSeconds` and `MaxDelaySeconds` divided by `timeScale`, so a retry waits
 * as AWS would (`BackoffRate` growing each interval, `MaxDelaySeconds` capping it, `JitterStrategy`
 * FULL drawing a wait up to it), only faster
 * (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html#error-handling-retrying-after-an-error).
 */
function withScaledRetries(timeScale: number): (state: AnyState) => AnyState {
  return (state) => {
    if (!('Retry' in state) || !state.Retry) return state;
    return {
      ...state,
      Retry: state.Retry.map((retrier) => ({
        ...retrier,
        IntervalSeconds: (retrier.IntervalSeconds ?? DEFAULT_INTERVAL_SECONDS) / timeScale,
        ...(retrier.MaxDelaySeconds === undefined
          ? {}
          : { MaxDelaySeconds: retrier.MaxDelaySeconds / timeScale }),
      })),
    } as AnyState;
  };
}

/**
 * The definition the local engine runs for `definition`: AWS's meaning of `ResultPath: "$"` kept,
 * and, with a `timeScale` above 1, the execution timeout (whole seconds, as ASL has them) and the
 * retry intervals shortened by it. Task timeouts stay real: a handler's scaled waits shrink, but
 * its SDK calls, retries and the processes it starts take real time, which a scaled task timeout
 * would cut. The result may hold fractional seconds: run it without validation (validate `definition`).
 */
export function engineDefinition(definition: StateMachineDefinition, timeScale = 1): StateMachineDefinition {
  const scaleRetries = withScaledRetries(timeScale);
  const states = mapStates(definition.States, (state) =>
    timeScale === 1 ? withoutRootResultPaths(state) : scaleRetries(withoutRootResultPaths(state)),
  );
  const engine: StateMachineDefinition = { ...definition, States: states };
  if (definition.TimeoutSeconds !== undefined && timeScale !== 1) {
    engine.TimeoutSeconds = Math.max(1, Math.ceil(definition.TimeoutSeconds / timeScale));
  }
  return engine;
}
