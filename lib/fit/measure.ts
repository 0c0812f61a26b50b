/** UTF-8 bytes of a value exactly as JSON.stringify writes it: what the Logs Ingestion API counts. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? 'null', 'utf8');
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** Bytes one UTF-16 code unit takes inside a JSON string; a surrogate pair is counted on its first half. */
function escapedBytes(code: number, next: number): number {
  if (code === 0x22 || code === 0x5c) return 2; // \" and \\
  if (code < 0x20) return code === 8 || code === 9 || code === 10 || code === 12 || code === 13 ? 2 : 6;
  if (code < 0x80) return 1;
  if (code < 0x800) return 2;
  if (isHighSurrogate(code)) return isLowSurrogate(next) ? 4 : 6; // a lone surrogate is written as \udXXX
  if (isLowSurrogate(code)) return 6;
  return 3;
}

/**
 * Walks `text` once, cutting it into consecutive pieces whose JSON string bodies (without the quotes) take
 * at most `maxBytes` each, never between the halves of a surrogate pair; stops after `maxPieces`.
 */
function cut(text: string, maxBytes: number, maxPieces: number): string[] {
  const pieces: string[] = [];
  let start = 0;
  let used = 0;
  let i = 0;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
    const bytes = escapedBytes(code, next);
    if (used + bytes > maxBytes) {
      pieces.push(text.slice(start, i));
      if (pieces.length === maxPieces) return pieces;
      start = i;
      used = 0;
    }
    used += bytes;
    i += isHighSurrogate(code) && isLowSurrogate(next) ? 2 : 1;
  }
  pieces.push(text.slice(start));
  return pieces;
}

/** Cuts `text` into pieces of at most `maxBytes` each (see cut); needs maxBytes >= 6 to make progress. */
export function cutString(text: string, maxBytes: number): string[] {
  if (maxBytes < 6) throw new RangeError(`cannot cut a string into pieces of ${maxBytes} bytes`);
  return cut(text, maxBytes, Infinity);
}

/** The longest prefix of `text` whose JSON string body takes at most `maxBytes`. */
export function prefixWithin(text: string, maxBytes: number): string {
  return cut(text, maxBytes, 1)[0]!;
}
