/**
 * A Link: one attachment of a program to a hook, released by close().
 *
 * @module
 */

import { check, checkPtr, libbpf, withLog } from "../../ffi/libbpf.ts";
import { cstr, errno as lastErrno, libc, O_CLOEXEC, O_RDONLY } from "../../ffi/libc.ts";
import { BpfError } from "../../ffi/errors.ts";
import { pinPath } from "../system/mounts.ts";

/** How a Link lets go of its attachment. */
export interface LinkRelease {
  /** The link's fd, when it has one (-1 when not). */
  fd: number;
  /** How the kernel holds it, where that is worth showing (`tcx link 42`, `tc filter …`). */
  via?: string;
  /** Detach and free; called once. */
  destroy(): void;
  /** Pin to bpffs, when supported. */
  pin?(path: string): void;
  /** Run the iterator once and return all it wrote (iterator links only). */
  read?(): Uint8Array;
}

/**
 * What an attach function needs of a loaded program. Program.attach() builds it; each
 * attach kind in bpf/link/ takes it with its own, already parsed, target.
 */
export interface AttachContext {
  /** The `struct bpf_program *`. */
  readonly ptr: Deno.PointerObject;
  /** The loaded program's fd. */
  readonly fd: number;
  /** The program's name. */
  readonly name: string;
  /** Its ELF section, e.g. `"kprobe/do_unlinkat"`. */
  readonly section: string;
  /** Its type, as libbpf names it (`"kprobe"`, `"tracing"`, …). */
  readonly type: string;
  /** The operation, for errors: `attach 'prog' to 'target'`. */
  readonly op: string;
}

let nextLinkId = 1;

/**
 * One attachment of a program. Closing it detaches the program from that hook.
 *
 * @example
 * ```ts
 * using obj = await BpfObject.open("build/tests/hooks.bpf.o");
 * obj.load();
 * using link = obj.program("on_close_tp").attach("syscalls/sys_enter_close");
 * console.log(link.program, link.target); // on_close_tp syscalls/sys_enter_close
 * link.close(); // detached; obj.close() would do it too
 * ```
 */
export class Link {
  /** A session-unique number, for `detach N` in the shell. */
  readonly id: number = nextLinkId++;
  /** The program's name. */
  readonly program: string;
  /** What it is attached to, e.g. `"tracepoint/syscalls/sys_enter_close"`. */
  readonly target: string;
  #release?: LinkRelease;
  #onClose?: (link: Link) => void;

  /**
   * Wrap an attachment (used by Program.attach()).
   *
   * @param program The program's name.
   * @param target What it is attached to.
   * @param release How to detach.
   * @param onClose Told when the link closes (the owner forgets it).
   */
  constructor(
    program: string,
    target: string,
    release: LinkRelease,
    onClose?: (link: Link) => void,
  ) {
    this.program = program;
    this.target = target;
    this.#release = release;
    this.#onClose = onClose;
  }

  /** Whether the link is still attached. */
  get attached(): boolean {
    return this.#release !== undefined;
  }

  /** The link's fd (-1 for attachments without one, or once closed). */
  get fd(): number {
    return this.#release?.fd ?? -1;
  }

  /**
   * How the kernel holds the attachment, where it is worth showing: a tc program is a
   * `tcx link ID` (as `bpftool link` lists it) or a `tc filter (netlink) …`.
   */
  get via(): string | undefined {
    return this.#release?.via;
  }

  /**
   * Pin the link to bpffs so the attachment outlives the process.
   *
   * @param path A path under /sys/fs/bpf.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/hooks.bpf.o");
   * obj.load();
   * const link = obj.program("on_sys_enter").attach(); // raw_tp/sys_enter
   * link.pin("/sys/fs/bpf/bpfsh_doc_link"); // stays attached after this process exits
   * Deno.removeSync("/sys/fs/bpf/bpfsh_doc_link"); // unpin: detached when the link closes
   * ```
   */
  pin(path: string): void {
    const r = this.#release;
    if (!r?.pin) {
      throw new BpfError({
        op: `pin link ${this.id}`,
        message: `a ${this.target} attachment has no link to pin`,
      });
    }
    r.pin(pinPath(path));
  }

