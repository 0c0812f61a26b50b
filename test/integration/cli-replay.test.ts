import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ledger } from '../../lib/ledger';
import { eventHubSampleBodies } from '../helpers/batches';
import { cli } from '../helpers/cli';
import { startLocalAzure, type LocalAzure } from '../helpers/localAzure';

let local: LocalAzure;
beforeAll(async () => {
  local = await startLocalAzure();
});
afterAll(async () => {
  await local?.close();
});

const bodies = () => eventHubSampleBodies().map((text) => JSON.stringify(JSON.parse(text)));
/** An ANSI escape sequence (built from its code: a control character may not stand in a regex literal). */
const ESC = String.fromCharCode(27);
const ANSI = new RegExp(`${ESC}\\[[0-9;?]*[A-Za-z]`);

describe('defender-export replay -o and --query', () => {
  it('prints nothing on stdout by default, the ledger summary on stderr as ever', async () => {
    const { code, stdout, stderr } = await cli(['replay'], `${bodies().join('\n')}\n`, local.env());
    expect(code).toBe(0);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^accounted for: all \d+ received$/m);
  });

  it('a query that fails only on the result warns and keeps the exit code of the work already done', async () => {
    const input = `${bodies().join('\n')}\n{"not json\n`;
    const { code, stdout, stderr } = await cli(
      ['replay', '-o', 'json', '--query', 'abs(destinations)'],
      input,
      local.env(),
    );
    expect(code).toBe(1); // one body dead-lettered, everything else delivered: not a usage error
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^accounted for: all \d+ received$/m);
    expect(stderr).toMatch(/^defender-export: warning: --query "abs\(destinations\)" failed: /m);
  });

  it('-o json: one line when piped, indented on a terminal', async () => {
    const input = `${bodies().join('\n')}\n`;
    const piped = await cli(['replay', '-o', 'json'], input, local.env());
    expect(piped.stdout.trimEnd().split('\n')).toHaveLength(1);
    const ledger = JSON.parse(piped.stdout) as Ledger;
    expect(ledger).toMatchObject({ messages: bodies().length, problems: [] });
    const terminal = await cli(['replay', '-o', 'json'], input, local.env(), undefined, { stdoutTTY: true });
    expect(terminal.stdout).toMatch(/^\{\n {2}"messages": /);
    expect(JSON.parse(terminal.stdout)).toEqual(ledger);
  });

  it('-o table: one line per destination; --query picks from the ledger, -o tsv prints it flat', async () => {
    const input = `${bodies().join('\n')}\n{"not json\n`;
    const table = await cli(['replay', '-o', 'table'], input, local.env());
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(/^DESTINATION\s+ROUTED\s+DELIVERED\s+PARKED\s+DEAD-LETTERED$/m);
    expect(table.stdout).toMatch(/^logs:Custom-DefenderExport\s+(\d+)\s+\1\s+0\s+0$/m);
    expect(table.stdout).toMatch(/^archive\s+\d+\s+\d+\s+0\s+0$/m);
    expect(table.stdout).toMatch(
      /^\d+ events received from \d+ messages: \d+ routed, 0 dropped, 1 dead-lettered before routing$/m,
    );

    // As in az: an object is one line of its values, a list one line per item.
    const tsv = await cli(
      ['replay', '--query', '{messages: messages, invalid: invalid, problems: problems}', '-o', 'tsv'],
      input,
      local.env(),
    );
    expect(tsv.code).toBe(1);
    expect(tsv.stdout).toBe(`${bodies().length + 1}\t1\t[]\n`);
    const list = await cli(['replay', '--query', '[messages, invalid]', '-o', 'tsv'], input, local.env());
    expect(list.stdout).toBe(`${bodies().length + 1}\n1\n`);
  });

  it('shows a spinner with counts on a terminal for stdin, and nothing extra when stderr is not one', async () => {
    const chunks = bodies().map((b) => `${b}\n`);
    // 12 chunks 150 ms apart: the input lasts well past the 750 ms before which no rate is claimed, on
    // any machine (at 60 ms apart it lasted 720 ms and passed only where the run itself was slow).
    const quiet = await cli(['replay', '--batch-size', '2'], '', local.env(), undefined, {
      progressDelayMs: 0,
      chunks,
      chunkDelayMs: 150,
    });
    expect(quiet.stderr).not.toMatch(ANSI);
    expect(quiet.stderr).not.toMatch(/events\/s/);
    const shown = await cli(['replay', '--batch-size', '2'], '', local.env(), undefined, {
      stderrTTY: true,
      progressDelayMs: 0,
      chunks,
      chunkDelayMs: 150,
    });
    expect(shown.code).toBe(0);
    expect(shown.stderr).toMatch(
      /replay [⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] [\d.]+ MB \| [\d,]+ events? \| [\d,]+ events\/s, [\d.]+ MB\/s/,
    );
    // Cleared before the summary, which is the same as without a terminal.
    const summary = shown.stderr.slice(shown.stderr.lastIndexOf(`${ESC}[2K`) + 4);
    expect(summary.replace(/\d+/g, 'N')).toBe(quiet.stderr.replace(/\d+/g, 'N'));
  });
});
