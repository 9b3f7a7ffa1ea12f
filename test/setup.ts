// aws-local-stepfunctions 3 calls Promise.withResolvers, which Node 20 lacks.
import '../local/polyfills.js';

// Handlers a test calls directly log nothing, as a function whose level is above ERROR would: a
// test that reads their lines sets the level Lambda would (AWS_LAMBDA_LOG_LEVEL), which wins.
// The local AWS sets each function's level from its template, so end-to-end runs still log.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
