import { normalizeMessage, type MessageContext } from '../../lib/records/normalize';
import type { RowIdentity } from '../../lib/records/row';

export const ENQUEUED = '2026-11-24T10:00:00.000Z';

/** The identity columns of every event in one message body, with a fixed enqueued time. */
export function identities(
  body: unknown,
  context: MessageContext = { enqueuedTimeUtc: ENQUEUED },
): RowIdentity[] {
  const { events, rejections } = normalizeMessage(body, context);
  if (rejections.length > 0)
    throw new Error(`unexpected rejections: ${rejections.map((r) => r.reason).join('; ')}`);
  return events.map((e) => e.identity);
}

export function only(body: unknown): RowIdentity {
  const all = identities(body);
  if (all.length !== 1) throw new Error(`expected one event, got ${all.length}`);
  return all[0]!;
}
