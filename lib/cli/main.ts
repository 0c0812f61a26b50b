#!/usr/bin/env node
import { describeFailure } from './failure';
import { EXIT } from './io';
import { run } from './program';

// `defender-export normalize big.ndjson | head` closes the pipe early: stop quietly, as other tools do.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(EXIT.ok);
  throw error;
});

run(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
}).then(
  (code) => {
    process.exitCode = code;
  },
  // run() tells every failure itself; this is only for one that escaped it, which is a bug.
  (error: unknown) => {
    process.stderr.write(describeFailure(error, undefined).text);
    process.exitCode = EXIT.internal;
  },
);
