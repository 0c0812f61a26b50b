/**
 * One copy of a string that a run holds once per subscription with the same value (a status, a time, a
 * finding's sentence): at 100,000 subscriptions such copies were about a third of a reconciliation's heap.
 * Bounded, so a worker that runs for months does not keep every past run's values: cleared past 100,000.
 */
const interned = new Map<string, string>();

export function intern(text: string): string {
  const known = interned.get(text);
  if (known !== undefined) return known;
  if (interned.size >= 100_000) interned.clear();
  interned.set(text, text);
  return text;
}
