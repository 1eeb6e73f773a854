/**
 * Pushing to a Prometheus Pushgateway, for one-shot runs that no Prometheus would scrape in
 * time: the whole registry (every map read now) replaces the job's group (HTTP PUT), so a
 * series gone from a map is gone from the gateway too.
 *
 * @module
 */

import { Pushgateway, type Registry } from "prom-client";
import { BpfError } from "../ffi/errors.ts";

/**
 * Check a collector or gateway URL before anything is loaded.
 *
 * @param url The URL.
 * @param op `serve push` or `serve otlp`, for the error.
 * @param example An example URL for the hint.
 * @throws {BpfError} when the URL is not http(s).
 * @example
 * ```ts
 * checkHttpUrl("http://127.0.0.1:9091", "serve push", "http://127.0.0.1:9091");
 * ```
 */
export function checkHttpUrl(url: string, op: string, example: string): void {
  let ok = false;
  try {
    ok = ["http:", "https:"].includes(new URL(url).protocol);
  } catch {
    // not a URL at all
  }
  if (!ok) {
    throw new BpfError({ op, message: `'${url}' is not an http(s) URL`, hint: `e.g. ${example}` });
  }
}

/**
 * Pushes a registry to one Pushgateway job, grouped by this host's name.
 *
 * @example
 * ```ts
 * const p = new Pusher("http://127.0.0.1:9091", exposition.registry, "bpfsh");
 * await p.push();
 * ```
 */
export class Pusher {
  readonly #gateway: Pushgateway<"text/plain; version=0.0.4; charset=utf-8">;
  readonly #job: string;
  readonly #url: string;
  #busy?: Promise<void>;
  /** Pushes that succeeded. */
  pushes = 0;

  /**
   * Point at a gateway.
   *
   * @param url The gateway's base URL, e.g. `http://127.0.0.1:9091`.
   * @param registry What to push.
   * @param job The job name (`/metrics/job/<job>/instance/<host>`).
   * @throws {BpfError} op `serve push` when the URL is not http(s).
   */
  constructor(url: string, registry: Registry, job: string) {
    checkHttpUrl(url, "serve push", "--push http://127.0.0.1:9091");
    this.#url = url;
    this.#job = job;
    this.#gateway = new Pushgateway(url, { timeout: 5000 }, registry);
  }

  /**
   * Push now (a push still under way is waited for, never doubled).
   *
   * @returns When the gateway accepted it.
   * @throws {BpfError} op `serve push` with the gateway's answer or the network error.
   */
  push(): Promise<void> {
    this.#busy ??= (async () => {
      try {
        await this.#gateway.push({ jobName: this.#job, groupings: { instance: Deno.hostname() } });
        this.pushes++;
      } catch (e) {
        throw new BpfError({
          op: "serve push",
          message: `${this.#url}: ${e instanceof Error ? e.message : String(e)}`,
          cause: e,
        });
      } finally {
        this.#busy = undefined;
      }
    })();
    return this.#busy;
  }
}
