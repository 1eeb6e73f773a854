/**
 * `prog list|attach|run|pin` (also `progs`, `attach`).
 *
 * @module
 */

import { toHex } from "../output.ts";
import { parseCount, parseHex } from "../values.ts";
import type { CommandSpec } from "./types.ts";
import { kernelId } from "../../bpf/system/files.ts";
import { safe } from "./util.ts";

/** `prog run`: BPF_PROG_TEST_RUN of a loaded program. */
export const progRunCommand: CommandSpec = {
  name: "run",
  summary: "test-run a program (BPF_PROG_TEST_RUN)",
  args: [{ name: "prog", help: "the program (name or object.name)", required: true }],
  options: {
    data: { type: "string", arg: "HEX", help: "packet bytes, e.g. 00112233 (socket filter, xdp…)" },
    size: { type: "string", arg: "N", help: "a zero-filled packet of N bytes" },
    ctx: { type: "string", arg: "HEX", help: "context bytes (raw_tp arguments…)" },
    repeat: { type: "string", arg: "N", help: "run N times; the duration is the average" },
  },
  run({ session, out }, { args, opts }) {
    const { prog } = session.prog(args.prog as string);
    const data = opts.data !== undefined
      ? parseHex(opts.data as string)
      : opts.size !== undefined
      ? new Uint8Array(parseCount(opts.size as string, "--size"))
      : undefined;
    const res = prog.testRun({
      data,
      ctx: opts.ctx !== undefined ? parseHex(opts.ctx as string) : undefined,
      repeat: parseCount((opts.repeat as string | undefined) ?? "1", "--repeat"),
    });
    const rec: Record<string, unknown> = {
      program: prog.name,
      retval: res.retval,
      duration_ns: res.duration,
    };
    if (res.data?.length) rec.data = out.format === "table" ? toHex(res.data) : res.data;
    out.record(rec);
  },
};

/** `prog …`. */
export const progCommand: CommandSpec = {
  name: "prog",
  aliases: ["program"],
  group: "Programs",
  summary: "list, attach, test-run and pin programs",
  defaultSubcommand: "list",
  subcommands: [
    {
      name: "list",
      aliases: ["show"],
      topAliases: ["progs"],
      summary: "list the programs of the loaded objects",
      args: [{ name: "object", help: "only this object" }],
      run({ session, out }, { args }) {
        const name = args.object as string | undefined;
        if (name !== undefined) session.object(name);
        const links = session.liveLinks();
        const refs = session.allProgs().filter((r) => !name || r.lo.name === name);
        out.table(
          refs.map(({ lo, prog }) => ({
            object: lo.name,
            name: prog.name,
            type: prog.type,
            section: prog.section,
            id: safe(() => kernelId(prog.fd, "prog_id")),
            links: links.filter((l) => l.object === lo.name && l.link.program === prog.name)
              .length,
          })),
          { empty: "no programs (load FILE)" },
        );
      },
    },
    {
      name: "attach",
      topAliases: ["attach"],
      summary: "attach a program by its section, or to an explicit target",
      args: [
        { name: "prog", help: "the program (name or object.name)", required: true },
        {
          name: "target",
          help: "e.g. tracepoint/syscalls/sys_enter_close, uprobe/bin:func, xdp/lo",
        },
      ],
      run({ session, out }, { args }) {
        const { lo, prog } = session.prog(args.prog as string);
        const link = prog.attach(args.target as string | undefined);
        session.addLinks(lo.name, [link]);
        if (out.format !== "table") {
          return out.record({ id: link.id, program: link.program, target: link.target });
        }
        out.line(
          `attached ${link.program} -> ${link.target} ${out.style("dim", `(link ${link.id})`)}`,
        );
      },
    },
    progRunCommand,
    {
      name: "pin",
      summary: "pin a program to bpffs so it outlives the shell",
      args: [
        { name: "prog", help: "the program", required: true },
        { name: "path", help: "a path under /sys/fs/bpf", required: true },
      ],
      run({ session, out }, { args }) {
        const { prog } = session.prog(args.prog as string);
        prog.pin(args.path as string);
        out.info(`pinned program ${prog.name} at ${args.path}`);
      },
    },
  ],
};
