import { createHash } from 'node:crypto';

/**
 * The identity of one delivery of one event: a digest of its JSON, its position in the message and the
 * time Event Hubs enqueued the message. A redelivered batch repeats all three, so the key repeats and
 * duplicates in Log Analytics can be removed at query time; a later export of the same item (next week's
 * snapshot) is enqueued at another time and gets a new key. The JSON's UTF-8 bytes hash to the same key
 * as its text, and faster (a string is converted on the way in).
 */
export function eventKey(
  eventJson: string | Buffer,
  index: number,
  enqueuedTimeUtc: string | undefined,
): string {
  return createHash('sha256')
    .update(`${enqueuedTimeUtc ?? ''}\n${index}\n`)
    .update(eventJson)
    .digest('hex')
    .slice(0, 32);
}
