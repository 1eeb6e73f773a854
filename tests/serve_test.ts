// bpfsh serve on the real kernel: the examples loaded and read at scrape time by a real
// Prometheus, pushed to a real Pushgateway, exported over OTLP to a receiver in this test;
// bad configs refused with clear errors before anything is attached; one failing metric
// not taking down the others; SIGTERM detaching everything.
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { bpfTest, kernelProgIds, leakGuard, NOT_ROOT, OutputText, ROOT } from "./helpers.ts";
import { BpfError } from "../ffi/errors.ts";
import { validateConfig } from "../serve/config.ts";
import { configUnit, probeUnit } from "../serve/cli.ts";
import { Serve } from "../serve/server.ts";
import { setKsymResolver } from "../serve/decoders.ts";

const EXAMPLES = `${ROOT}/build/examples`;
const EXAMPLES_EXECS = `${ROOT}/examples/execs.yaml`;
/** tools/setup.sh installs Prometheus and its Pushgateway: missing, the test fails. */
function needBinary(bin: string): void {
  try {
    Deno.statSync(`/usr/bin/${bin}`);
  } catch {
    throw new Error(`/usr/bin/${bin} is missing: tools/setup.sh installs it (apt ${bin})`);
  }
}

/** A TCP port nothing listens on now. */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** fetch(), given up on after 5 s: a test never hangs on a server that does not answer. */
function get(url: string): Promise<Response> {
  return fetch(url, { signal: AbortSignal.timeout(5000) });
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 20000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}

/** A copy of /bin/true under a name no other process has, to exec N times. */
function uniqueBinary(dir: string): { path: string; comm: string } {
  const comm = `bpfsh_t${Math.floor(Math.random() * 1e6)}`; // < 16 bytes: the whole comm
  const path = `${dir}/${comm}`;
  Deno.copyFileSync("/bin/true", path);
  Deno.chmodSync(path, 0o755);
  return { path, comm };
}

