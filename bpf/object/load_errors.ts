/**
 * Why a load failed, in words: the program the verifier rejected (with its log), an
 * fentry/fexit/lsm or iterator program this kernel refuses, or a CO-RE relocation naming the type and
 * field the kernel lacks.
 *
 * @module
 */

import { ERRNO } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";
import { Btf } from "../btf/btf.ts";
import { fentryRefused, iterRefused } from "../system/kernel_limits.ts";

/**
 * Turn a failed bpf_object__load into a BpfError that explains it.
 *
 * @param code The positive errno.
 * @param log libbpf's log of the load (with the verifier log inside).
 * @param op The operation, e.g. `"load 'execsnoop'"`.
 * @param programs The object's programs (name and section).
 * @returns The error to throw.
 * @example
 * ```ts
 * throw explainLoadFailure(13, log, "load 'x'", obj.programs);
 * ```
 */
export function explainLoadFailure(
  code: number,
  log: string,
  op: string,
  programs: readonly { name: string; section: string }[],
): BpfError {
  const failed = /prog '([^']+)': (?:BPF program load failed|failed to load)/.exec(log)?.[1];
  const prog = failed ? programs.find((p) => p.name === failed) : undefined;
  const base = new BpfError({ op, errno: code, log });
  if (prog && code === ERRNO.EPERM && /^(fentry|fexit|fmod_ret|lsm)/.test(prog.section)) {
    return fentryRefused(base, prog.section);
  }
  if (prog && code === ERRNO.EPERM && /^iter(\.s)?\//.test(prog.section)) {
    return iterRefused(base, prog.section);
  }
  const core = /failed to resolve CO-RE relocation (.+)/.exec(log)?.[1];
  if (core) {
    return new BpfError({
      op,
      errno: code,
      message: `program '${failed ?? "?"}': ${explainCoreFailure(core.trim())}`,
      hint: "guard the access with bpf_core_field_exists() / bpf_core_type_exists(), " +
        "or check the layout with `btf TYPE`",
      log,
    });
  }
  const verifier = /-- BEGIN PROG LOAD LOG --\n([\s\S]*?)-- END PROG LOAD LOG --/.exec(log)?.[1];
  return new BpfError({
    op,
    errno: code,
    message: failed ? `program '${failed}' was rejected` : undefined,
    hint: code === ERRNO.EPERM || code === ERRNO.EACCES
      ? verifier
        ? "the verifier rejected the program: see the log above (e.log for all of it)"
        : "run as root, or grant CAP_BPF and CAP_PERFMON"
      : undefined,
    log: verifier ?? log,
  });
}

/**
 * Say which type and field a failed CO-RE relocation wanted, whether this kernel has BTF,
 * and which fields of that type look alike (e.g. `iov` → `__iov`).
 *
 * @param spec libbpf's relocation spec, e.g. `<byte_off> [5] struct iov_iter___old.iov (0:0 @ offset 0)`.
 * @returns One sentence.
 */
function explainCoreFailure(spec: string): string {
  const m = /\[\d+\] (struct|union|enum|typedef)? ?(\w+)\.?([\w.]*)/.exec(spec);
  let hasBtf = false;
  try {
    hasBtf = Deno.statSync("/sys/kernel/btf/vmlinux").isFile;
  } catch {
    // No kernel BTF: said below.
  }
  if (!hasBtf) {
    return `CO-RE relocation failed (${spec}): this kernel has no BTF at /sys/kernel/btf/vmlinux`;
  }
  if (!m) return `CO-RE relocation failed: ${spec} (the kernel's BTF has no match)`;
  const kind = m[1] ?? "struct";
  const type = m[2].replace(/___\w*$/, ""); // CO-RE "flavours" end in ___suffix
  const field = m[3];
  const kernel = Btf.kernel();
  const full = `${kind} ${type}`;
  if (!kernel.find(full)) return `CO-RE relocation failed: this kernel has no ${full} (${spec})`;
  if (!field) return `CO-RE relocation failed: ${spec}`;
  const leaf = field.split(".").pop()!.toLowerCase();
  const alike = [
    ...new Set(
      [...kernel.format(full).matchAll(/(\w+)(?:\[\d+\])?;/g)].map((x) => x[1])
        .filter((n) => n.toLowerCase().includes(leaf) || leaf.includes(n.toLowerCase())),
    ),
  ];
  return `CO-RE relocation failed: this kernel's ${full} has no field '${field}'` +
    (alike.length ? ` (similar: ${alike.join(", ")})` : "") + ` [${spec}]`;
}
