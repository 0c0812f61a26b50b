import type { Alert, AlertKind } from './transitions';

/** At most this many subscriptions are named in the message text; the lists carry up to LIST_LIMIT each. */
const TEXT_LIMIT = 30;
const LIST_LIMIT = 500;

const HEADINGS: Record<AlertKind, string> = {
  opened: 'New coverage gaps',
  changed: 'Coverage gaps that changed',
  recovered: 'Recovered',
  reminder: 'Still open',
};

export interface WebhookBody {
  /** Markdown: what Teams and Slack incoming webhooks display. */
  text: string;
  summary: string;
  opened: AlertItem[];
  changed: AlertItem[];
  recovered: AlertItem[];
  reminders: AlertItem[];
  truncated: number;
}

interface AlertItem {
  subscriptionId: string;
  displayName: string;
  status: string;
  previousStatus?: string;
  since: string;
  findings: string[];
}

/**
 * One message per run, in a shape Teams, Slack and Logic Apps incoming webhooks all accept: `text` (and
 * `summary`) for people, the same in lists for automation.
 */
export function webhookBody(alerts: readonly Alert[], totals: string): WebhookBody {
  const byKind = (kind: AlertKind) => alerts.filter((a) => a.kind === kind);
  const item = (a: Alert): AlertItem => ({
    subscriptionId: a.coverage.subscriptionId,
    displayName: a.coverage.displayName,
    status: a.coverage.status,
    ...(a.previousStatus ? { previousStatus: a.previousStatus } : {}),
    since: a.since,
    findings: a.coverage.findings.map((f) => f.message),
  });
  const counts = (['opened', 'changed', 'recovered', 'reminder'] as const)
    .map((kind) => [kind, byKind(kind).length] as const)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${n} ${kind === 'reminder' ? 'still open' : kind}`);
  const summary = `Defender continuous export coverage: ${counts.join(', ')}`;
  const lines = [`**${summary}**`, totals];
  let named = 0;
  for (const kind of ['opened', 'changed', 'recovered', 'reminder'] as const) {
    const group = byKind(kind);
    if (group.length === 0) continue;
    lines.push('', `**${HEADINGS[kind]}**`);
    for (const a of group) {
      if (named++ >= TEXT_LIMIT) continue;
      const name = a.coverage.displayName
        ? `${a.coverage.displayName} (${a.coverage.subscriptionId})`
        : a.coverage.subscriptionId;
      // A recovery to AwaitingData (a fixed export whose first data is not due yet) says so.
      const detail =
        a.kind === 'recovered'
          ? `was ${a.previousStatus}${a.coverage.findings[0] ? `; ${a.coverage.findings[0].message}` : ''}`
          : (a.coverage.findings[0]?.message ?? '');
      lines.push(`- ${name}: **${a.coverage.status}** — ${detail}`);
    }
  }
  if (named > TEXT_LIMIT) lines.push('', `… and ${named - TEXT_LIMIT} more`);
  const capped = (kind: AlertKind) => byKind(kind).slice(0, LIST_LIMIT).map(item);
  return {
    text: lines.join('\n'),
    summary,
    opened: capped('opened'),
    changed: capped('changed'),
    recovered: capped('recovered'),
    reminders: capped('reminder'),
    truncated: Math.max(
      0,
      ...(['opened', 'changed', 'recovered', 'reminder'] as const).map((k) => byKind(k).length - LIST_LIMIT),
    ),
  };
}

export type PostResult = { ok: true } | { ok: false; reason: string };

/**
 * Posts to the webhook: https only, never following a redirect (which could downgrade it), 10 s per
 * attempt, three attempts for 429, 5xx and network errors. The URL carries a secret and is never logged.
 */
export async function postWebhook(
  url: string,
  body: { text: string; summary: string },
  options: { timeoutMs?: number; attempts?: number } = {},
): Promise<PostResult> {
  if (!url.startsWith('https://')) return { ok: false, reason: 'the webhook URL must be https' };
  const attempts = options.attempts ?? 3;
  let reason = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        redirect: 'error',
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      await response.arrayBuffer();
      if (response.ok) return { ok: true };
      reason = `the webhook answered HTTP ${response.status}`;
      if (response.status !== 429 && response.status < 500) break;
    } catch (error) {
      reason = `the webhook could not be reached (${(error as Error).name})`;
    }
    if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
  }
  return { ok: false, reason };
}