  /**
   * Run an iterator link once and return what it wrote (each call runs it anew, as `cat`
   * on a pinned iterator does).
   *
   * @returns The iterator's output bytes.
   * @example
   * ```ts
   * using obj = await BpfObject.open("tests/fixtures/iters.bpf.c");
   * obj.load();
   * const bytes = obj.program("dump_tasks").attach().read(); // "PID COMM" lines
   * ```
   */
  read(): Uint8Array {
    const r = this.#release;
    if (!r?.read) {
      throw new BpfError({
        op: `read link ${this.id}`,
        message: r ? `a ${this.target} attachment is not an iterator` : "the link is closed",
        hint: r ? "only iter/... programs give output to read" : undefined,
      });
    }
    return r.read();
  }

  /**
   * {@link read} decoded as UTF-8 text.
   *
   * @returns The iterator's output.
   * @example
   * ```ts
   * using obj = await BpfObject.open("tests/fixtures/iters.bpf.c");
   * obj.load();
   * console.log(obj.program("dump_maps").attach().readText()); // "ID NAME" lines
   * ```
   */
  readText(): string {
    return new TextDecoder().decode(this.read());
  }

  /** Detach. Calling it again does nothing. */
  close(): void {
    const r = this.#release;
    if (!r) return;
    this.#release = undefined;
    try {
      r.destroy();
    } finally {
      this.#onClose?.(this);
    }
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The release of a libbpf `struct bpf_link *`.
 *
 * @param ptr The link pointer from a bpf_program__attach_* call.
 * @returns A LinkRelease that destroys it once.
 * @example
 * ```ts
 * new Link("x", "tp/a/b", libbpfLink(ptr));
 * ```
 */
export function libbpfLink(ptr: Deno.PointerObject): LinkRelease {
  const sym = libbpf();
  return {
    fd: sym.bpf_link__fd(ptr),
    destroy: () => void sym.bpf_link__destroy(ptr),
    pin: (path) => void check(sym.bpf_link__pin(ptr, cstr(path)), { op: `pin link '${path}'` }),
  };
}

/**
 * Make a libbpf attach call and wrap the `struct bpf_link *` it returns, or throw a
 * BpfError carrying libbpf's log of the call.
 *
 * @param ctx The program and operation.
 * @param call The libbpf call (bpf_program__attach_*).
 * @param hint A hint for the failure, when the caller knows the likely cause.
 * @returns The link's release.
 * @example
 * ```ts
 * attachWithLibbpf(ctx, () => libbpf().bpf_program__attach_trace(ctx.ptr));
 * ```
 */
export function attachWithLibbpf(
  ctx: AttachContext,
  call: () => Deno.PointerValue,
  hint?: (errno: number) => string | undefined,
): LinkRelease {
  const { result, log, errno } = withLog(call);
  return libbpfLink(checkPtr(result, { op: ctx.op, log, errno, hint: hint?.(errno) }));
}

/**
 * Attach through a file the libbpf call takes by fd (a cgroup directory, a namespace
 * file): opened read-only for the call, and closed after it, as the link holds what the
 * file names.
 *
 * @param ctx The program and operation.
 * @param path The file.
 * @param flags More open flags (e.g. `O_DIRECTORY`).
 * @param call The libbpf call, given the fd.
 * @param hint A hint for the failure, from its errno.
 * @returns The link's release.
 * @example
 * ```ts
 * attachThroughFile(ctx, "/proc/self/ns/net", 0, (fd) =>
 *   libbpf().bpf_program__attach_netns(ctx.ptr, fd));
 * ```
 */
export function attachThroughFile(
  ctx: AttachContext,
  path: string,
  flags: number,
  call: (fd: number) => Deno.PointerValue,
  hint?: (errno: number) => string | undefined,
): LinkRelease {
  const fd = libc().open(cstr(path), O_RDONLY | O_CLOEXEC | flags);
  if (fd < 0) {
    throw new BpfError({ op: ctx.op, errno: lastErrno(), message: `cannot open '${path}'` });
  }
  try {
    return attachWithLibbpf(ctx, () => call(fd), hint);
  } finally {
    libc().close(fd);
  }
}
