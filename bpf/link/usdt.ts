/**
 * USDT probes (`usdt/BINARY:PROVIDER:NAME`): SystemTap `sys/sdt.h` probe sites, attached
 * through libbpf's USDT support. The program must include `<bpf/usdt.bpf.h>` (its
 * arguments come through `bpf_usdt_arg()`); the binary is checked here first.
 *
 * @module
 */

import { BPF_USDT_OPTS, ERRNO } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";
import { libbpf } from "../../ffi/libbpf.ts";
import { cstr } from "../../ffi/libc.ts";
import { usdtNotes } from "../elf/stapsdt.ts";
import { openBinary, resolveBinary } from "./binaries.ts";
import { type AttachContext, attachWithLibbpf, type LinkRelease } from "./link.ts";
import { guardLegacyEvents } from "./reaper.ts";

/** What {@link attachUsdt} probes. */
export interface UsdtTarget {
  /** A path, a program in PATH, or a library. */
  binary: string;
  /** The provider, e.g. `"python"`. */
  provider: string;
  /** The probe, e.g. `"function__entry"`. */
  name: string;
  /** Only this process (-1: every process). */
  pid: number;
}

/**
 * Attach a USDT program to every site of one probe.
 *
 * @param ctx The loaded program.
 * @param t The binary, provider, probe and pid.
 * @returns The link's release.
 * @throws {BpfError} When the binary has no such probe (listing those it has), or the
 *   program was built without usdt.bpf.h.
 * @example
 * ```ts
 * attachUsdt(ctx, { binary: "build/tests/usdt_target", provider: "bpfsh", name: "tick", pid: -1 });
 * ```
 */
export function attachUsdt(ctx: AttachContext, t: UsdtTarget): LinkRelease {
  const path = resolveBinary(t.binary, ctx.op, t.pid);
  {
    using elf = openBinary(path, ctx.op);
    const probes = usdtNotes(elf);
    if (!probes.some((p) => p.provider === t.provider && p.name === t.name)) {
      const have = [...new Set(probes.map((p) => `${p.provider}:${p.name}`))];
      throw new BpfError({
        op: ctx.op,
        errno: ERRNO.ENOENT,
        message: `no USDT probe '${t.provider}:${t.name}' in '${path}'`,
        hint: have.length
          ? `it has: ${have.slice(0, 12).join(", ")}${have.length > 12 ? ", …" : ""}`
          : "it has no .note.stapsdt section (built without sys/sdt.h probes)",
      });
    }
  }
  if (t.pid > 0) {
    try {
      Deno.statSync(`/proc/${t.pid}`);
    } catch {
      throw new BpfError({ op: ctx.op, errno: ERRNO.ESRCH, message: `no process ${t.pid}` });
    }
  }
  guardLegacyEvents("uprobe");
  const opts = BPF_USDT_OPTS.alloc();
  return attachWithLibbpf(
    ctx,
    () =>
      libbpf().bpf_program__attach_usdt(
        ctx.ptr,
        t.pid,
        cstr(path),
        cstr(t.provider),
        cstr(t.name),
        opts,
      ),
    (errno) =>
      errno === ERRNO.ESRCH || errno === ERRNO.EINVAL
        ? 'a USDT program includes <bpf/usdt.bpf.h> and is declared SEC("usdt"), ' +
          "BPF_USDT(name, args...)"
        : undefined,
  );
}
