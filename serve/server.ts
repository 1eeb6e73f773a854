/**
 * `bpfsh serve`: load what the configs name, then serve `/metrics` (maps read at scrape
 * time) and `/healthz` over HTTP, push to a Pushgateway, and export events and metrics over
 * OTLP, until {@link Serve.stop} (a signal, or the duration running out) detaches
 * everything. The port is bound before anything is loaded, and every config is checked
 * against its object before anything is attached: a bad config attaches nothing.
 *
 * @module
 */

import { BpfError } from "../ffi/errors.ts";
import type { BpfObject } from "../bpf/object/object.ts";
import type { EventSpec, MetricSpec, ServeConfig } from "./config.ts";
import { bindMetric, type MetricReader } from "./bind.ts";
import { Exposition } from "./exposition.ts";
import { checkEvent, type EventReader, startEvents } from "./events.ts";
import type { OtlpExport } from "./otlp.ts";
import { checkHttpUrl, Pusher } from "./push.ts";
import type { ProbeUnit } from "./probe_unit.ts";

/** What serve runs: a BPF object with its config, or a probe-language program. */
export type ServeUnit = ObjectUnit | ProbeUnit;

/** One object to serve: what to load and what to read from it. */
export interface ObjectUnit {
  /** Tells it apart from a {@link ProbeUnit}. */
  kind?: "object";
  /** The object, opened (not loaded): serve loads it after checking the metrics. */
  obj: BpfObject;
  /** Where the unit came from, for messages (a config file, `-e`). */
  source: string;
  /** Globals to set before load. */
  globals?: Record<string, unknown>;
  /** What to attach. */
  attach: ServeConfig["attach"];
  /** Its metrics. */
  metrics: MetricSpec[];
  /** Its event sources. */
  events: EventSpec[];
}

/** How to serve. */
export interface ServeOptions {
  /** `HOST:PORT` to listen on (port 0: any free port); undefined with `push` set: no HTTP. */
  listen?: string;
  /** A Pushgateway URL to push to at exit (and every `pushInterval` seconds). */
  push?: string;
  /** Seconds between pushes (0 or undefined: only at exit). */
  pushInterval?: number;
  /** The Pushgateway job name (default `bpfsh`). */
  job?: string;
  /** An OTLP/HTTP collector's base URL. */
  otlp?: string;
  /** Seconds between OTLP metric exports (default 10). */
  otlpInterval?: number;
  /** Stop after this many seconds. */
  duration?: number;
  /** Where progress and errors go (default: stderr). */
  log?: (line: string) => void;
}

/** The default address: loopback only, ebpf_exporter's port. */
export const DEFAULT_LISTEN = "127.0.0.1:9435";

/**
 * Parse a listen address: `HOST:PORT`, `[V6]:PORT`, `:PORT` (every interface) or `PORT`.
 *
 * @param addr The address.
 * @returns Host and port.
 * @throws {BpfError} op `serve listen` for anything else.
 * @example
 * ```ts
 * parseListen("127.0.0.1:9435"); // { hostname: "127.0.0.1", port: 9435 }
 * ```
 */
export function parseListen(addr: string): { hostname: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr) ??
    /^()()(\d{1,5})$/.exec(addr);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new BpfError({
      op: "serve listen",
      message: `'${addr}' is not HOST:PORT`,
      hint: "e.g. --listen 127.0.0.1:9435, --listen :9435 (every interface), --listen [::1]:9435",
    });
  }
  const host = m[1] ?? m[2];
  const isBarePort = /^\d+$/.test(addr);
  return { hostname: host || (isBarePort ? "127.0.0.1" : "0.0.0.0"), port };
}

