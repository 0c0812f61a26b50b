/**
 * `PartPath` says where a split row's share of the event goes when the parts are put back together:
 *
 * - `''`      the row is whole (PartCount 1, or a trimmed row).
 * - `$...`    a structural part: Properties holds the event's skeleton down to this path, and at the path a
 *             slice of that container (consecutive entries of an object, consecutive elements of an array)
 *             or a piece of that string. Segments are `["key"]` (a JSON string) or `[index]`, e.g.
 *             `$["Entities"]` or `$["properties"]["graphComponent"]["entities"]`. A container too big for
 *             one part leaves an empty placeholder (`{}`, `[]`, `""`) in its parent's slice and follows in
 *             its own parts. Reassembly appends each part's share at its path, in PartIndex order.
 * - `json`    text fallback, for nesting too deep or keys too long to split structurally: Properties is a
 *             piece of the event's JSON text; the pieces concatenated in PartIndex order parse to the event.
 */
export type PathSegment = string | number;
export type Path = readonly PathSegment[];

export const WHOLE = '';
export const TEXT = 'json';

export function formatPath(path: Path): string {
  let out = '$';
  for (const segment of path)
    out += typeof segment === 'number' ? `[${segment}]` : `[${JSON.stringify(segment)}]`;
  return out;
}

export function parsePath(text: string): PathSegment[] {
  if (!text.startsWith('$')) throw new SyntaxError(`PartPath ${JSON.stringify(text)} does not start with $`);
  const path: PathSegment[] = [];
  let i = 1;
  while (i < text.length) {
    if (text[i] !== '[') throw new SyntaxError(`PartPath ${JSON.stringify(text)}: expected [ at ${i}`);
    i++;
    if (text[i] === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      path.push(JSON.parse(text.slice(i, end + 1)) as string);
      i = end + 1;
    } else {
      const digits = /^\d+/.exec(text.slice(i))?.[0];
      if (digits === undefined)
        throw new SyntaxError(`PartPath ${JSON.stringify(text)}: expected a key or index at ${i}`);
      path.push(Number(digits));
      i += digits.length;
    }
    if (text[i] !== ']') throw new SyntaxError(`PartPath ${JSON.stringify(text)}: expected ] at ${i}`);
    i++;
  }
  return path;
}
