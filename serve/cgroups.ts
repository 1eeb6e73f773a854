/**
 * Cgroup ids to paths. A cgroup v2 id (what `bpf_get_current_cgroup_id()` returns) is the
 * inode number of the cgroup's directory in the cgroup2 mount, so a walk of that tree maps
 * every id to its path. The walk is cached, and repeated on a miss at most every few
 * seconds (a busy host creates cgroups all the time).
 *
 * @module
 */

const RESCAN_MS = 5000;

let root: string | undefined;
let byId = new Map<bigint, string>();
let scannedAt = -Infinity;

/**
 * Where cgroup2 is mounted, from /proc/self/mountinfo.
 *
 * @param mountinfo The file's text (read from /proc when omitted).
 * @returns The mount point, or undefined when cgroup2 is not mounted.
 * @example
 * ```ts
 * cgroup2Mount("29 23 0:26 / /sys/fs/cgroup rw shared:4 - cgroup2 cgroup2 rw"); // "/sys/fs/cgroup"
 * ```
 */
export function cgroup2Mount(mountinfo?: string): string | undefined {
  let text = mountinfo;
  if (text === undefined) {
    try {
      text = Deno.readTextFileSync("/proc/self/mountinfo");
    } catch {
      return undefined;
    }
  }
  for (const line of text.split("\n")) {
    const [pre, post] = line.split(" - ");
    if (post?.startsWith("cgroup2 ")) return pre.split(" ")[4];
  }
  return undefined;
}

function scan(): void {
  root ??= cgroup2Mount() ?? "/sys/fs/cgroup";
  const found = new Map<bigint, string>();
  const walk = (dir: string, rel: string) => {
    let st: Deno.FileInfo;
    try {
      st = Deno.statSync(dir);
    } catch {
      return;
    }
    if (st.ino !== null) found.set(BigInt(st.ino), rel || "/");
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory) walk(`${dir}/${e.name}`, `${rel}/${e.name}`);
  };
  walk(root, "");
  byId = found;
  scannedAt = performance.now();
}

/**
 * The path of a cgroup v2 id, relative to the cgroup2 mount (`/system.slice/ssh.service`).
 *
 * @param id The cgroup id.
 * @returns The path, or undefined when no cgroup has that id (a gone one, or cgroup v1).
 * @example
 * ```ts
 * cgroupPath(1n); // "/" when 1 is the root's id
 * ```
 */
export function cgroupPath(id: bigint): string | undefined {
  const hit = byId.get(id);
  if (hit !== undefined) return hit;
  if (performance.now() - scannedAt < RESCAN_MS) return undefined;
  scan();
  return byId.get(id);
}
