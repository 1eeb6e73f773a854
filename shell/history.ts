/**
 * Command history kept across sessions in `~/.bpfsh_history` (or `$BPFSH_HISTORY`).
 *
 * @module
 */

/** How many lines are kept. */
export const HISTORY_SIZE = 1000;

/**
 * The history file's path.
 *
 * @returns `$BPFSH_HISTORY`, else `$HOME/.bpfsh_history`, else undefined (no history).
 * @example
 * ```ts
 * historyPath(); // "/root/.bpfsh_history"
 * ```
 */
export function historyPath(): string | undefined {
  const env = Deno.env.get("BPFSH_HISTORY");
  if (env !== undefined) return env || undefined;
  const home = Deno.env.get("HOME");
  return home ? `${home}/.bpfsh_history` : undefined;
}

/**
 * Read the history, newest first (the order node:readline wants).
 *
 * @param path The file.
 * @returns The lines, newest first, at most {@link HISTORY_SIZE}.
 * @example
 * ```ts
 * readHistory("/root/.bpfsh_history")[0]; // the last line typed
 * ```
 */
export function readHistory(path: string | undefined): string[] {
  if (!path) return [];
  try {
    const lines = Deno.readTextFileSync(path).split("\n").filter((l) => l.trim());
    return lines.slice(-HISTORY_SIZE).reverse();
  } catch {
    return [];
  }
}

/**
 * Append one line to the history file, trimming the file when it grows well past the limit.
 *
 * @param path The file.
 * @param line The line typed.
 * @example
 * ```ts
 * appendHistory(historyPath(), "map dump counts");
 * ```
 */
export function appendHistory(path: string | undefined, line: string): void {
  if (!path || !line.trim() || line.includes("\n")) return;
  try {
    Deno.writeTextFileSync(path, line + "\n", { append: true, mode: 0o600 });
    const size = Deno.statSync(path).size;
    if (size > HISTORY_SIZE * 200) {
      const keep = Deno.readTextFileSync(path).split("\n").filter(Boolean).slice(-HISTORY_SIZE);
      Deno.writeTextFileSync(path, keep.join("\n") + "\n");
    }
  } catch {
    // A read-only home must not break the shell.
  }
}
