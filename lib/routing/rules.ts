import { z } from 'zod';
import { OVERSIZE_STRATEGIES } from '../fit/fit';
import { DATA_TYPES } from '../records/row';

export const SEVERITY_ORDER = ['Informational', 'Low', 'Medium', 'High'] as const;
export const DEFAULT_STREAM = 'Custom-DefenderExport';

const STREAM = /^Custom-[A-Za-z0-9_]{1,100}$/;
const isDestination = (value: string) =>
  value === 'logs' ||
  value === 'archive' ||
  value === 'drop' ||
  (value.startsWith('logs:') && STREAM.test(value.slice(5)));
const destination = z.string().refine(isDestination, {
  message: 'must be logs, logs:Custom-<Name> (letters, digits and _), archive or drop',
});

const nonEmptyList = <T extends z.ZodType>(item: T) => z.array(item).min(1);

export const ruleSchema = z
  .object({
    name: z.string().optional(),
    match: z
      .object({
        dataTypes: nonEmptyList(z.enum(DATA_TYPES)).optional(),
        /** XDR tables (`DeviceEvents`), or the Category column of any type; case-insensitive. */
        categories: nonEmptyList(z.string().min(1)).optional(),
        minSeverity: z.enum(SEVERITY_ORDER).optional(),
        subscriptions: nonEmptyList(z.string().min(1)).optional(),
        /** true: weekly snapshots only; false: streaming (non-snapshot) events only. */
        snapshot: z.boolean().optional(),
        actions: nonEmptyList(z.enum(['Insert', 'Delete', 'Write'])).optional(),
      })
      .strict()
      .optional(),
    to: nonEmptyList(destination),
    oversize: z.enum(OVERSIZE_STRATEGIES).optional(),
  })
  .strict();

export type Rule = z.output<typeof ruleSchema>;

/**
 * Checks ROUTES and reports every problem at once: each rule's shape, destinations that cannot go together,
 * and a last rule that does not match everything (so no event is ever left without a route). Cross-rule
 * checks run on the raw value, because zod skips refinements of an object that already has issues.
 */
export function validateRoutes(raw: unknown): { rules?: Rule[]; problems: string[] } {
  const problems: string[] = [];
  if (!Array.isArray(raw) || raw.length === 0)
    return { problems: ['must be a non-empty JSON array of rules'] };
  const rules: Rule[] = [];
  raw.forEach((candidate, index) => {
    const parsed = ruleSchema.safeParse(candidate);
    if (parsed.success) rules.push(parsed.data);
    for (const issue of parsed.error?.issues ?? []) {
      problems.push(`${[index, ...issue.path].join('.')}: ${issue.message.replace(/^Invalid input: /, '')}`);
    }
    const to = (candidate as { to?: unknown } | null)?.to;
    if (Array.isArray(to) && to.includes('drop') && to.length > 1) {
      problems.push(`${index}.to: drop cannot be combined with other destinations`);
    }
    if (Array.isArray(to) && new Set(to).size !== to.length)
      problems.push(`${index}.to: a destination is listed twice`);
  });
  const last = raw[raw.length - 1] as { match?: unknown } | null;
  const match = last?.match;
  if (
    match !== undefined &&
    !(typeof match === 'object' && match !== null && Object.keys(match).length === 0)
  ) {
    problems.push(
      `${raw.length - 1}.match: the last rule must match everything (leave out "match"); end with {"to":["drop"]} to drop the rest`,
    );
  }
  return problems.length > 0 ? { problems } : { rules, problems };
}

/** Without ROUTES: everything to the default logs stream and to the archive. */
export const DEFAULT_ROUTES: Rule[] = [{ to: ['logs', 'archive'] }];