/** The BPF program id behind an fd, from /proc/self/fdinfo. */
function progId(fd: number): number | undefined {
  try {
    const info = Deno.readTextFileSync(`/proc/self/fdinfo/${fd}`);
    const m = /prog_id:\s*(\d+)/.exec(info);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * A running `bpfsh serve`.
 *
 * @example
 * ```ts
 * const s = await Serve.start([unit], { listen: "127.0.0.1:0" });
 * console.log(s.url); // http://127.0.0.1:PORT
 * await s.stop();
 * ```
 */
export class Serve {
  readonly #units: ServeUnit[];
  readonly #opts: ServeOptions;
  readonly #log: (line: string) => void;
  #readers: MetricReader[] = [];
  #exposition?: Exposition;
  #http?: Deno.HttpServer<Deno.NetAddr>;
  #events: EventReader[] = [];
  #otlp?: OtlpExport;
  #pusher?: Pusher;
  #timers: ReturnType<typeof setTimeout>[] = [];
  #stopping?: Promise<number>;
  #failedAt = new Map<string, string>();
  /** Closes the HTTP server and its connections (a scraper keeps one alive). */
  readonly #httpStop = new AbortController();
  readonly #started = Date.now();
  #resolveDone!: (status: number) => void;
  /** Resolves with the exit status once stopped. */
  readonly done: Promise<number> = new Promise((r) => (this.#resolveDone = r));

  private constructor(units: ServeUnit[], opts: ServeOptions) {
    this.#units = units;
    this.#opts = opts;
    this.#log = opts.log ?? ((line) => console.error(line));
  }

  /**
   * Bind the port, check every metric and event against its object, load, attach, serve.
   *
   * @param units The objects with their metrics.
   * @param opts Where to serve, push and export.
   * @returns The running server.
   * @throws {BpfError} on a bad config, a port in use, a load or attach failure; everything
   *   opened so far is closed first.
   */
  static async start(units: ServeUnit[], opts: ServeOptions = {}): Promise<Serve> {
    const s = new Serve(units, opts);
    try {
      await s.#start();
    } catch (e) {
      await s.#teardown();
      throw e;
    }
    return s;
  }

  async #start(): Promise<void> {
    const opts = this.#opts;
    if (opts.push) checkHttpUrl(opts.push, "serve push", "--push http://127.0.0.1:9091");
    if (opts.otlp) checkHttpUrl(opts.otlp, "serve otlp", "--otlp http://127.0.0.1:4318");
    const listen = opts.listen ?? (opts.push ? undefined : DEFAULT_LISTEN);
    if (listen) this.#listen(listen);
    const names = new Set<string>();
    for (const u of this.#units) {
      if (u.kind === "probe") {
        for (const p of u.plans) {
          if (names.has(p.name)) {
            throw new BpfError({
              op: "serve config",
              message: `${u.source}: map ${p.map} is served as '${p.name}', ` +
                "which is also a metric of another config or program",
              hint: "rename the map",
            });
          }
          names.add(p.name);
        }
        for (const k of u.skipped) this.#log(`bpfsh serve: ${u.source}: ${k.map} ${k.reason}`);
        continue;
      }
      u.metrics.forEach((m, i) => {
        if (names.has(m.name)) {
          throw new BpfError({
            op: "serve config",
            message: `${u.source}: metrics[${i}]: '${m.name}' is also a metric of another config`,
          });
        }
        names.add(m.name);
      });
      for (const [k, v] of Object.entries(u.globals ?? {})) u.obj.globals[k] = v;
      u.metrics.forEach((m, i) => {
        const where = `${u.source}: metrics[${i}] (${m.name})`;
        const map = u.obj.maps.find((x) => x.name === m.map);
        if (!map) {
          throw new BpfError({
            op: "serve config",
            message: `${where}: no map named '${m.map}' in ${u.obj.name}`,
            hint: `maps: ${u.obj.maps.map((x) => x.name).join(", ")}`,
          });
        }
        this.#readers.push(bindMetric(m, map, where));
      });
      u.events.forEach((e, i) => checkEvent(u.obj, e, `${u.source}: events[${i}]`));
    }
    for (const u of this.#units) {
      if (u.kind === "probe") {
        this.#readers.push(...await u.start());
        // exit() in the program ends serve (a last push, as at a signal).
        u.exited.then(() => this.stop());
        continue;
      }
      u.obj.load();
      if (u.attach === "all") u.obj.attachAll();
      else if (u.attach !== "none") {
        for (const a of u.attach) {
          if (typeof a === "string") u.obj.program(a).attach();
          else u.obj.program(a.program).attach(a.target);
        }
      }
    }
    const onError = (metric: string, e: unknown) => {
      const text = message(e);
      if (this.#failedAt.get(metric) === text) return; // said already
      this.#failedAt.set(metric, text);
      this.#log(`bpfsh serve: metric ${metric}: read failed: ${text}`);
    };
    this.#exposition = new Exposition(this.#readers, { onError });
    if (opts.otlp) {
      const { OtlpExport } = await import("./otlp.ts");
      this.#otlp = new OtlpExport(this.#readers, {
        url: opts.otlp,
        interval: opts.otlpInterval,
        onError,
      });
    }
    for (const u of this.#units) {
      if (u.kind === "probe") {
        u.setSink(this.#printed(u));
        continue;
      }
      for (const e of u.events) {
        if (!this.#otlp) {
          this.#log(`bpfsh serve: ${u.source}: events are exported over OTLP: give --otlp URL`);
          break;
        }
        const otlp = this.#otlp;
        this.#events.push(
          startEvents(u.obj, e, (name, fields) => otlp.emit(name, fields), (err) => {
            this.#log(
              `bpfsh serve: events ${e.ringbuf ?? e.perfbuf ?? "trace_pipe"}: ${message(err)}`,
            );
          }),
        );
      }
    }
    if (opts.push) {
      this.#pusher = new Pusher(opts.push, this.#exposition.registry, opts.job ?? "bpfsh");
      if (opts.pushInterval) {
        this.#timers.push(setInterval(() => {
          this.#pusher!.push().catch((e) => this.#log(`bpfsh serve: push: ${message(e)}`));
        }, opts.pushInterval * 1000));
      }
    }
    if (opts.duration) {
      this.#timers.push(setTimeout(() => this.stop(), opts.duration * 1000));
    }
    const what = `${this.#readers.length} metrics from ${
      this.#units.map((u) => u.kind === "probe" ? u.source : u.obj.name).join(", ")
    }`;
    this.#log(`bpfsh serve: serving ${what}${this.url ? ` on ${this.url}/metrics` : ""}`);
  }

  /**
   * Where a probe program's printed lines go: OTLP log records with --otlp, else stdout
   * (as bpftrace prints them).
   */
  #printed(u: ProbeUnit): (line: string) => void {
    const otlp = this.#otlp;
    if (otlp) {
      return (line) => otlp.emit("printf", { "bpfsh.source": u.source }, line);
    }
    const enc = new TextEncoder();
    return (line) => {
      try {
        const b = enc.encode(line + "\n");
        for (let off = 0; off < b.length;) off += Deno.stdout.writeSync(b.subarray(off));
      } catch {
        // stdout closed: the lines have nowhere to go, the metrics are still served
      }
    };
  }

  #listen(addr: string): void {
    const { hostname, port } = parseListen(addr);
    try {
      this.#http = Deno.serve(
        { hostname, port, onListen: () => {}, signal: this.#httpStop.signal },
        (req) => this.#handle(req),
      );
    } catch (e) {
      if (e instanceof Deno.errors.AddrInUse) {
        throw new BpfError({
          op: "serve listen",
          message: `${addr} is already in use`,
          hint: "another exporter or bpfsh serve listens there: stop it, or pick another " +
            "address with --listen",
        });
      }
      if (e instanceof Deno.errors.AddrNotAvailable || e instanceof Deno.errors.PermissionDenied) {
        throw new BpfError({
          op: "serve listen",
          message: `cannot listen on ${addr}: ${message(e)}`,
        });
      }
      throw e;
    }
  }

  /** The base URL of the HTTP server (undefined when not listening). */
  get url(): string | undefined {
    const a = this.#http?.addr;
    if (!a) return undefined;
    const host = a.hostname.includes(":") ? `[${a.hostname}]` : a.hostname;
    return `http://${host}:${a.port}`;
  }

  /** What is served: the objects with their metrics and events. */
  get units(): readonly ServeUnit[] {
    return this.#units;
  }

  /** The bound metrics. */
  get readers(): readonly MetricReader[] {
    return this.#readers;
  }

  /** What /healthz reports. */
  health(): Record<string, unknown> {
    const stopping = this.#stopping !== undefined;
    return {
      status: stopping ? "stopping" : "ok",
      uptimeSeconds: Math.round((Date.now() - this.#started) / 1000),
      objects: this.#units.map((u) => {
        const obj = u.kind === "probe" ? undefined : u.obj;
        const loaded = u.kind === "probe" ? u.loaded() : {
          programs: obj!.loaded ? obj!.programs : [],
          links: obj!.closed ? 0 : obj!.links.length,
        };
        return {
          name: obj?.name ?? "probe",
          source: u.source,
          programs: loaded.programs.map((p) => ({ name: p.name, id: progId(p.fd) })),
          links: loaded.links,
        };
      }),
      metrics: this.#readers.map((r) => {
        const last = this.#exposition?.last.get(r.spec.name);
        return {
          name: r.spec.name,
          map: r.spec.map,
          series: last?.series,
          readMs: last && Math.round(last.ms * 1000) / 1000,
          error: last?.error,
        };
      }),
      events: this.#events.map((e) => ({ name: e.name, count: e.count })),
    };
  }

  async #handle(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname;
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405, headers: { allow: "GET" } });
    }
    if (path === "/metrics") {
      const text = await this.#exposition!.metrics();
      return new Response(text, { headers: { "content-type": this.#exposition!.contentType } });
    }
    if (path === "/healthz") {
      const h = this.health();
      return Response.json(h, { status: h.status === "ok" ? 200 : 503 });
    }
    if (path === "/") {
      return new Response(
        `bpfsh serve\n\n/metrics  Prometheus metrics, read from the maps now\n` +
          `/healthz  objects, programs and the last read of each metric (JSON)\n`,
      );
    }
    return new Response("not found\n", { status: 404 });
  }

  /**
   * Stop: a last push and OTLP export, then the HTTP server, then every link, program and
   * map is closed. Calling it again returns the same promise.
   *
   * @returns The exit status: 0, or 1 when the last push failed.
   */
  stop(): Promise<number> {
    this.#stopping ??= (async () => {
      let status = 0;
      for (const t of this.#timers) clearTimeout(t);
      await Promise.all(this.#events.map((e) => e.stop()));
      // Probe programs detach and run END now: what END prints is exported, and the last
      // push reads the maps as they end.
      await Promise.all(this.#units.map((u) => u.kind === "probe" ? u.stop() : undefined));
      if (this.#pusher) {
        try {
          await this.#pusher.push();
        } catch (e) {
          this.#log(`bpfsh serve: the last push failed: ${message(e)}`);
          status = 1;
        }
      }
      await this.#teardown();
      this.#log("bpfsh serve: stopped, everything detached");
      this.#resolveDone(status);
      return status;
    })();
    return this.#stopping;
  }

  async #teardown(): Promise<void> {
    // A collector that does not answer must not hold the exit up for long.
    await Promise.race([this.#otlp?.shutdown(), new Promise((r) => setTimeout(r, 5000))]);
    if (this.#http) {
      // shutdown() would wait for keep-alive connections (Prometheus holds one open): close
      // them all at once instead.
      this.#httpStop.abort();
      await this.#http.finished;
    }
    for (const u of [...this.#units].reverse()) {
      if (u.kind === "probe") await u.close();
      else u.obj.close();
    }
  }
}
