import type { JsonObject, JsonValue } from '../records/json';
import { setOwn } from '../records/json';
import { cutString, jsonBytes } from './measure';
import { formatPath, TEXT, type Path } from './partPath';
import { skeletonBytes } from './skeleton';

/** One part's share: a slice or string piece at `path`, or a piece of the event's JSON text. */
export type Piece = { path: Path; content: JsonValue } | { path: typeof TEXT; content: string };

/**
 * Bytes left for a part's Properties (skeleton included) when its PartPath is `partPath`.
 * Supplied by the caller, who knows the identity columns.
 */
export type PropertiesRoom = (partPath: string) => number;

/** Deeper than this a structural split stops being useful to a query; the text fallback takes over. */
export const MAX_SPLIT_DEPTH = 32;
/** The least content a part must carry for the split to make progress. */
const MIN_CONTENT_BYTES = 16;

class FallBackToText extends Error {}

/**
 * Splits an event into pieces that each fit `room`, along its structure where possible: a container that
 * does not fit is cut into slices of consecutive entries, a child too big for any slice leaves a placeholder
 * and is split the same way at its own path, and a long string is cut into pieces. When the structure
 * cannot be followed (too deep for the limit, a key too long for any part), the event's JSON text is cut
 * instead. Returns undefined only when not even the text fallback has room: the identity columns are too big.
 */
export function splitEvent(event: JsonObject, eventJson: string, room: PropertiesRoom): Piece[] | undefined {
  try {
    return splitStructured(event, room);
  } catch (error) {
    if (!(error instanceof FallBackToText)) throw error;
  }
  const textRoom = room(TEXT) - 2; // the quotes around the piece
  if (textRoom < MIN_CONTENT_BYTES) return undefined;
  return cutString(eventJson, textRoom).map((content) => ({ path: TEXT, content }));
}

function splitStructured(event: JsonObject, room: PropertiesRoom): Piece[] {
  const pieces: Piece[] = [];
  const sizes = new Map<object, number>();
  const sizeOf = (value: JsonValue): number => {
    if (typeof value !== 'object' || value === null) return jsonBytes(value);
    let size = sizes.get(value);
    if (size === undefined) sizes.set(value, (size = jsonBytes(value)));
    return size;
  };

  const carry = (node: JsonValue, path: Path): void => {
    if (path.length > MAX_SPLIT_DEPTH) throw new FallBackToText();
    const budget = room(formatPath(path)) - skeletonBytes(path);
    if (budget < MIN_CONTENT_BYTES) throw new FallBackToText();

    if (typeof node === 'string') {
      for (const content of cutString(node, budget - 2)) pieces.push({ path, content });
      return;
    }
    if (typeof node !== 'object' || node === null) throw new FallBackToText(); // a scalar wider than a part

    const isArray = Array.isArray(node);
    const entries: Array<[string | number, JsonValue]> = isArray
      ? node.map((v, i) => [i, v])
      : Object.entries(node);
    const deferred: Array<[string | number, JsonValue]> = [];
    let slice: JsonValue[] | JsonObject = isArray ? [] : {};
    let sliceBytes = 2;
    let count = 0;
    const add = (key: string | number, value: JsonValue, bytes: number) => {
      if (Array.isArray(slice)) slice.push(value);
      else setOwn(slice, key as string, value);
      sliceBytes += bytes + (count > 0 ? 1 : 0);
      count++;
    };
    const flush = () => {
      if (count === 0) return;
      pieces.push({ path, content: slice });
      slice = isArray ? [] : {};
      sliceBytes = 2;
      count = 0;
    };
    const fitsNow = (bytes: number) => sliceBytes + (count > 0 ? 1 : 0) + bytes <= budget;

    for (const [key, value] of entries) {
      const keyBytes = typeof key === 'number' ? 0 : jsonBytes(key) + 1;
      const entryBytes = keyBytes + sizeOf(value);
      if (fitsNow(entryBytes)) {
        add(key, value, entryBytes);
        continue;
      }
      if (2 + entryBytes <= budget) {
        flush();
        add(key, value, entryBytes);
        continue;
      }
      if (typeof value !== 'string' && (typeof value !== 'object' || value === null))
        throw new FallBackToText();
      const placeholder: JsonValue = typeof value === 'string' ? '' : Array.isArray(value) ? [] : {};
      const placeholderBytes = keyBytes + 2;
      if (!fitsNow(placeholderBytes)) {
        flush();
        if (!fitsNow(placeholderBytes)) throw new FallBackToText();
      }
      add(key, placeholder, placeholderBytes);
      deferred.push([key, value]);
    }
    flush();
    for (const [key, value] of deferred) carry(value, [...path, key]);
  };

  carry(event, []);
  return pieces;
}
