/**
 * Telling a user that a stream lost events: as it happens (at most once a second, with
 * the count since the last message) and in a summary at the end. Perf buffers lose
 * samples the kernel counts (`PERF_RECORD_LOST`: {@link PerfBuffer} `onLost`); ring
 * buffers lose records the kernel does not count (the program's `bpf_ringbuf_reserve`
 * fails on a full ring), so the reader says when it found the ring full
 * ({@link RingBuffer} `onFull`). A program can count its own failed reservations in a map.
 *
 * @module
 */

/** The counters a summary reads (a RingBuffer's or PerfBuffer's `stats`). */
export interface DropStats {
  /** Events read. */
  events: number;
  /** Samples the kernel lost (perf buffers). */
  lost?: number;
  /** Reads that found the ring full (ring buffers). */
  full?: number;
}

/**
 * Messages about lost events of one stream, through `say` (a line each).
 *
 * @example
 * ```ts
 * using obj = await BpfObject.open("build/tests/events.bpf.o");
 * obj.load();
 * const drops = new DropReport(console.error, "small");
 * using rb = obj.ringbuf("small", { type: "fill_event", onFull: drops.onFull });
 * // fill writes { count, tag } fill_events into "small", which holds 170 of them
 * const fill = new Uint8Array(new BigUint64Array([300n, 1n]).buffer);
 * obj.program("fill").testRun({ ctx: fill });
 * rb.consume(() => {}); // a read that finds the ring full: "small: ring full once: …"
 * const summary = drops.summary(rb.stats);
 * if (summary) console.error(summary);
 * ```
 */
export class DropReport {
  #lost = 0;
  #full = 0;
  #lastCpu = -1;
  #last = -Infinity;
  readonly #say: (text: string) => void;
  readonly #name: string;
  readonly #intervalMs: number;

  /**
   * A report for one stream.
   *
   * @param say Writes one line (stderr, a dim status line...).
   * @param name The stream's map, for the messages.
   * @param intervalMs The least time between two messages (default 1000 ms).
   */
  constructor(say: (text: string) => void, name: string, intervalMs = 1000) {
    this.#say = say;
    this.#name = name;
    this.#intervalMs = intervalMs;
  }

  /** A PerfBuffer `onLost`: the kernel dropped `count` samples on `cpu`. */
  readonly onLost = (count: number, cpu: number): void => {
    this.#lost += count;
    this.#lastCpu = cpu;
    this.#flush();
  };

  /** A RingBuffer `onFull`: a read found the ring full. */
  readonly onFull = (): void => {
    this.#full++;
    this.#flush();
  };

  #flush(): void {
    const now = performance.now();
    if (now - this.#last < this.#intervalMs) return;
    this.#last = now;
    if (this.#lost) {
      this.#say(`${this.#name}: ${this.#lost} samples lost (last on cpu ${this.#lastCpu})`);
    }
    if (this.#full) {
      this.#say(`${this.#name}: ring full ${times(this.#full)}: events may have been dropped`);
    }
    this.#lost = this.#full = 0;
  }

  /**
   * The closing line, when events were lost (undefined otherwise).
   *
   * @param stats The stream's counters at the end.
   * @returns The line, or undefined.
   * @example
   * ```ts
   * const drops = new DropReport(console.error, "output");
   * drops.summary({ events: 10, lost: 2 }); // "output: read 10 events, 2 samples lost"
   * ```
   */
  summary(stats: DropStats | undefined): string | undefined {
    if (!stats) return undefined;
    if (stats.lost) return `${this.#name}: read ${stats.events} events, ${stats.lost} samples lost`;
    if (stats.full) {
      return `${this.#name}: read ${stats.events} events; the ring was full ${
        times(stats.full)
      }: ` +
        "events may have been dropped (the kernel does not count ring buffer drops; " +
        "a program can count its failed bpf_ringbuf_reserve calls in a map)";
    }
    return undefined;
  }
}

function times(n: number): string {
  return n === 1 ? "once" : `${n} times`;
}
