import type { JsonObject, JsonValue } from '../records/json';
import { setOwn } from '../records/json';
import { jsonBytes, prefixWithin } from './measure';

/** Deeper than this a trimmed subtree is replaced by a marker rather than trimmed level by level. */
export const MAX_TRIM_DEPTH = 64;

export const trimmedStringMarker = (bytes: number) => `…[trimmed ${bytes} bytes]`;
export const trimmedElementsMarker = (dropped: number, of: number) =>
  `…[trimmed ${dropped} of ${of} elements]`;
export const TRIMMED_PROPERTIES_KEY = '…trimmed';
export const trimmedPropertiesMarker = (dropped: number, of: number) => `${dropped} of ${of} properties`;

/**
 * Returns `value` cut down to at most `budget` bytes of JSON (budget >= 2), cutting the largest content
 * first, each cut marked with what was removed. An object's budget is shared by water-filling: every
 * property may keep up to a common cap and only those bigger than the cap are trimmed (recursively) to it,
 * so small fields survive intact. An array keeps its leading elements whole and drops the tail.
 */
export function trimToFit(value: JsonValue, budget: number): JsonValue {
  if (budget < 2) throw new RangeError(`cannot trim to ${budget} bytes`);
  const sizes = new Map<object, number>();
  const sizeOf = (v: JsonValue): number => {
    if (typeof v !== 'object' || v === null) return jsonBytes(v);
    let size = sizes.get(v);
    if (size === undefined) sizes.set(v, (size = jsonBytes(v)));
    return size;
  };

  const fit = (v: JsonValue, room: number, depth: number): JsonValue => {
    const size = sizeOf(v);
    if (size <= room) return v;
    if (typeof v === 'string') return trimString(v, size, room);
    if (typeof v !== 'object' || v === null) return null; // only reached when room < a number's width
    if (depth >= MAX_TRIM_DEPTH) return markerOrEmpty(v, size, room);
    return Array.isArray(v) ? fitArray(v, room, depth) : fitObject(v, room, depth);
  };

  const fitChildren = (
    children: Array<{ keyBytes: number; value: JsonValue }>,
    room: number,
    fixed: number,
    depth: number,
  ): JsonValue[] => {
    const minimum = children.map(({ value }) => minimumSize(value, sizeOf));
    const full = children.map(({ value }) => sizeOf(value));
    const total = (cap: number) =>
      children.reduce((sum, _, i) => sum + Math.max(minimum[i]!, Math.min(full[i]!, cap)), fixed);
    // The largest cap every child may keep, found by bisection (total() only grows with the cap).
    let low = 0;
    let high = full.reduce((max, bytes) => Math.max(max, bytes), 0);
    while (low < high) {
      const mid = Math.ceil((low + high) / 2);
      if (total(mid) <= room) low = mid;
      else high = mid - 1;
    }
    return children.map(({ value }, i) =>
      fit(value, Math.max(minimum[i]!, Math.min(full[i]!, low)), depth + 1),
    );
  };

  // A list keeps its leading elements whole (a whole entity beats four hundred stubs); the first one that
  // does not fit is trimmed into the room left when that is worth it, and the rest are counted in a marker.
  const fitArray = (array: JsonValue[], room: number, depth: number): JsonValue[] => {
    const markerAfter = (dropped: number) =>
      dropped > 0 ? 1 + jsonBytes(trimmedElementsMarker(dropped, array.length)) : 0;
    const result: JsonValue[] = [];
    let used = 2;
    for (let i = 0; i < array.length; i++) {
      const element = array[i]!;
      const separator = result.length > 0 ? 1 : 0;
      const reserve = markerAfter(array.length - i - 1);
      const size = sizeOf(element);
      if (used + separator + size + reserve <= room) {
        result.push(element);
        used += separator + size;
        continue;
      }
      const left = room - used - separator - reserve;
      if (left >= minimumSize(element, sizeOf) && (result.length === 0 || left >= room / 4)) {
        result.push(fit(element, left, depth + 1));
        used += separator + left;
        i++;
      }
      const dropped = array.length - i;
      if (
        dropped > 0 &&
        used + (result.length > 0 ? 1 : 0) + jsonBytes(trimmedElementsMarker(dropped, array.length)) <= room
      ) {
        result.push(trimmedElementsMarker(dropped, array.length));
      }
      return result;
    }
    return result;
  };

  const fitObject = (object: JsonObject, room: number, depth: number): JsonObject => {
    const entries = Object.entries(object);
    const keyBytes = entries.map(([key]) => jsonBytes(key) + 1);
    const plan = keepLeading(
      keyBytes,
      entries.map(([, v]) => minimumSize(v, sizeOf)),
      room,
      (dropped) =>
        jsonBytes(TRIMMED_PROPERTIES_KEY) + 1 + jsonBytes(trimmedPropertiesMarker(dropped, entries.length)),
    );
    const kept = entries.slice(0, plan.keep).map(([, value], i) => ({ keyBytes: keyBytes[i]!, value }));
    const values = fitChildren(kept, room, plan.fixed, depth);
    const result: JsonObject = {};
    values.forEach((value, i) => setOwn(result, entries[i]![0], value));
    if (plan.marker) {
      setOwn(
        result,
        TRIMMED_PROPERTIES_KEY,
        trimmedPropertiesMarker(entries.length - plan.keep, entries.length),
      );
    }
    return result;
  };

  return fit(value, budget, 0);
}

/**
 * How many leading children to keep, each at its minimum size, so that they (and a marker for the
 * dropped rest, when there is room for one) fit `room`. `fixed` is the bytes of everything but the
 * children's values: brackets, commas, keys and the marker.
 */
function keepLeading(
  keyBytes: number[],
  minimum: number[],
  room: number,
  markerBytes: (dropped: number) => number,
): { keep: number; fixed: number; marker: boolean } {
  const n = keyBytes.length;
  let best = { keep: 0, fixed: 2, marker: false };
  let used = 2;
  for (let k = 0; k <= n; k++) {
    if (k > 0) used += keyBytes[k - 1]! + minimum[k - 1]! + (k > 1 ? 1 : 0);
    if (used > room) break;
    if (k === n) return { keep: n, fixed: used - sumMinimum(minimum, n), marker: false };
    const withMarker = used + (k > 0 ? 1 : 0) + markerBytes(n - k);
    if (withMarker <= room) best = { keep: k, fixed: withMarker - sumMinimum(minimum, k), marker: true };
  }
  return best;
}

function sumMinimum(minimum: number[], count: number): number {
  let sum = 0;
  for (let i = 0; i < count; i++) sum += minimum[i]!;
  return sum;
}

/** The least a value can be cut to: `""`, `[]` or `{}`; a number or literal cannot be cut at all. */
function minimumSize(value: JsonValue, sizeOf: (v: JsonValue) => number): number {
  if (typeof value === 'string' || (typeof value === 'object' && value !== null))
    return Math.min(2, sizeOf(value));
  return sizeOf(value);
}

function trimString(text: string, size: number, room: number): string {
  const marker = trimmedStringMarker(size);
  const markerBytes = jsonBytes(marker) - 2;
  if (room - 2 >= markerBytes) {
    const prefix = prefixWithin(text, room - 2 - markerBytes);
    return prefix + trimmedStringMarker(size - jsonBytes(prefix));
  }
  return room >= 5 ? '…' : '';
}

function markerOrEmpty(value: JsonValue, size: number, room: number): JsonValue {
  const marker = trimmedStringMarker(size);
  if (jsonBytes(marker) <= room) return marker;
  return Array.isArray(value) ? [] : {};
}