/** The child's exit status, or a failure (and a SIGKILL) when it takes over 15 s. */
async function exited(child: Deno.ChildProcess): Promise<Deno.CommandStatus> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error("bpfsh serve did not stop within 15 s of SIGTERM"));
    }, 15000);
  });
  try {
    return await Promise.race([child.status, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function execTimes(path: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Deno.Command(path).output();
}

/** `bpfsh serve ARGS` as a subprocess, with the URL it prints once serving. */
async function serveProcess(args: string[], env?: Record<string, string>) {
  const child = new Deno.Command(`${ROOT}/bpfsh`, {
    args: ["serve", ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const err = new OutputText(child.stderr);
  const onUrl = /serving .* on (http:\/\/\S+)\/metrics/;
  const serving = err.until(new RegExp(`${onUrl.source}|\\bserving \\d+ metrics`))
    .then((yes) => yes ? onUrl.exec(err.text)?.[1] ?? "" : undefined);
  const url = await Promise.race([
    serving,
    new Promise<undefined>((r) => setTimeout(() => r(undefined), 30000)),
  ]);
  const rest = err.rest();
  return {
    child,
    url,
    /** Everything it wrote on stderr, once it has ended. */
    stderr: () => rest,
    stdout: child.stdout,
  };
}

function tmpConfig(dir: string, name: string, yaml: string): string {
  const path = `${dir}/${name}`;
  Deno.writeTextFileSync(path, yaml);
  return path;
}

async function startUnit(yaml: object, listen = "127.0.0.1:0") {
  const cfg = validateConfig(yaml, "test.yaml", EXAMPLES);
  return await Serve.start([await configUnit(cfg)], { listen, log: () => {} });
}

async function startError(yaml: object, listen?: string): Promise<BpfError> {
  try {
    const s = await startUnit(yaml, listen);
    await s.stop();
  } catch (e) {
    assert(e instanceof BpfError, `not a BpfError: ${e}`);
    return e;
  }
  throw new Error("serve started");
}

const EXECS = {
  object: "execs.bpf.o",
  metrics: [{
    name: "bpfsh_execs_total",
    type: "counter",
    map: "execs",
    labels: [{ name: "comm", field: "comm" }, { name: "uid", field: "uid" }],
  }],
};

bpfTest("serve refuses bad configs with clear errors, attaching nothing", async () => {
  const unknownMap = await startError({
    ...EXECS,
    metrics: [{ ...EXECS.metrics[0], map: "nope" }],
  });
  assertMatch(unknownMap.message, "metrics[0] (bpfsh_execs_total): no map named 'nope' in execs");
  assertMatch(unknownMap.message, "maps: execs, events");

  const wrongField = await startError({
    ...EXECS,
    metrics: [{ ...EXECS.metrics[0], labels: [{ name: "comm", field: "command" }] }],
  });
  assertMatch(
    wrongField.message,
    "the key of map 'execs' (struct exec_key) has no field 'command'",
  );
  assertMatch(wrongField.message, "fields: uid, comm");

  const notInt = await startError({
    ...EXECS,
    metrics: [{ ...EXECS.metrics[0], value: "count" }],
  });
  assertMatch(notInt.message, "field 'count': the value of map 'execs' is __u64, not a struct");

  const mismatch = await startError({
    object: "syscall_latency.bpf.o",
    metrics: [{
      name: "lat_seconds",
      type: "histogram",
      map: "latency",
      value: "slots",
      buckets: { type: "log2", max: 26 },
    }],
  });
  assertMatch(mismatch.message, "bucket mismatch");
  assertMatch(mismatch.message, "the map holds 40 slots, buckets min..max (0..26) makes 27");
  assertMatch(mismatch.message, "set max: 39");

  const noArray = await startError({
    object: "syscall_latency.bpf.o",
    metrics: [{
      name: "lat_seconds",
      type: "histogram",
      map: "latency",
      buckets: { type: "log2" },
    }],
  });
  assertMatch(noArray.message, "is not an array of counts");

  const ringAsMetric = await startError({
    ...EXECS,
    metrics: [{ ...EXECS.metrics[0], map: "events" }],
  });
  assertMatch(ringAsMetric.message, "map 'events' is a ringbuf map");

  // The command line says the same and exits 1; a file that is no YAML is named too.
  const dir = Deno.makeTempDirSync({ prefix: "bpfsh-badcfg-" });
  try {
    const bad = tmpConfig(
      dir,
      "bad.yaml",
      `object: ${EXAMPLES}/execs.bpf.o\nmetrics:\n  - { name: x_total, type: counter, map: nope }\n`,
    );
    const notYaml = tmpConfig(dir, "not.yaml", "object: [unclosed\n");
    for (
      const [file, want] of [
        [bad, "no map named 'nope' in execs"],
        [notYaml, "is not valid YAML"],
        [`${dir}/missing.yaml`, "cannot read"],
      ]
    ) {
      const out = await new Deno.Command(`${ROOT}/bpfsh`, { args: ["serve", file] }).output();
      assertEquals(out.code, 1);
      assertMatch(new TextDecoder().decode(out.stderr), want);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }

  // Bad -e programs: the probe compiler's diagnostic (line, caret, hint) and status 1.
  for (
    const [args, want] of [
      [["-e", "tracepoint:sched:sched_process_exec { @x = cont(); }"], [
        /^stdin:1:44-48: ERROR: Unknown function: cont$/m,
        /^ {43}\^~~~$/m,
        /^HINT: did you mean count\?/m,
      ]],
      [["-e", "tracepoint:nope:nope { @x = count(); }"], [/^stdin:1:.*nope/m]],
      [["-e", "tracepoint:sched:sched_process_exec { @execs = count(); }", EXAMPLES_EXECS], [
        /-e: map @execs is served as 'bpfsh_execs_total', which is also a metric/,
      ]],
      [["-e", "kfunc:vfs_read { @reads = count(); }", EXAMPLES_EXECS], [
        /kfunc probes \(fentry\/fexit\) are refused by this kernel/,
      ]],
    ] as [string[], RegExp[]][]
  ) {
    const out = await new Deno.Command(`${ROOT}/bpfsh`, { args: ["serve", ...args] }).output();
    const err = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 1, `serve ${args.join(" ")}: ${err}`);
    for (const w of want) assertMatch(err, w);
  }
  // A program the kernel refuses at load, after execs.yaml's object has loaded: nothing of
  // either stays open.
  const guard = leakGuard();
  const refused = await probeUnit("kfunc:vfs_read { @reads = count(); }", { source: "-e" });
  const execs = await configUnit(validateConfig(EXECS, "execs.yaml", EXAMPLES));
  let startErr: unknown;
  try {
    await (await Serve.start([execs, refused], { listen: "127.0.0.1:0", log: () => {} })).stop();
  } catch (e) {
    startErr = e;
  }
  assert(startErr instanceof BpfError && startErr.op === "probe", `${startErr}`);
  assert(execs.kind !== "probe" && execs.obj.closed, "execs.yaml's object was left open");
  await guard.check();

  const held = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (held.addr as Deno.NetAddr).port;
    const inUse = await startError(EXECS, `127.0.0.1:${port}`);
    assertEquals(inUse.op, "serve listen");
    assertMatch(inUse.message, `127.0.0.1:${port} is already in use`);
    assertMatch(inUse.message, "pick another address with --listen");
  } finally {
    held.close();
  }
});

bpfTest("a metric whose read fails serves nothing; the others are served", async () => {
  setKsymResolver(() => {
    throw new Error("symbolizer broke");
  });
  try {
    const s = await startUnit({
      ...EXECS,
      metrics: [
        EXECS.metrics[0],
        {
          name: "bpfsh_execs_by_uid_sym_total",
          type: "counter",
          map: "execs",
          labels: [{ name: "sym", field: "uid", decoders: ["ksym"] }],
        },
      ],
    });
    try {
      await new Deno.Command("/bin/true").output();
      const text = await (await get(`${s.url}/metrics`)).text();
      assertMatch(text, /bpfsh_execs_total\{comm="true",uid="\d+"\} \d+/);
      assert(!/^bpfsh_execs_by_uid_sym_total\{/m.test(text), "the failing metric served series");
      assertMatch(text, 'bpfsh_serve_read_errors_total{metric="bpfsh_execs_by_uid_sym_total"} 1');
      assertMatch(text, 'bpfsh_serve_read_errors_total{metric="bpfsh_execs_total"} 0');
      const health = await (await get(`${s.url}/healthz`)).json();
      assertEquals(health.status, "ok");
      assertMatch(health.metrics[1].error, "symbolizer broke");
      assertEquals((await get(`${s.url}/nope`)).status, 404);
    } finally {
      await s.stop();
    }
  } finally {
    setKsymResolver(undefined);
  }
});

/** promtool's verdict on an exposition: "" when it accepts it, else what it said. */
async function promtoolCheck(text: string): Promise<string> {
  const check = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = check.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  const out = await check.output();
  const said = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return out.success && !said.trim() ? "" : `status ${out.code}: ${said}`;
}

/** A probe-language program for serve -e: exec counts by comm, a hist, stats, a max. */
const EXEC_PROGRAM = "tracepoint:sched:sched_process_exec { @execs[comm] = count(); " +
  "@exec_pids[comm] = hist(pid); @pid_stats = stats(pid); @last_pid = max(pid); }";

Deno.test({
  name: "Prometheus scrapes bpfsh serve every second: exec counts and a histogram; SIGTERM",
  ignore: NOT_ROOT,
  async fn() {
    needBinary("prometheus");
    needBinary("promtool");
    const dir = Deno.makeTempDirSync({ prefix: "bpfsh-serve-" });
    const serve = await serveProcess([
      `${ROOT}/examples/execs.yaml`,
      `${ROOT}/examples/syscall_latency.yaml`,
      "--listen",
      "127.0.0.1:0",
    ]);
    // A probe-language program, no config: `bpfsh serve -e`.
    const probe = await serveProcess(["-e", EXEC_PROGRAM, "--listen", "127.0.0.1:0"]);
    let prom: Deno.ChildProcess | undefined;
    try {
      for (const s of [serve, probe]) {
        if (!s.url) {
          s.child.kill("SIGKILL");
          throw new Error(`bpfsh serve did not start: ${await s.stderr()}`);
        }
      }
      const programIds = async (url: string) => {
        const health = await (await get(`${url}/healthz`)).json();
        return health.objects.flatMap((o: { programs: { id: number }[] }) =>
          o.programs.map((p) => p.id)
        ) as number[];
      };
      const ids = await programIds(serve.url!);
      assertEquals(ids.length, 3);
      const probeIds = await programIds(probe.url!);
      assertEquals(probeIds.length, 1);

      const promPort = freePort();
      const target = new URL(serve.url!).host;
      const probeTarget = new URL(probe.url!).host;
      tmpConfig(
        dir,
        "prometheus.yml",
        `global: { scrape_interval: 1s, evaluation_interval: 1s }\n` +
          `scrape_configs:\n  - job_name: bpfsh\n    static_configs: [{ targets: ["${target}"] }]\n` +
          `  - job_name: probe\n    static_configs: [{ targets: ["${probeTarget}"] }]\n`,
      );
      prom = new Deno.Command("prometheus", {
        args: [
          `--config.file=${dir}/prometheus.yml`,
          `--storage.tsdb.path=${dir}/data`,
          `--web.listen-address=127.0.0.1:${promPort}`,
          "--log.level=warn",
        ],
        stdout: "null",
        stderr: "null",
      }).spawn();

      const { path, comm } = uniqueBinary(dir);
      const N = 7;
      await execTimes(path, N);
      const query = async (q: string) => {
        const r = await get(
          `http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`,
        );
        const body = await r.json();
        return body.data?.result as { metric: Record<string, string>; value: [number, string] }[];
      };
      const execs = await waitFor("Prometheus to have the exec counter", async () => {
        const res = await query(`bpfsh_execs_total{job="bpfsh",comm="${comm}"}`);
        return res?.length && Number(res[0].value[1]) >= N ? res : undefined;
      });
      assertEquals(execs.length, 1);
      assertEquals(execs[0].metric.job, "bpfsh");
      assertEquals(execs[0].metric.uid, "0");
      const hist = await waitFor("a histogram _count", async () => {
        const res = await query(`bpfsh_syscall_latency_seconds_count{syscall="execve"}`);
        return res?.length && Number(res[0].value[1]) >= N ? res : undefined;
      });
      assert(Number(hist[0].value[1]) >= N);
      const buckets = await query(`bpfsh_syscall_latency_seconds_bucket{syscall="execve"}`);
      assert(buckets.some((b) => b.metric.le === "+Inf"), "no +Inf bucket");

      // The -e program's maps: labels named after the keys, a counter, a histogram.
      const probeExecs = await waitFor("Prometheus to have the -e exec counter", async () => {
        const res = await query(`bpfsh_execs_total{job="probe",comm="${comm}"}`);
        return res?.length && Number(res[0].value[1]) >= N ? res : undefined;
      });
      assertEquals(Object.keys(probeExecs[0].metric).sort(), [
        "__name__",
        "comm",
        "instance",
        "job",
      ]);
      const probeHist = await waitFor("the -e hist's _count", async () => {
        const res = await query(`bpfsh_exec_pids_count{job="probe",comm="${comm}"}`);
        return res?.length && Number(res[0].value[1]) >= N ? res : undefined;
      });
      assertEquals(probeHist.length, 1);
      const pidBuckets = await query(`bpfsh_exec_pids_bucket{job="probe",comm="${comm}"}`);
      const inf = pidBuckets.find((b) => b.metric.le === "+Inf");
      assert(inf && Number(inf.value[1]) >= N, "the hist's +Inf bucket holds every exec");
      const stats = await query(`bpfsh_pid_stats_count{job="probe"}`);
      assert(stats.length === 1 && Number(stats[0].value[1]) >= N, "stats() _count");
      const last = await query(`bpfsh_last_pid{job="probe"}`);
      assert(last.length === 1 && Number(last[0].value[1]) > 0, "max() as a gauge");

      // promtool accepts both expositions as they are served.
      for (const s of [serve, probe]) {
        const text = await (await get(`${s.url}/metrics`)).text();
        assertEquals(await promtoolCheck(text), "", `promtool check metrics on ${s.url}`);
      }

      // SIGTERM: a clean stop with status 0, and every program gone from the kernel.
      for (const [s, progs] of [[serve, ids], [probe, probeIds]] as const) {
        s.child.kill("SIGTERM");
        const status = await exited(s.child);
        const err = await s.stderr();
        assertEquals(status.code, 0, err);
        assertMatch(err, "stopped, everything detached");
        await waitFor("the programs to be unloaded", () => {
          const live = kernelProgIds();
          return Promise.resolve(progs.every((id) => !live.has(id)) ? true : undefined);
        }, 5000);
      }
    } finally {
      prom?.kill("SIGTERM");
      await prom?.status;
      for (const s of [serve, probe]) {
        try {
          s.child.kill("SIGKILL");
        } catch { /* already gone */ }
        await s.child.status;
        await s.stdout.cancel();
      }
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "--push sends the metrics to a Pushgateway every N s and at exit",
  ignore: NOT_ROOT,
  async fn() {
    needBinary("prometheus-pushgateway");
    const dir = Deno.makeTempDirSync({ prefix: "bpfsh-push-" });
    const port = freePort();
    const gw = new Deno.Command("prometheus-pushgateway", {
      args: [
        `--web.listen-address=127.0.0.1:${port}`,
        `--persistence.file=${dir}/pushgateway.data`,
        "--log.level=warn",
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    let serve: Awaited<ReturnType<typeof serveProcess>> | undefined;
    try {
      const gateway = `http://127.0.0.1:${port}`;
      await waitFor(
        "the Pushgateway",
        async () => (await get(`${gateway}/-/ready`)).ok || undefined,
      );
      const { path, comm } = uniqueBinary(dir);
      serve = await serveProcess([
        `${ROOT}/examples/execs.yaml`,
        "-e",
        "tracepoint:sched:sched_process_exec { @probe_execs[comm] = count(); }",
        "--push",
        gateway,
        "--push-interval",
        "1",
        "--job",
        "bpfsh_test",
        "--duration",
        "30",
      ]);
      assertEquals(serve.url, "", "with --push and no --listen there is no HTTP server");
      const N = 5;
      await execTimes(path, N);
      const line = new RegExp(
        `^bpfsh_execs_total\\{comm="${comm}",instance="[^"]+",job="bpfsh_test",uid="0"\\} (\\d+)$`,
        "m",
      );
      // A periodic push, while serve still runs.
      await waitFor("a periodic push", async () => {
        const m = line.exec(await (await get(`${gateway}/metrics`)).text());
        return m && Number(m[1]) >= N ? true : undefined;
      }, 10000);
      // More execs, then SIGTERM: the last push at exit carries them.
      await execTimes(path, 2);
      serve.child.kill("SIGTERM");
      assertEquals((await exited(serve.child)).code, 0, await serve.stderr());
      const pushed = await (await get(`${gateway}/metrics`)).text();
      const m = line.exec(pushed);
      assert(m && Number(m[1]) >= N + 2, `the last push: ${m?.[0]}`);
      // The -e program's map, pushed with the config's metrics.
      const probeLine = new RegExp(
        `^bpfsh_probe_execs_total\\{comm="${comm}",instance="[^"]+",job="bpfsh_test"\\} (\\d+)$`,
        "m",
      ).exec(pushed);
      assert(probeLine && Number(probeLine[1]) >= N + 2, `the -e map pushed: ${probeLine?.[0]}`);
    } finally {
      if (serve) {
        try {
          serve.child.kill("SIGKILL");
        } catch { /* already gone */ }
        await serve.child.status;
        await serve.stdout.cancel();
      }
      gw.kill("SIGTERM");
      await gw.status;
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

/** A minimal OTLP/HTTP receiver: keeps every JSON body posted to /v1/logs and /v1/metrics. */
function otlpReceiver() {
  const logs: unknown[] = [];
  const metrics: unknown[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const type = req.headers.get("content-type") ?? "";
    if (!type.includes("json")) return new Response(`want JSON, got ${type}`, { status: 415 });
    const body = await req.json();
    if (path === "/v1/logs") logs.push(body);
    else if (path === "/v1/metrics") metrics.push(body);
    else return new Response("", { status: 404 });
    return Response.json({});
  });
  return { server, logs, metrics, url: `http://127.0.0.1:${server.addr.port}` };
}

interface OtlpAttr {
  key: string;
  value: Record<string, unknown>;
}
const attr = (attrs: OtlpAttr[], key: string) => {
  const v = attrs.find((a) => a.key === key)?.value;
  return v && (v.stringValue ?? v.intValue ?? v.doubleValue);
};

bpfTest("--otlp exports events as log records and counters as sums", async () => {
  const rx = otlpReceiver();
  const dir = Deno.makeTempDirSync({ prefix: "bpfsh-otlp-" });
  const cfg = validateConfig(
    {
      ...EXECS,
      events: [{ ringbuf: "events", type: "exec_event", name: "exec" }],
    },
    "execs.yaml",
    EXAMPLES,
  );
  const nonce = BigInt(Math.floor(Math.random() * 1e12));
  // A perf buffer and bpf_printk lines too, from the events fixture.
  const fixtureCfg = validateConfig(
    {
      object: "events.bpf.o",
      attach: ["on_execve"],
      events: [
        {
          perfbuf: "output",
          type: "data_t",
          name: "perf_exec",
          fields: ["pid", "uid", "command"],
          decoders: { uid: [{ static: { 0: "root" } }] },
        },
        { trace_pipe: `bpfsh-events nonce=${nonce} `, name: "printk" },
      ],
    },
    "events.yaml",
    `${ROOT}/build/tests`,
  );
  // A probe-language program from a config: its printf lines are log records (END's too).
  const probeCfg = validateConfig(
    {
      probe: 'tracepoint:sched:sched_process_exec { printf("exec %s %d\\n", comm, pid); ' +
        "@probe_execs[comm] = count(); }\n" +
        `END { printf("bye ${nonce}\\n"); }`,
    },
    "probe.yaml",
    EXAMPLES,
  );
  const logged: string[] = [];
  const s = await Serve.start([
    await configUnit(cfg),
    await configUnit(fixtureCfg),
    await configUnit(probeCfg),
  ], {
    listen: "127.0.0.1:0",
    otlp: rx.url,
    otlpInterval: 1,
    log: (l) => logged.push(l),
  });
  const unit = s.units[1];
  if (unit.kind === "probe") throw new Error("events.yaml is an object's config");
  const events = unit.obj;
  const ctx = new Uint8Array(8);
  new DataView(ctx.buffer).setBigUint64(0, nonce, true);
  const say = setInterval(() => events.program("say").testRun({ ctx }), 200);
  try {
    const { path, comm } = uniqueBinary(dir);
    await execTimes(path, 3);
    type LogBody = {
      resourceLogs: {
        resource: { attributes: OtlpAttr[] };
        scopeLogs: {
          logRecords: {
            eventName?: string;
            body: { stringValue: string };
            attributes: OtlpAttr[];
          }[];
        }[];
      }[];
    };
    const records = await waitFor("log records of the execs", () => {
      const all = (rx.logs as LogBody[]).flatMap((b) =>
        b.resourceLogs.flatMap((r) => r.scopeLogs.flatMap((s) => s.logRecords))
      );
      const ours = all.filter((r) => attr(r.attributes, "comm") === comm);
      return Promise.resolve(ours.length >= 3 ? ours : undefined);
    }, 10000);
    assertEquals(records[0].body.stringValue, "exec");
    assertEquals(Number(attr(records[0].attributes, "uid")), 0);
    assert(Number(attr(records[0].attributes, "pid")) > 0, "pid");
    assert(Number(attr(records[0].attributes, "ppid")) > 0, "ppid");
    const resource = (rx.logs as LogBody[])[0].resourceLogs[0].resource.attributes;
    assertEquals(attr(resource, "service.name"), "bpfsh");
    const allRecords = () =>
      (rx.logs as LogBody[]).flatMap((b) =>
        b.resourceLogs.flatMap((r) => r.scopeLogs.flatMap((s) => s.logRecords))
      );
    // Perf buffer records: only the fields asked for, a static decoder applied.
    const perf = await waitFor("perf buffer records", () => {
      const r = allRecords().find((r) => r.eventName === "perf_exec");
      return Promise.resolve(r);
    }, 10000);
    assertEquals(perf.attributes.map((a) => a.key).sort(), ["command", "pid", "uid"]);
    assertEquals(attr(perf.attributes, "uid"), "root");
    // bpf_printk lines, filtered by the config's regexp. trace_pipe has one reader at a
    // time: when another process holds it, the source must say so (EBUSY) instead.
    type Found = ReturnType<typeof allRecords>[number] | string;
    const line = await waitFor<Found>("a trace_pipe line, or its error", () => {
      const r = allRecords().find((r) => r.eventName === "printk");
      return Promise.resolve(r ?? logged.find((l) => l.includes("events trace_pipe:")));
    }, 10000);
    if (typeof line === "string") {
      assertMatch(line, "cannot open '/sys/kernel/tracing/trace_pipe': device or resource busy");
      console.error(`(trace_pipe is held by another process here: ${line})`);
    } else {
      assertMatch(String(attr(line.attributes, "message")), `nonce=${nonce} answer=42`);
    }

    type MetricBody = {
      resourceMetrics: {
        scopeMetrics: {
          metrics: {
            name: string;
            sum?: {
              isMonotonic: boolean;
              aggregationTemporality: number;
              dataPoints: { attributes: OtlpAttr[]; asDouble?: number }[];
            };
          }[];
        }[];
      }[];
    };
    const point = await waitFor("a sum metric with the execs", () => {
      for (const b of rx.metrics as MetricBody[]) {
        for (const r of b.resourceMetrics) {
          for (const sm of r.scopeMetrics) {
            for (const m of sm.metrics) {
              if (m.name !== "bpfsh_execs_total" || !m.sum) continue;
              const p = m.sum.dataPoints.find((d) => attr(d.attributes, "comm") === comm);
              if (p && (p.asDouble ?? 0) >= 3) return Promise.resolve({ m, p });
            }
          }
        }
      }
      return Promise.resolve(undefined);
    }, 10000);
    assert(point.m.sum!.isMonotonic, "a counter is a monotonic sum");
    assertEquals(point.m.sum!.aggregationTemporality, 2); // cumulative

    // The probe program's printf lines, one record each, the line as the body.
    const printed = allRecords().filter((r) =>
      r.eventName === "printf" && r.body.stringValue.startsWith(`exec ${comm} `)
    );
    assertEquals(printed.length, 3);
    assertMatch(printed[0].body.stringValue, new RegExp(`^exec ${comm} \\d+$`));
    assertEquals(attr(printed[0].attributes, "bpfsh.source"), "probe.yaml");
    const probeMetric = (rx.metrics as MetricBody[]).some((b) =>
      b.resourceMetrics.some((r) =>
        r.scopeMetrics.some((sm) => sm.metrics.some((m) => m.name === "bpfsh_probe_execs_total"))
      )
    );
    assert(probeMetric, "the probe program's count() map over OTLP");
    // Stopping runs END; what it prints is exported before the exporter shuts down.
    await s.stop();
    assert(
      allRecords().some((r) => r.body.stringValue === `bye ${nonce}`),
      "END's printf line was not exported",
    );
  } finally {
    clearInterval(say);
    await s.stop();
    await rx.server.shutdown();
    Deno.removeSync(dir, { recursive: true });
  }
});

bpfTest(
  "serve -e on a host without clang: the direct back end serves the program's maps",
  async () => {
    // No clang on PATH, none named: as on a production host.
    const path = (Deno.env.get("PATH") ?? "").split(":").filter((d) => {
      try {
        Deno.statSync(`${d}/clang`);
        return false;
      } catch {
        return true;
      }
    }).join(":");
    const serve = await serveProcess(
      ["-e", EXEC_PROGRAM, "--listen", "127.0.0.1:0"],
      { PATH: path, BPFSH_CLANG: "/nonexistent/clang" },
    );
    try {
      if (!serve.url) {
        serve.child.kill("SIGKILL");
        await serve.child.status;
        throw new Error(`serve -e did not start: ${await serve.stderr()}`);
      }
      await new Deno.Command("/bin/true").output();
      let text = "";
      for (let i = 0; i < 50 && !/bpfsh_execs_total\{comm="true"\} [1-9]/.test(text); i++) {
        await new Promise((r) => setTimeout(r, 100));
        text = await (await fetch(`${serve.url}/metrics`)).text();
      }
      assertMatch(text, /bpfsh_execs_total\{comm="true"\} [1-9]/);
      assertMatch(text, /bpfsh_exec_pids_bucket\{comm="true",le="\+Inf"\} [1-9]/);
      const health = await (await fetch(`${serve.url}/healthz`)).json();
      assertEquals(health.objects[0].links, 1, JSON.stringify(health));
      assert(
        health.objects[0].programs.every((p: { id?: number }) => p.id),
        JSON.stringify(health),
      );
    } finally {
      serve.child.kill("SIGTERM");
      const status = await serve.child.status;
      await serve.stdout.cancel().catch(() => {});
      assertEquals(status.code, 0, await serve.stderr()); // a clean stop, as for the other units
    }
  },
);
