import { DefenderExportError } from '../errors';
import { setOwn, type JsonValue } from '../records/json';
import { parsePath, TEXT, WHOLE } from './partPath';
import { unwrapSkeleton } from './skeleton';

/** The columns reassembly reads; rows exported from Log Analytics carry more, which are ignored. */
export interface PartRow {
  EventKey: string;
  PartIndex: number;
  PartCount: number;
  PartPath: string;
  Trimmed?: boolean;
  ArchiveBlob?: string;
  Properties: unknown;
}

export class ReassemblyError extends DefenderExportError {
  override readonly name = 'ReassemblyError';
  constructor(message: string) {
    super(message, true);
  }
}

/** Puts the parts of one event (any order) back into exactly the original event. */
export function reassemble(parts: readonly PartRow[]): JsonValue {
  if (parts.length === 0) throw new ReassemblyError('no parts to reassemble');
  const ordered = [...parts].sort((a, b) => a.PartIndex - b.PartIndex);
  const first = ordered[0]!;
  const key = first.EventKey;
  if (ordered.some((part) => part.EventKey !== key))
    throw new ReassemblyError('parts of different events were mixed');
  const trimmed = ordered.find((part) => part.Trimmed);
  if (trimmed) {
    throw new ReassemblyError(
      `event ${key} was trimmed; its original is archived at ${trimmed.ArchiveBlob || '(unknown)'}`,
    );
  }
  const count = first.PartCount;
  ordered.forEach((part, i) => {
    if (part.PartIndex !== i || part.PartCount !== count) {
      throw new ReassemblyError(
        `event ${key}: expected part ${i} of ${count}, found part ${part.PartIndex} of ${part.PartCount}`,
      );
    }
  });
  if (ordered.length !== count)
    throw new ReassemblyError(`event ${key}: ${ordered.length} of ${count} parts present`);

  if (count === 1 && first.PartPath === WHOLE) return first.Properties as JsonValue;
  if (first.PartPath === TEXT) return reassembleText(key, ordered);

  let root: JsonValue | undefined;
  for (const part of ordered) {
    const path = parsePath(part.PartPath);
    const unwrapped = unwrapSkeleton(path, part.Properties);
    if (!unwrapped)
      throw new ReassemblyError(
        `event ${key}: part ${part.PartIndex}'s Properties do not lead to ${part.PartPath}`,
      );
    const share = unwrapped.content as JsonValue;
    if (path.length === 0) {
      root = root === undefined ? emptyLike(share) : root;
      append(key, part.PartIndex, root, share);
      continue;
    }
    let parent: JsonValue | undefined = root;
    for (const segment of path.slice(0, -1)) parent = child(parent, segment);
    const last = path[path.length - 1]!;
    const target = child(parent, last);
    if (typeof target === 'string' && typeof share === 'string') {
      if (Array.isArray(parent)) parent[last as number] = target + share;
      else setOwn(parent as object, last as string, target + share);
    } else if (target === undefined || typeof target !== 'object' || target === null) {
      throw new ReassemblyError(
        `event ${key}: part ${part.PartIndex} continues ${part.PartPath}, which an earlier part did not start`,
      );
    } else {
      append(key, part.PartIndex, target, share);
    }
  }
  return root as JsonValue;
}

function reassembleText(key: string, parts: readonly PartRow[]): JsonValue {
  let text = '';
  for (const part of parts) {
    if (part.PartPath !== TEXT || typeof part.Properties !== 'string') {
      throw new ReassemblyError(`event ${key}: part ${part.PartIndex} is not a text piece`);
    }
    text += part.Properties;
  }
  return JSON.parse(text) as JsonValue;
}

function emptyLike(share: JsonValue): JsonValue {
  return Array.isArray(share) ? [] : {};
}

function child(parent: JsonValue | undefined, segment: string | number): JsonValue | undefined {
  if (typeof parent !== 'object' || parent === null) return undefined;
  if (Array.isArray(parent)) return typeof segment === 'number' ? parent[segment] : undefined;
  return typeof segment === 'string' && Object.hasOwn(parent, segment) ? parent[segment] : undefined;
}

function append(key: string, index: number, target: JsonValue, share: JsonValue): void {
  if (Array.isArray(target) && Array.isArray(share)) {
    for (const element of share) target.push(copyIfEmpty(element));
  } else if (isObject(target) && isObject(share)) {
    for (const [name, value] of Object.entries(share)) setOwn(target, name, copyIfEmpty(value));
  } else {
    throw new ReassemblyError(`event ${key}: part ${index} does not match the shape the earlier parts began`);
  }
}

/** Placeholders are filled in place: copy them so the caller's rows are never modified. */
function copyIfEmpty(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.length === 0 ? [] : value;
  if (isObject(value)) {
    for (const _ in value) return value;
    return {};
  }
  return value;
}

function isObject(value: JsonValue): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
