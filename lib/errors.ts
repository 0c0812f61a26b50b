/**
 * The project's error family. `isBadInput` separates what the caller gave us (a malformed event, a
 * setting out of range) from our own faults, so callers can dead-letter the first and rethrow the second.
 */
export class DefenderExportError extends Error {
  constructor(
    message: string,
    readonly isBadInput: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A setting is missing or invalid; `problems` lists every one, each naming the setting. */
export class ConfigError extends DefenderExportError {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`, true);
  }
}

/** An event cannot become a row: the reason names the field or the rule it breaks. */
export class InvalidEventError extends DefenderExportError {
  override readonly name = 'InvalidEventError';
  constructor(readonly reason: string) {
    super(reason, true);
  }
}

/** A row cannot be made to fit the record limit (the identity columns alone are too big for it). */
export class FitError extends DefenderExportError {
  override readonly name = 'FitError';
  constructor(message: string) {
    super(message, true);
  }
}

/**
 * A failure the user can fix, not a bug: the command line prints `defender-export: error: <message>` and
 * then `hint` (what to do), and exits with 2 without a stack trace. Missing credentials, an endpoint that
 * does not resolve or answer, an input file that cannot be read.
 */
export class ActionableError extends DefenderExportError {
  override readonly name: string = 'ActionableError';
  constructor(
    message: string,
    readonly hint: string,
    options?: ErrorOptions,
  ) {
    super(message, true, options);
  }
}
