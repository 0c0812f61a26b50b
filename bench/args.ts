/** `--name value` from the command line of a benchmark script, as a number. */
export function numberArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Peak resident set size of this process so far, in MB (the kernel's own high-water mark). */
export const peakRssMb = () => process.resourceUsage().maxRSS / 1024;
