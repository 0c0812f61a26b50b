import { SingleBar } from 'cli-progress';
import { isTTY, type Io } from './io';
import { duration, megabytes, thousands } from './text';

/** Bytes read from the input so far; lib/cli/input.ts counts them as chunks arrive. */
export interface InputMeter {
  bytes: number;
}

export interface Rates {
  bytesPerSecond: number;
  eventsPerSecond: number;
}

/** The span the rates are measured over: long enough to be steady, short enough to follow a change. */
const WINDOW_MS = 5_000;
/** Rates are not claimed from less than this. */
const MIN_SPAN_MS = 750;

/**
 * Rates over the last few seconds, not since the start: the ETA settles within seconds and follows a change
 * of pace (a slow sink, a burst of big events) instead of averaging it away. A stall shows: the rates fall
 * while nothing arrives.
 */
export class RateMeter {
  private readonly samples: Array<{ at: number; bytes: number; events: number }> = [];

  constructor(start: number) {
    this.samples.push({ at: start, bytes: 0, events: 0 });
  }

  add(at: number, bytes: number, events: number): void {
    this.samples.push({ at, bytes, events });
    // Keep one sample at or before the window's start, so the window is always full once it can be.
    while (this.samples.length > 2 && this.samples[1]!.at <= at - WINDOW_MS) this.samples.shift();
  }

  rates(now: number): Rates | undefined {
    const first = this.samples[0]!;
    const last = this.samples[this.samples.length - 1]!;
    const span = now - first.at;
    if (span < MIN_SPAN_MS) return undefined;
    return {
      bytesPerSecond: ((last.bytes - first.bytes) * 1000) / span,
      eventsPerSecond: ((last.events - first.events) * 1000) / span,
    };
  }
}

export interface ProgressState {
  label: string;
  bytes: number;
  events: number;
  /** Bytes of all the input; undefined when it is not known (stdin): a spinner instead of a bar. */
  totalBytes?: number;
  /** Events in all, when the input is counted in events (a backfill), not bytes. */
  totalEvents?: number;
  elapsedMs: number;
  rates?: Rates;
}

const SPINNER = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
const BAR_WIDTH = 24;

/** `[████░░░░]  42%` and the time left at `perSecond`, for `done` of `total` (bytes or events). */
function barOf(done: number, total: number, perSecond: number | undefined): { bar: string; eta: string } {
  const fraction = Math.min(1, done / total);
  const filled = Math.round(fraction * BAR_WIDTH);
  const percent = String(Math.floor(fraction * 100)).padStart(3);
  return {
    bar: `[${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}] ${percent}%`,
    eta: perSecond && perSecond > 0 ? duration(Math.max(0, total - done) / perSecond) : '…',
  };
}

/** The progress line: a bar, percentage and ETA when the total is known, else a spinner; counts and rates. */
export function progressLine(state: ProgressState, width: number): string {
  const { rates } = state;
  const rate = rates
    ? `${thousands(rates.eventsPerSecond)} events/s, ${megabytes(rates.bytesPerSecond)}/s`
    : '… events/s, … MB/s';
  const events = `${thousands(state.events)} ${state.events === 1 ? 'event' : 'events'}`;
  let line: string;
  if (state.totalEvents !== undefined && state.totalEvents > 0) {
    const done = barOf(state.events, state.totalEvents, rates?.eventsPerSecond);
    line = `${state.label} ${done.bar} | ${thousands(state.events)} of ${thousands(state.totalEvents)} events | ${rate} | ETA ${done.eta}`;
  } else if (state.totalBytes !== undefined && state.totalBytes > 0) {
    const done = barOf(state.bytes, state.totalBytes, rates?.bytesPerSecond);
    const read = `${(state.bytes / 1e6).toFixed(1)} of ${megabytes(state.totalBytes)}`;
    line = `${state.label} ${done.bar} | ${read} | ${events} | ${rate} | ETA ${done.eta}`;
  } else {
    const frame = SPINNER[Math.floor(state.elapsedMs / 100) % SPINNER.length];
    line = `${state.label} ${frame} ${megabytes(state.bytes)} | ${events} | ${rate} | ${duration(state.elapsedMs / 1000)}`;
  }
  return line.length < width ? line : `${line.slice(0, Math.max(0, width - 2))}…`;
}

/**
 * Progress on stderr while a command reads its input: only when stderr is a terminal (nothing at all
 * otherwise: logs and pipes stay clean), and only once the command has run for a second. The line is
 * redrawn ten times a second by cli-progress and cleared at the end, before the summary.
 */
export class Progress {
  readonly input: InputMeter = { bytes: 0 };
  private events = 0;
  private readonly started = Date.now();
  private readonly meter = new RateMeter(this.started);
  private bar: SingleBar | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    io: Io,
    private readonly label: string,
    private readonly totalBytes: number | undefined,
  ) {
    if (!isTTY(io.stderr)) return;
    const show = () => {
      if (this.stopped) return;
      this.bar = new SingleBar({
        stream: io.stderr,
        format: (_options, params) => progressLine(this.state(), params.maxWidth),
        fps: 10,
        clearOnComplete: true,
        hideCursor: false,
      });
      this.bar.start(totalBytes ?? 0, this.input.bytes);
    };
    const delay = io.progressDelayMs ?? 1_000;
    if (delay <= 0) show();
    else this.timer = setTimeout(show, delay).unref();
  }

  /** Tells how many events there are in all, once it is known: the bar then counts events. */
  private totalEvents: number | undefined;
  setTotalEvents(total: number): void {
    this.totalEvents = total;
  }

  /** Tells how many events have been handled; the bytes come from `input`. */
  update(events: number): void {
    this.events = events;
    this.meter.add(Date.now(), this.input.bytes, events);
    this.bar?.update(this.input.bytes);
  }

  /** Clears the line (call before printing the summary, and on failure). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.bar?.stop();
    this.bar = undefined;
  }

  private state(): ProgressState {
    const now = Date.now();
    const rates = this.meter.rates(now);
    return {
      label: this.label,
      bytes: this.input.bytes,
      events: this.events,
      ...(this.totalBytes !== undefined ? { totalBytes: this.totalBytes } : {}),
      ...(this.totalEvents !== undefined ? { totalEvents: this.totalEvents } : {}),
      elapsedMs: now - this.started,
      ...(rates ? { rates } : {}),
    };
  }
}
