import { z } from 'zod';
import { ConfigError } from './errors';
import { MAX_RECORD_LIMIT, MIN_RECORD_LIMIT, OVERSIZE_STRATEGIES } from './fit/fit';

/** An app setting that is unset or blank takes its default. */
const setting = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (typeof value === 'string' && value.trim() === '' ? undefined : value), schema);

/**
 * Every setting the app reads, as one schema over the environment (app settings are environment
 * variables). Add a setting here, to local.settings.sample.json and to the README's table together.
 */
const schema = z.object({
  RECORD_SIZE_LIMIT_BYTES: setting(
    z.coerce.number().int().min(MIN_RECORD_LIMIT).max(MAX_RECORD_LIMIT).default(32_768),
  ),
  OVERSIZE_STRATEGY: setting(z.enum(OVERSIZE_STRATEGIES).default('split')),
});

export type Config = z.output<typeof schema>;

/**
 * Reads and validates the settings. Every problem is reported at once, each naming its setting; values are
 * never echoed, since some settings are secrets.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map(
      (issue) => `${issue.path.join('.')}: ${issue.message.replace(/^Invalid input: /, '')}`,
    ),
  );
}
