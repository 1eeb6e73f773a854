/**
 * BpfObject: a BPF ELF object opened with libbpf, from a file, bytes or C source.
 * Lifecycle: open (configure globals, autoload) → load() → attach → close().
 *
 * @module
 */

import { BPF_OBJ_NAME_LEN, BPF_OBJECT_OPEN_OPTS, ERRNO } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";
import { checkPtr, libbpf, withLog } from "../../ffi/libbpf.ts";
import { cstr } from "../../ffi/libc.ts";
import { Btf } from "../btf/btf.ts";
import { Globals, type GlobalVar } from "./globals.ts";
import { coreBtfFor } from "../build/core_btf.ts";
import { readRegularFileSync } from "../build/bounded_read.ts";
import { OBJECT_LIMIT } from "../build/cache.ts";
import { checkObject } from "../elf/validate.ts";
import { explainLoadFailure } from "./load_errors.ts";
import { type Closeable, track } from "./lifetime.ts";
import type { Link } from "../link/link.ts";
import { prepareKprobeMulti } from "../link/kprobe.ts";
import { BpfMap, type MapInfo } from "../map/map.ts";
import { Program } from "./program.ts";
import { ProgArray } from "../map/progarray.ts";
import { RingBuffer, type RingBufferOptions } from "../events/ringbuf.ts";
import { PerfBuffer, type PerfBufferOptions } from "../events/perfbuf.ts";

/** Options for opening an object. */
export interface OpenOptions {
  /** The object's name (defaults to the file name). */
  name?: string;
  /** Extra clang flags when opening C source. */
  cflags?: string[];
  /** The compile cache directory for C sources (default: BPFSH_CACHE or ~/.cache/bpfsh). */
  cacheDir?: string;
  /** Stop compiling a C source when this aborts. */
  signal?: AbortSignal;
}

/** Native state, kept apart from the object so the GC safety net can free it alone. */
interface Native {
  ptr: Deno.PointerObject | null;
  links: Set<Link>;
  children: Set<Closeable>;
  /** Bytes given to bpf_object__open_mem: libbpf reads them until load. */
  keepAlive?: Uint8Array;
}

function releaseNative(n: Native): void {
  for (const c of [...n.children].reverse()) {
    try {
      c.close();
    } catch {
      // Keep releasing the rest.
    }
  }
  n.children.clear();
  for (const l of [...n.links]) l.close();
  n.links.clear();
  if (n.ptr) libbpf().bpf_object__close(n.ptr);
  n.ptr = null;
  n.keepAlive = undefined;
}

/**
 * A BPF object: its programs, maps and globals.
 *
 * @example
 * ```ts
 * // open -> configure -> load -> attach -> read -> close
 * using obj = await BpfObject.open("build/scripts/demo.bpf.o");
 * obj.globals.filter_uid = Deno.uid()!; // .rodata, before load: other users are dropped in the kernel
 * obj.load();
 * obj.attachAll(); // tracepoint/sched/sched_process_exec
 * await new Deno.Command("/bin/true").output();
 * for (const [uid, n] of obj.map("execs_by_uid").entries()) console.log(uid, n); // 0 1n
 * // `using`: leaving the scope detaches, unloads and frees everything
 * ```
 */
export class BpfObject {
  /** The object's name. */
  readonly name: string;
  /** The file it came from (the compiled .o for C sources), if any. */
  readonly path?: string;
  readonly #native: Native;
  readonly #untrack: () => void;
  readonly #programs: Program[] = [];
  readonly #maps: BpfMap[] = [];
  readonly #globals: Globals;
  #loaded = false;
  #btf?: Btf | null;
  /** The open perf buffer reader of each perf event array map, by map name. */
  readonly #perfReaders = new Map<string, PerfBuffer>();

