import { Command } from 'commander';
import { workload } from './workload';

/**
 * `npm run generate -- --count 100000 --bytes 2048 > events.ndjson`: generated Event Hub bodies as NDJSON,
 * for measuring and for trying the pipeline on volume.
 */
const options = new Command('generate')
  .description('write generated Defender events as NDJSON on stdout')
  .option('--count <n>', 'how many events', (v) => Number.parseInt(v, 10), 1000)
  .option('--bytes <n>', 'size of every event (default: a realistic mix, 2 KB median)', (v) =>
    Number.parseInt(v, 10),
  )
  .option('--seed <n>', 'random seed', (v) => Number.parseInt(v, 10), 1)
  .parse()
  .opts<{ count: number; bytes?: number; seed: number }>();

async function main(): Promise<void> {
  let chunk = '';
  for (const body of workload(options)) {
    chunk += `${body}\n`;
    if (chunk.length > 1 << 20) {
      if (!process.stdout.write(chunk)) await new Promise((resolve) => process.stdout.once('drain', resolve));
      chunk = '';
    }
  }
  process.stdout.write(chunk);
}

void main();
