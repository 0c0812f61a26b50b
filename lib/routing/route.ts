import type { OversizeStrategy } from '../fit/fit';
import type { RowIdentity } from '../records/row';
import { SEVERITY_ORDER, type Rule } from './rules';

export interface Decision {
  /** Index of the rule that matched, for the ledger and for troubleshooting. */
  rule: number;
  drop: boolean;
  /** Log Analytics streams to send the event's rows to. */
  streams: string[];
  archive: boolean;
  oversize: OversizeStrategy;
}

type Match = NonNullable<Rule['match']>;

const lower = (values: readonly string[] | undefined) =>
  values && new Set(values.map((v) => v.toLowerCase()));

/** Rules prepared once: lists as lower-cased sets, destinations resolved to streams. */
interface Compiled {
  matches: (identity: RowIdentity) => boolean;
  decision: Omit<Decision, 'rule'>;
}

function compileMatch(match: Match | undefined): (identity: RowIdentity) => boolean {
  if (!match) return () => true;
  const dataTypes = match.dataTypes && new Set<string>(match.dataTypes);
  const categories = lower(match.categories);
  const subscriptions = lower(match.subscriptions);
  const actions = match.actions && new Set<string>(match.actions);
  const minimum = match.minSeverity === undefined ? -1 : SEVERITY_ORDER.indexOf(match.minSeverity);
  return (identity) =>
    (!dataTypes || dataTypes.has(identity.DataType)) &&
    (!categories || categories.has(identity.Category.toLowerCase())) &&
    (!subscriptions || subscriptions.has(identity.AzureSubscriptionId)) &&
    (!actions || actions.has(identity.Action)) &&
    (match.snapshot === undefined || match.snapshot === identity.IsSnapshot) &&
    // An event without a severity (a score, a compliance state) does not meet a minimum severity.
    (minimum < 0 || SEVERITY_ORDER.indexOf(identity.Severity as (typeof SEVERITY_ORDER)[number]) >= minimum);
}

export interface RouterDefaults {
  /** The stream plain `logs` means (LOGS_STREAM_NAME). */
  stream: string;
  /** OVERSIZE_STRATEGY, for rules that do not set their own. */
  oversize: OversizeStrategy;
}

export type Router = (identity: RowIdentity) => Decision;

/** Builds the router: the first rule that matches decides where an event goes. */
export function createRouter(rules: readonly Rule[], defaults: RouterDefaults): Router {
  const compiled: Compiled[] = rules.map((rule) => ({
    matches: compileMatch(rule.match),
    decision: {
      drop: rule.to.includes('drop'),
      streams: rule.to
        .filter((d) => d.startsWith('logs'))
        .map((d) => (d === 'logs' ? defaults.stream : d.slice('logs:'.length))),
      archive: rule.to.includes('archive'),
      oversize: rule.oversize ?? defaults.oversize,
    },
  }));
  return (identity) => {
    const index = compiled.findIndex((rule) => rule.matches(identity));
    // The schema guarantees a catch-all last rule; the fallback only guards against a caller bypassing it.
    const chosen = compiled[index] ?? compiled[compiled.length - 1]!;
    return { rule: index, ...chosen.decision };
  };
}
