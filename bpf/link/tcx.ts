/**
 * tc programs through tcx links (`BPF_LINK_CREATE` with `BPF_TCX_INGRESS`/`EGRESS`, kernel
 * 6.6+): the link's fd owns the attachment, so the kernel detaches it when the fd closes,
 * however the process ends. libbpf 1.1 has no `bpf_program__attach_tcx`: its low-level
 * `bpf_link_create` takes the interface's index as the target.
 *
 * @module
 */

import { ATTACH_TYPE, BPF_LINK_CREATE_OPTS, ERRNO } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";
import { check, libbpf } from "../../ffi/libbpf.ts";
import { cstr, libc } from "../../ffi/libc.ts";
import { kernelId } from "../system/files.ts";
import { PROGRAM_PROBES } from "../system/feature_probes.ts";
import { type ProbeContext, runProbe } from "../system/probe_program.ts";
import type { AttachContext, LinkRelease } from "./link.ts";
import type { TcDirection } from "./tc_netlink.ts";

/** How tc programs are attached: tcx links where the kernel has them, or netlink filters. */
export type TcMechanism = "tcx" | "netlink";

let probed: boolean | undefined;

/** The doctor's tcx probe needs none of the shared lookups. */
const NO_LOOKUPS: ProbeContext = {
  tracefs: "",
  btfId: () => -ERRNO.ENOENT,
  uprobeTarget: () => {
    throw new Error("the tcx probe places no uprobe");
  },
};

/**
 * Whether this kernel has tcx links, probed once per process with the doctor's probe: a
 * `BPF_LINK_CREATE` of a two-instruction sched_cls program on interface 0 fails with ENODEV
 * where tcx exists (the interface is looked up after the attach type is accepted), EINVAL
 * where it does not, and attaches nothing either way.
 *
 * @returns True on kernels with tcx links.
 * @example
 * ```ts
 * tcxAvailable(); // true on 6.6 and later
 * ```
 */
export function tcxAvailable(): boolean {
  if (probed !== undefined) return probed;
  try {
    runProbe(PROGRAM_PROBES.find((p) => p.name === "tcx")!, NO_LOOKUPS);
    probed = true;
  } catch {
    probed = false;
  }
  return probed;
}

/**
 * How this process attaches tc programs: `BPFSH_TC=tcx` or `BPFSH_TC=netlink` choose; by
 * default tcx where {@link tcxAvailable}, netlink otherwise.
 *
 * @returns The mechanism.
 * @throws {BpfError} When `BPFSH_TC` holds anything else.
 * @example
 * ```ts
 * tcMechanism(); // "tcx" on 6.6+, "netlink" on 6.1
 * ```
 */
export function tcMechanism(): TcMechanism {
  const forced = Deno.env.get("BPFSH_TC");
  if (forced === "tcx" || forced === "netlink") return forced;
  if (forced) {
    throw new BpfError({
      op: "attach tc",
      message: `BPFSH_TC is '${forced}'`,
      hint: "BPFSH_TC=tcx, BPFSH_TC=netlink, or unset (tcx where the kernel has it)",
    });
  }
  return tcxAvailable() ? "tcx" : "netlink";
}

/**
 * Attach a tc program with a tcx link (after the programs already on that hook).
 *
 * @param ctx The loaded program.
 * @param ifindex The interface.
 * @param direction `"ingress"` or `"egress"`.
 * @returns The link's release: closing the fd detaches.
 * @example
 * ```ts
 * attachTcx(ctx, 1, "ingress").via; // "tcx link 42"
 * ```
 */
export function attachTcx(
  ctx: AttachContext,
  ifindex: number,
  direction: TcDirection,
): LinkRelease {
  const type = direction === "ingress" ? ATTACH_TYPE.TCX_INGRESS : ATTACH_TYPE.TCX_EGRESS;
  const ret = libbpf().bpf_link_create(ctx.fd, ifindex, type, BPF_LINK_CREATE_OPTS.alloc());
  const fd = check(ret, {
    op: ctx.op,
    hint: ret === -ERRNO.EINVAL && !tcxAvailable()
      ? "this kernel has no tcx links (6.6+): unset BPFSH_TC to use netlink filters"
      : undefined,
  });
  const id = kernelId(fd, "link_id");
  return {
    fd,
    via: id === undefined ? "tcx link" : `tcx link ${id}`,
    destroy: () => void libc().close(fd),
    pin: (path) => void check(libbpf().bpf_obj_pin(fd, cstr(path)), { op: `pin link '${path}'` }),
  };
}
