/**
 * `link list|detach|pin` (also `links`, `detach`).
 *
 * @module
 */

import type { CommandSpec } from "./types.ts";

/** `link …`. */
export const linkCommand: CommandSpec = {
  name: "link",
  group: "Programs",
  summary: "list, detach and pin links (attachments)",
  defaultSubcommand: "list",
  subcommands: [
    {
      name: "list",
      aliases: ["show"],
      topAliases: ["links"],
      summary: "list the links (attachments) made in this session",
      run({ session, out }) {
        out.table(
          session.liveLinks().map(({ link, object }) => ({
            id: link.id,
            object,
            program: link.program,
            target: link.target,
            // How the kernel holds it, where it matters: `tcx link ID` (in `bpftool link`),
            // or a netlink `tc filter` (in `tc filter show`).
            via: link.via,
          })),
          { empty: "no links (prog attach PROG [TARGET])" },
        );
      },
    },
    {
      name: "detach",
      topAliases: ["detach"],
      summary: "detach links: by id, by program, or all",
      args: [{
        name: "link",
        help: "link ids (see `link list`), programs (name or object.name), or `all`",
        required: true,
        variadic: true,
      }],
      run({ session, out }, { args }) {
        // Resolve every word first: one bad or ambiguous word detaches nothing.
        const chosen = new Set(
          (args.link as string[]).flatMap((spec) => session.resolveLinks(spec)),
        );
        for (const l of chosen) {
          l.link.close();
          out.info(`detached ${l.link.id}: ${l.link.program} -> ${l.link.target}`);
        }
        session.liveLinks();
        session.onChange?.();
      },
    },
    {
      name: "pin",
      summary: "pin a link to bpffs so the attachment outlives the shell",
      args: [
        { name: "link", help: "the link's id, or its program", required: true },
        { name: "path", help: "a path under /sys/fs/bpf", required: true },
      ],
      run({ session, out }, { args }) {
        const [l] = session.resolveLinks(args.link as string, { one: true });
        l.link.pin(args.path as string);
        out.info(`pinned link ${l.link.id} at ${args.path}`);
      },
    },
  ],
};
