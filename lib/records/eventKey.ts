import { createHash, type Hash } from 'node:crypto';

/** A key of the row's EventKey format (16 base64url characters, 96 bits of SHA-256) for any text. */
export function keyOf(text: string): string {
  return shortKey(createHash('sha256').update(text));
}

/**
 * The identity of one delivery of one event: a digest of its JSON, its position in the message and the
 * time Event Hubs enqueued the message. A redelivered batch repeats all three, so the key repeats and
 * duplicates in Log Analytics can be removed at query time; a later export of the same item (next week's
 * snapshot) is enqueued at another time and gets a new key. The JSON's UTF-8 bytes hash to the same key
 * as its text, and faster (a string is converted on the way in). 96 bits, in 16 base64url characters: unique
 * across any table, at half the billed bytes of 32 hex digits.
 */
export function eventKey(
  eventJson: string | Buffer,
  index: number,
  enqueuedTimeUtc: string | undefined,
): string {
  return shortKey(
    createHash('sha256')
      .update(`${enqueuedTimeUtc ?? ''}\n${index}\n`)
      .update(eventJson),
  );
}

/** The EventKey format: the first 96 bits of the digest in base64url. */
const shortKey = (hash: Hash) => hash.digest().subarray(0, 12).toString('base64url');

/**
 * RecordId of a Defender item: 24 hex digits of the SHA-256 of its identity lower-cased (an ARM id, an alert
 * id). As stable and unique as the identity, a tenth of its billed bytes, and computed the same way in KQL:
 * `substring(hash_sha256(tolower(id)), 0, 24)`.
 */
export function recordKey(identity: string): string {
  return createHash('sha256').update(identity.toLowerCase()).digest('hex').slice(0, 24);
}