  private constructor(native: Native, name: string, path?: string) {
    this.#native = native;
    this.name = name;
    this.path = path;
    this.#untrack = track(this, () => releaseNative(native));
    const sym = libbpf();
    const ptr = native.ptr!;
    const owner = this.#owner();
    for (
      let p = sym.bpf_object__next_program(ptr, null);
      p;
      p = sym.bpf_object__next_program(ptr, p)
    ) {
      this.#programs.push(new Program(owner, p));
    }
    for (let m = sym.bpf_object__next_map(ptr, null); m; m = sym.bpf_object__next_map(ptr, m)) {
      const mp = m;
      this.#maps.push(new BpfMap(this.#mapOwner(), () => mapInfoOf(mp), () => sym.bpf_map__fd(mp)));
    }
    // deno-lint-ignore no-this-alias
    const self = this;
    this.#globals = new Globals({
      name,
      get loaded() {
        return owner.loaded;
      },
      get btf() {
        return self.btf;
      },
      assertOpen: (op) => this.#assertOpen(op),
      sectionMaps: () => this.#sectionMaps(),
    });
    native.children.add(this.#globals);
  }

  /**
   * Open an object file (`.o`), or compile and open a C source (`.bpf.c` / `.c`).
   *
   * @param path The file.
   * @param opts Name override, extra clang flags for C sources.
   * @returns The opened (not yet loaded) object.
   * @example
   * ```ts
   * using obj = await BpfObject.open("tests/fixtures/exec_count.bpf.c"); // compiled once, then cached
   * obj.name; // "exec_count"
   * using same = await BpfObject.open("build/tests/exec_count.bpf.o"); // a compiled object
   * ```
   */
  static async open(path: string, opts: OpenOptions = {}): Promise<BpfObject> {
    if (/\.c$/.test(path)) {
      const { compile } = await import("../build/compile.ts");
      const { bytes } = await compile(path, {
        cflags: opts.cflags,
        cacheDir: opts.cacheDir,
        signal: opts.signal,
      });
      // The bytes compile() checked are the ones libbpf gets: the file is not read again.
      const name = opts.name ?? baseName(path);
      return BpfObject.#openBytes(bytes, name, `open '${path}'`, path, opts.cacheDir);
    }
    return BpfObject.openSync(path, opts);
  }

  /**
   * Compile C source text and open the result.
   *
   * @param source The BPF C program.
   * @param opts Name and extra clang flags.
   * @returns The opened object.
   * @example
   * ```ts
   * using obj = await BpfObject.fromSource(`
   *   #include "vmlinux.h"
   *   #include <bpf/bpf_helpers.h>
   *   u64 calls = 0;
   *   SEC("tracepoint/syscalls/sys_enter_getppid")
   *   int count(void *ctx) { __sync_fetch_and_add(&calls, 1); return 0; }
   *   char LICENSE[] SEC("license") = "GPL";
   * `, { name: "calls" });
   * obj.load();
   * obj.programs.map((p) => p.section); // ["tracepoint/syscalls/sys_enter_getppid"]
   * ```
   */
  static async fromSource(source: string, opts: OpenOptions = {}): Promise<BpfObject> {
    const { compile } = await import("../build/compile.ts");
    const { objectPath, bytes } = await compile({ source, name: opts.name }, {
      cflags: opts.cflags,
      cacheDir: opts.cacheDir,
      signal: opts.signal,
    });
    const name = opts.name ?? "source";
    return BpfObject.#openBytes(bytes, name, `open '${name}'`, objectPath, opts.cacheDir);
  }

  /**
   * Open a compiled object file synchronously.
   *
   * @param path The `.o` file.
   * @param opts Name override.
   * @returns The opened object.
   * @example
   * ```ts
   * using obj = BpfObject.openSync("build/tests/exec_count.bpf.o");
   * obj.loaded; // false: maps and programs are created by load()
   * ```
   */
  static openSync(path: string, opts: OpenOptions = {}): BpfObject {
    return BpfObject.#openFile(path, opts.name ?? baseName(path), opts.cacheDir);
  }

  static #openFile(path: string, name: string, cacheDir?: string): BpfObject {
    const op = `open '${path}'`;
    const bytes = readRegularFileSync(path, { op, limit: OBJECT_LIMIT });
    return BpfObject.#openBytes(bytes, name, op, path, cacheDir);
  }

  /**
   * Open an object from its ELF bytes.
   *
   * @param bytes The ELF file's contents.
   * @param opts The object's name.
   * @returns The opened object.
   * @example
   * ```ts
   * const elf = Deno.readFileSync("build/tests/exec_count.bpf.o"); // or fetched, or embedded
   * using obj = BpfObject.fromBytes(elf, { name: "exec_count" });
   * obj.load();
   * ```
   */
  static fromBytes(bytes: Uint8Array, opts: OpenOptions = {}): BpfObject {
    const name = opts.name ?? "object";
    return BpfObject.#openBytes(bytes, name, `open '${name}'`, undefined, opts.cacheDir);
  }

  static #openBytes(
    bytes: Uint8Array,
    name: string,
    op: string,
    path?: string,
    cacheDir?: string,
  ): BpfObject {
    if (bytes.length < 64 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c) {
      throw new BpfError({
        op,
        errno: ERRNO.ENOEXEC,
        message: "not an ELF file",
        hint: "give a BPF object compiled with clang -target bpf, or a .bpf.c source",
      });
    }
    // libbpf trusts what it parses: a corrupt object must stop here, not crash in C.
    checkObject(bytes, op);
    const copy = Uint8Array.from(bytes);
    const objName = cstr(name.replace(/\.bpf\.o$|\.o$/, "").slice(0, BPF_OBJ_NAME_LEN - 1));
    const custom = Deno.env.get("BPFSH_NO_CORE_BTF") ? undefined : coreBtfFor(copy, cacheDir);
    const customPath = custom ? cstr(custom) : undefined;
    const opts = BPF_OBJECT_OPEN_OPTS.alloc();
    BPF_OBJECT_OPEN_OPTS.set(opts, "object_name", objName);
    if (customPath) BPF_OBJECT_OPEN_OPTS.set(opts, "btf_custom_path", customPath);
    const { result, log, errno } = withLog(() =>
      libbpf().bpf_object__open_mem(copy, BigInt(copy.length), opts)
    );
    void [objName, customPath]; // libbpf copies both strings during the call
    const ptr = checkPtr(result, {
      op,
      message: "libbpf cannot parse this object",
      hint: "is it a BPF object (clang -target bpf -g)? the log says what is wrong",
      log,
      errno,
    });
    return new BpfObject(
      { ptr, links: new Set(), children: new Set(), keepAlive: copy },
      name,
      path,
    );
  }

  #owner() {
    // deno-lint-ignore no-this-alias
    const self = this;
    return {
      get name() {
        return self.name;
      },
      get loaded() {
        return self.#loaded;
      },
      assertOpen: (op: string) => self.#assertOpen(op),
      adopt: (link: Link) => self.#native.links.add(link),
      release: (link: Link) => self.#native.links.delete(link),
    };
  }

  #mapOwner() {
    // deno-lint-ignore no-this-alias
    const self = this;
    return {
      object: self,
      get btf() {
        return self.btf;
      },
      assertOpen: (op: string) => self.#assertOpen(op),
    };
  }

  #assertOpen(op: string): void {
    if (!this.#native.ptr) {
      throw new BpfError({ op, message: `object '${this.name}' is closed` });
    }
  }

  #sectionMaps(): { section: string; ptr: Deno.PointerObject; datasecId: number }[] {
    const sym = libbpf();
    const ptr = this.#native.ptr!;
    const btf = this.btf;
    const out = [];
    for (let m = sym.bpf_object__next_map(ptr, null); m; m = sym.bpf_object__next_map(ptr, m)) {
      if (!sym.bpf_map__is_internal(m)) continue;
      const datasecId = sym.bpf_map__btf_value_type_id(m);
      const t = btf && datasecId ? btf.typeById(datasecId) : undefined;
      if (!t || t.kind !== "datasec") continue;
      out.push({ section: t.name, ptr: m, datasecId });
    }
    return out;
  }

  /** Whether load() succeeded. */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.#native.ptr === null;
  }

  /** The object's BTF (types of maps, globals and events), or undefined when it has none. */
  get btf(): Btf | undefined {
    if (this.#btf === undefined) {
      this.#assertOpen("read BTF");
      const sym = libbpf();
      const b = sym.bpf_object__btf(this.#native.ptr!);
      this.#btf = null;
      if (b) {
        const size = new Uint32Array(1);
        const raw = sym.btf__raw_data(b, size);
        if (raw && size[0] > 0) {
          const bytes = new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(raw, size[0]))
            .slice();
          this.#btf = Btf.parse(bytes);
        }
      }
    }
    return this.#btf ?? undefined;
  }

  /** The programs, in ELF order. */
  get programs(): Program[] {
    return [...this.#programs];
  }

  /** The maps, including the section maps behind globals (`.rodata`, `.bss`, …). */
  get maps(): BpfMap[] {
    return [...this.#maps];
  }

  /** Links made through this object's programs that are still attached. */
  get links(): Link[] {
    return [...this.#native.links];
  }

  /**
   * The globals of `.rodata`/`.data`/`.bss` (and custom sections) as properties.
   *
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/globals.bpf.o");
   * obj.globals.ro_value = 9; // const volatile (.rodata): set before load only
   * obj.load();
   * obj.globals.data_value; // 11, as the C source initialised it (.data)
   * obj.globals.data_value = 12; // .data and .bss are live: the program sees 12 from now on
   * obj.globals.pair_value; // { a: 1, b: 2 }, structs decoded from BTF
   * ```
   */
  get globals(): Record<string, unknown> {
    return this.#globals.proxy;
  }

  /**
   * Describe every global variable.
   *
   * @returns Name, section, type, offset and size.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/globals.bpf.o");
   * obj.globalsInfo()[0]; // { name: "ro_value", section: ".rodata", type: "const volatile u32", offset: 0, size: 4 }
   * ```
   */
  globalsInfo(): GlobalVar[] {
    return this.#globals.list();
  }

  /**
   * A program by name.
   *
   * @param name The function name in the C source.
   * @returns The program.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/exec_count.bpf.o");
   * obj.load();
   * obj.program("count_exec").section; // "tracepoint/syscalls/sys_enter_execve"
   * obj.program("count_exec").attach(); // there, by its section
   * ```
   */
  program(name: string): Program {
    this.#assertOpen(`program '${name}'`);
    const p = this.#programs.find((x) => x.name === name);
    if (!p) throw this.#unknown("program", name, this.#programs.map((x) => x.name));
    return p;
  }

  /**
   * A map by name (section maps also answer to their section: `.bss`, `.rodata`).
   *
   * @param name The map's name.
   * @returns The map.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/exec_count.bpf.o");
   * obj.load();
   * obj.map("exec_counts").get(1000); // undefined: nothing counted yet
   *
   * using globals = await BpfObject.open("build/tests/globals.bpf.o");
   * globals.map(".data").name; // "globals.data": a global section's map, by its section
   * ```
   */
  map<K = unknown, V = unknown>(name: string): BpfMap<K, V> {
    this.#assertOpen(`map '${name}'`);
    const m = this.#maps.find((x) => x.name === name) ??
      this.#maps.find((x) => x.name.endsWith(name) && name.startsWith("."));
    if (!m) throw this.#unknown("map", name, this.#maps.map((x) => x.name));
    return m as BpfMap<K, V>;
  }

  #unknown(kind: string, name: string, names: string[]): BpfError {
    return new BpfError({
      op: `find ${kind} '${name}'`,
      errno: ERRNO.ENOENT,
      message: `object '${this.name}' has no ${kind} named '${name}'`,
      hint: names.length ? `${kind}s are: ${names.join(", ")}` : `the object has no ${kind}s`,
    });
  }

  /**
   * The prog_array map `name`, to wire tail calls.
   *
   * @param name The prog_array map.
   * @returns A ProgArray over it.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/tailcall.bpf.o");
   * obj.load();
   * obj.progArray("jmp").set(39, obj.program("on_getpid")); // syscall 39 (getpid) jumps there
   * ```
   */
  progArray(name: string): ProgArray {
    return new ProgArray(this.map(name), () => this.#programs);
  }

  /**
   * A reader of the ring buffer map `name`, closed with this object.
   *
   * @param name The `BPF_MAP_TYPE_RINGBUF` map.
   * @param opts `type`: the BTF struct of an event (else guessed, else bytes).
   * @returns The reader.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/events.bpf.o");
   * obj.load();
   * obj.attachAll(); // on_execve sends a data_t on every execve
   * await new Deno.Command("/bin/true").output();
   * for await (const ev of obj.ringbuf("events", { type: "data_t" })) {
   *   console.log(ev.pid, ev.command); // 4242 deno
   *   break; // leaving the loop closes the reader
   * }
   * ```
   */
  // deno-lint-ignore no-explicit-any
  ringbuf<T = any>(name: string, opts: RingBufferOptions = {}): RingBuffer<T> {
    return new RingBuffer<T>(this.map(name), opts).ownedBy(this);
  }

  /**
   * A reader of the perf event array map `name` (one ring per CPU), closed with this object:
   * the map's open reader when it was made with the same options (see {@link PerfBuffer}).
   *
   * @param name The `BPF_MAP_TYPE_PERF_EVENT_ARRAY` map.
   * @param opts `type` of the events, `pageCount` per CPU, `onLost` for lost samples.
   * @returns The reader; events are `{ cpu, data }`.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/events.bpf.o");
   * obj.load();
   * obj.attachAll(); // on_execve sends a data_t on every execve
   * await new Deno.Command("/bin/true").output();
   * for await (const { cpu, data } of obj.perfbuf("output", { type: "data_t" })) {
   *   console.log(cpu, data.pid, data.command); // 1 4242 deno
   *   break; // leaving the loop closes the reader
   * }
   * ```
   */
  // deno-lint-ignore no-explicit-any
  perfbuf<T = any>(name: string, opts: PerfBufferOptions = {}): PerfBuffer<T> {
    // One reader per perf event array: a second one would take the first's slots.
    const open = this.#perfReaders.get(name);
    if (open?.reuseFor(opts)) return open as PerfBuffer<T>;
    open?.close();
    const pb = new PerfBuffer<T>(this.map(name), opts).ownedBy(this);
    this.#perfReaders.set(name, pb);
    return pb;
  }

  /**
   * Load every program (with autoload on) and create the maps in the kernel.
   *
   * @returns This object.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/exec_count.bpf.o");
   * obj.load(); // throws a BpfError with the verifier's log when the kernel refuses a program
   * obj.program("count_exec").fd; // a program fd: loaded
   * ```
   */
  load(): this {
    const op = `load '${this.name}'`;
    this.#assertOpen(op);
    if (this.#loaded) throw new BpfError({ op, message: "the object is already loaded" });
    prepareKprobeMulti(this.#native.ptr!);
    const { result, log } = withLog(() => libbpf().bpf_object__load(this.#native.ptr!));
    if (result < 0) throw explainLoadFailure(-result, log, op, this.#programs);
    this.#loaded = true;
    this.#native.keepAlive = undefined;
    return this;
  }

  /**
   * Attach every loaded program whose section says where (tracepoints, raw_tp, tp_btf,
   * uprobes with a target, …). Programs that need a target (socket, xdp, …) are skipped.
   * All or nothing: on a failure the links made so far are closed.
   *
   * @returns The new links.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/events.bpf.o");
   * obj.load();
   * obj.attachAll().map((l) => l.target); // ["tracepoint/syscalls/sys_enter_execve"]
   * // its raw_tp programs have no tracepoint in their section: they are left for testRun()
   * ```
   */
  attachAll(): Link[] {
    const op = `attach all of '${this.name}'`;
    this.#assertOpen(op);
    if (!this.#loaded) {
      throw new BpfError({ op, message: "the object is not loaded", hint: "call load() first" });
    }
    const links: Link[] = [];
    try {
      for (const p of this.#programs) {
        if (p.fd < 0 || !autoAttachable(p.section)) continue;
        links.push(p.attach());
      }
    } catch (e) {
      for (const l of links) l.close();
      throw e;
    }
    return links;
  }

  /**
   * Close a child resource (ring buffer, …) together with this object.
   *
   * @param child The resource.
   * @returns The child.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/stack_events.bpf.o");
   * obj.load();
   * const symbols = obj.adopt(new Symbolizer()); // closed by obj.close()
   * ```
   */
  adopt<T extends Closeable>(child: T): T {
    this.#assertOpen("adopt");
    // Readers the user closed already need not wait for the object's close.
    for (const c of this.#native.children) if (c.closed) this.#native.children.delete(c);
    this.#native.children.add(child);
    return child;
  }

  /**
   * Forget a child that closed on its own.
   *
   * @param child The resource.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/stack_events.bpf.o");
   * const symbols = obj.adopt(new Symbolizer());
   * symbols.close(); // done with it early
   * obj.forget(symbols); // obj.close() need not close it again
   * ```
   */
  forget(child: Closeable): void {
    this.#native.children.delete(child);
  }

  /**
   * Detach every link, close children (readers), unload programs, free maps. Idempotent.
   *
   * @example
   * ```ts
   * const obj = BpfObject.openSync("build/tests/exec_count.bpf.o");
   * obj.load();
   * obj.attachAll();
   * obj.close(); // detached, unloaded, freed
   * obj.close(); // again: nothing happens
   * obj.closed; // true
   * ```
   */
  close(): void {
    if (!this.#native.ptr) return;
    this.#untrack();
    releaseNative(this.#native);
    this.#btf = undefined;
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** A summary for listings. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      path: this.path,
      loaded: this.#loaded,
      programs: this.#programs.length,
      maps: this.#maps.length,
      links: this.#native.links.size,
    };
  }
}

/** Sections that say where to attach (iterators run on demand: `link.read()`). */
function autoAttachable(section: string): boolean {
  if (
    /^(socket|xdp|tc|classifier|action|perf_event|sk_|flow_dissector|cgroup|struct_ops|syscall|iter)/
      .test(section)
  ) {
    return false;
  }
  if (/^(raw_tp|raw_tracepoint|tp_btf|fentry|fexit|lsm)(\.\w+)?$/.test(section)) return false;
  if (/^u(ret)?probe(\.s)?$/.test(section) || /^k(ret)?probe$/.test(section)) return false;
  return section.includes("/");
}

function mapInfoOf(m: Deno.PointerObject): MapInfo {
  const sym = libbpf();
  return {
    name: Deno.UnsafePointerView.getCString(sym.bpf_map__name(m)!),
    typeId: sym.bpf_map__type(m),
    keySize: sym.bpf_map__key_size(m),
    valueSize: sym.bpf_map__value_size(m),
    maxEntries: sym.bpf_map__max_entries(m),
    flags: sym.bpf_map__map_flags(m),
    btfKeyTypeId: sym.bpf_map__btf_key_type_id(m),
    btfValueTypeId: sym.bpf_map__btf_value_type_id(m),
  };
}

function baseName(path: string): string {
  return path.replace(/^.*\//, "").replace(/\.bpf\.(o|c)$|\.(o|c)$/, "");
}
