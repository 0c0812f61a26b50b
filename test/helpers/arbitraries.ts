import fc from 'fast-check';
import type { JsonObject, JsonValue } from '../../lib/records/json';

/** Characters that stress byte counting: escapes, control characters, 2-, 3- and 4-byte UTF-8, lone surrogates. */
const char = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'Z', '0', ' ', '/', '<', '\u007f') },
  { weight: 2, arbitrary: fc.constantFrom('"', '\\', '\n', '\t', '\u0000', '\u0001', '\u001f') },
  { weight: 2, arbitrary: fc.constantFrom('\u00e9', '\u00df', '\u0416') },
  { weight: 2, arbitrary: fc.constantFrom('\u2026', '\u4e2d', '\u2028', '\ufeff') },
  { weight: 2, arbitrary: fc.constantFrom('\u{1F600}', '\u{1F512}', '\u{10FFFF}') },
  { weight: 1, arbitrary: fc.constantFrom('\ud800', '\udfff') },
);

export const text = fc.string({ unit: char, maxLength: 40 });

/** One huge string: a short random pattern repeated up to 200,000 characters. */
export const hugeText = fc
  .tuple(fc.string({ unit: char, minLength: 1, maxLength: 6 }), fc.integer({ min: 2_000, max: 200_000 }))
  .map(([pattern, length]) => pattern.repeat(Math.ceil(length / pattern.length)).slice(0, length));

const key = fc.oneof(
  { weight: 8, arbitrary: text },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', '') },
);

const { value } = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { maxDepth: 6, depthIdentifier: 'json' },
    { weight: 4, arbitrary: text },
    { weight: 2, arbitrary: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })) },
    { weight: 1, arbitrary: fc.constantFrom(true, false, null) },
    { weight: 1, arbitrary: hugeText },
    { weight: 3, arbitrary: fc.array(tie('value'), { maxLength: 30, depthIdentifier: 'json' }) },
    { weight: 3, arbitrary: fc.dictionary(key, tie('value'), { maxKeys: 20, depthIdentifier: 'json' }) },
  ),
}));

/** A value wrapped in up to 300 levels of arrays and objects. */
const deep = fc
  .tuple(value, fc.array(fc.oneof(fc.constant(null), key), { maxLength: 300 }))
  .map(([inner, levels]) =>
    levels.reduce<JsonValue>((acc, level) => (level === null ? [acc] : { [level]: acc }), inner),
  );

/** A huge string under 33 to 300 levels: deeper than a structural split follows. */
const deepHuge = fc
  .tuple(hugeText, fc.integer({ min: 33, max: 300 }))
  .map(([leaf, depth]) =>
    Array.from({ length: depth }).reduce<JsonValue>((acc, _, i) => (i % 2 ? [acc] : { k: acc }), leaf),
  );

/** An object whose one key is too long to fit a part of a small limit. */
const hugeKey = hugeText.map((name): JsonValue => ({ [name.slice(0, 5_000)]: 1 }));

const plainEvent = fc.dictionary(
  key,
  fc.oneof({ weight: 5, arbitrary: value }, { weight: 1, arbitrary: deep }),
  {
    minKeys: 1,
    maxKeys: 12,
  },
);

/** A random event, as JSON.parse would hand it over (so -0 is 0 and `__proto__` is an own key). */
export const event: fc.Arbitrary<JsonObject> = fc
  .oneof(
    { weight: 8, arbitrary: plainEvent },
    { weight: 1, arbitrary: fc.tuple(plainEvent, deepHuge).map(([e, extra]) => ({ ...e, deep: extra })) },
    { weight: 1, arbitrary: fc.tuple(plainEvent, hugeKey).map(([e, extra]) => ({ ...e, odd: extra })) },
  )
  .map((object) => JSON.parse(JSON.stringify(object)) as JsonObject);

/** Record limits from 1 KB to 1 MB, weighted towards the small ones that force splitting. */
export const limit = fc.oneof(
  fc.integer({ min: 1024, max: 4096 }),
  fc.integer({ min: 1024, max: 1_048_576 }),
);

/** Fixed seed under CI so a run is reproducible; a new seed locally so new cases keep being tried. */
export const runs = (numRuns: number): fc.Parameters<unknown> => ({
  numRuns: Number(process.env.FAST_CHECK_RUNS ?? numRuns),
  ...(process.env.CI ? { seed: 20261124 } : {}),
});
