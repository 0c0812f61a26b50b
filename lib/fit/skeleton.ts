import { setOwn } from '../records/json';
import type { Path } from './partPath';

/** Wraps `content` in the containers that lead to `path`: an index becomes a one-element array. */
export function wrapInSkeleton(path: Path, content: unknown): unknown {
  let value = content;
  for (let i = path.length - 1; i >= 0; i--) {
    const segment = path[i]!;
    if (typeof segment === 'number') {
      value = [value];
    } else {
      const wrapper = {};
      setOwn(wrapper, segment, value);
      value = wrapper;
    }
  }
  return value;
}

/** Bytes the skeleton adds around the content: `{"key":…}` per key, `[…]` per index. */
export function skeletonBytes(path: Path): number {
  let bytes = 0;
  for (const segment of path) {
    bytes += typeof segment === 'number' ? 2 : Buffer.byteLength(JSON.stringify(segment), 'utf8') + 3;
  }
  return bytes;
}

/** The inverse of wrapInSkeleton. Returns undefined when `value` does not have the skeleton's shape. */
export function unwrapSkeleton(path: Path, value: unknown): { content: unknown } | undefined {
  let current = value;
  for (const segment of path) {
    if (typeof segment === 'number') {
      if (!Array.isArray(current) || current.length !== 1) return undefined;
      current = current[0];
    } else {
      if (typeof current !== 'object' || current === null || !Object.hasOwn(current, segment))
        return undefined;
      current = (current as Record<string, unknown>)[segment];
    }
  }
  return { content: current };
}
