import { exceedsDepth, isJsonObject, jsonTypeName, type JsonObject } from './json';

/** Deeper events are refused: JSON.stringify itself overflows the stack a few thousand levels down. */
export const MAX_NESTING_DEPTH = 1000;

export type Envelope = 'object' | 'array' | 'records';

export interface DecodedEvent {
  /** Position of the event inside its message (0 for a bare object). */
  index: number;
  event: JsonObject;
}

/** Part of a message that cannot become an event. `element` is set when only one element of an envelope failed. */
export interface Rejection {
  index?: number;
  element?: unknown;
  reason: string;
}

export interface DecodedMessage {
  envelope?: Envelope;
  events: DecodedEvent[];
  rejections: Rejection[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Turns one Event Hub message body into events. Bodies arrive as objects (the host parsed them), JSON
 * strings, or bytes; envelopes are a bare object, an array, or `{"records": [...]}`. Nothing throws: what
 * cannot be used comes back as a rejection with a reason, and good elements of the same envelope survive.
 */
export function decodeMessage(body: unknown): DecodedMessage {
  const parsed = parseBody(body);
  if ('reason' in parsed) return { events: [], rejections: [{ reason: parsed.reason }] };
  if (typeof parsed.value === 'string') return decodeInnerText(parsed.value);
  return unwrap(parsed.value);
}

/**
 * Some producers JSON-encode the JSON they send, so the body parses to a string whose content is the real
 * object, array or envelope: decode that content, once (a string inside that is refused like any string).
 */
function decodeInnerText(text: string): DecodedMessage {
  const inner = parseText(text);
  if ('value' in inner && (Array.isArray(inner.value) || isJsonObject(inner.value)))
    return unwrap(inner.value);
  return {
    events: [],
    rejections: [{ reason: 'body is a string whose content is not a JSON object or array' }],
  };
}

function parseBody(body: unknown): { value: unknown } | { reason: string } {
  if (typeof body === 'string') return parseText(body);
  const bytes = asBytes(body);
  if (bytes) {
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      return {
        reason: `body is not valid UTF-8 (first bad byte at offset ${firstInvalidUtf8Offset(bytes)})`,
      };
    }
    return parseText(text);
  }
  return { value: body };
}

function parseText(text: string): { value: unknown } | { reason: string } {
  const json = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (json.trim() === '') return { reason: 'body is empty' };
  try {
    return { value: JSON.parse(json) };
  } catch (error) {
    return { reason: `body is not valid JSON: ${parserMessage(error as Error)}` };
  }
}

/**
 * The parser's message without the piece of the body V8 quotes in some of them (`Unexpected token 'p',
 * "password=H"... is not valid JSON`): reasons reach the log line, bodies only the dead-letter container.
 */
function parserMessage(error: Error): string {
  return error.message.replace(
    /^Unexpected token .*? is not valid JSON$/s,
    'Unexpected token: not valid JSON',
  );
}

function asBytes(body: unknown): Uint8Array | undefined {
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  return undefined;
}

function unwrap(value: unknown): DecodedMessage {
  if (Array.isArray(value)) return elements(value, 'array', 'element');
  if (!isJsonObject(value)) {
    return {
      events: [],
      rejections: [{ reason: `body is ${jsonTypeName(value)}, not a JSON object or array` }],
    };
  }
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === 'records') {
    const records = value.records;
    if (!Array.isArray(records)) {
      return {
        envelope: 'records',
        events: [],
        rejections: [{ reason: `envelope field "records" is ${jsonTypeName(records)}, not an array` }],
      };
    }
    return elements(records, 'records', 'records');
  }
  const tooDeep = depthRejection(value);
  if (tooDeep) return { envelope: 'object', events: [], rejections: [{ reason: tooDeep }] };
  return { envelope: 'object', events: [{ index: 0, event: value }], rejections: [] };
}

function elements(items: unknown[], envelope: Envelope, label: string): DecodedMessage {
  const result: DecodedMessage = { envelope, events: [], rejections: [] };
  if (items.length === 0) {
    result.rejections.push({
      reason: `envelope holds no events (empty ${envelope === 'array' ? 'array' : '"records"'})`,
    });
    return result;
  }
  items.forEach((item, index) => {
    if (!isJsonObject(item)) {
      result.rejections.push({
        index,
        element: item,
        reason: `${label}[${index}] is ${jsonTypeName(item)}, not an object`,
      });
      return;
    }
    const tooDeep = depthRejection(item);
    if (tooDeep) result.rejections.push({ index, element: item, reason: `${label}[${index}]: ${tooDeep}` });
    else result.events.push({ index, event: item });
  });
  return result;
}

function depthRejection(event: JsonObject): string | undefined {
  return exceedsDepth(event, MAX_NESTING_DEPTH)
    ? `event nests deeper than ${MAX_NESTING_DEPTH} levels`
    : undefined;
}

/** Offset of the first byte that breaks UTF-8; only called once decoding already failed. */
export function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i]!;
    const [length, min] =
      lead < 0x80
        ? [1, 0]
        : lead >= 0xc2 && lead < 0xe0
          ? [2, 0x80]
          : lead >= 0xe0 && lead < 0xf0
            ? [3, 0x800]
            : lead >= 0xf0 && lead < 0xf5
              ? [4, 0x10000]
              : [0, 0];
    if (length === 0 || i + length > bytes.length) return i;
    let codePoint = length === 1 ? lead : lead & (0xff >> (length + 1));
    for (let k = 1; k < length; k++) {
      const next = bytes[i + k]!;
      if ((next & 0xc0) !== 0x80) return i;
      codePoint = (codePoint << 6) | (next & 0x3f);
    }
    if (codePoint < min || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) return i;
    i += length;
  }
  return bytes.length;
}
