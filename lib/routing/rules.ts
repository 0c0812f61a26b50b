import { z } from 'zod';
import { OVERSIZE_STRATEGIES } from '../fit/fit';
import { DATA_TYPES } from '../records/row';

export const SEVERITY_ORDER = ['Informational', 'Low', 'Medium', 'High'] as const;
export const DEFAULT_STREAM = 'Custom-DefenderExport';

const STREAM = /^Custom-[A-Za-z0-9_]{1,100}$/;
const destination = z.union([
  z.literal('logs'),
  z
    .string()
    .regex(/^logs:/)
    .refine((value) => STREAM.test(value.slice('logs:'.length)), {
      message: 'a logs stream is logs:Custom-<Name> (letters, digits and _)',
    }),
  z.literal('archive'),
  z.literal('drop'),
]);

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
  .strict()
  .superRefine((rule, ctx) => {
    if (rule.to.includes('drop') && rule.to.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['to'],
        message: 'drop cannot be combined with other destinations',
      });
    }
    if (new Set(rule.to).size !== rule.to.length) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'a destination is listed twice' });
    }
  });

export type Rule = z.output<typeof ruleSchema>;

/** Ordered rules; the last must match everything, so that no event is ever left without a route. */
export const routesSchema = z
  .array(ruleSchema)
  .min(1)
  .superRefine((rules, ctx) => {
    const last = rules[rules.length - 1];
    if (last?.match !== undefined && Object.keys(last.match).length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: [rules.length - 1, 'match'],
        message:
          'the last rule must match everything (leave out "match"); end with {"to":["drop"]} to drop the rest',
      });
    }
  });

/** Without ROUTES: everything to the default logs stream and to the archive. */
export const DEFAULT_ROUTES: Rule[] = [{ to: ['logs', 'archive'] }];
