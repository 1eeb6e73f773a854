/**
 * `time(FORMAT)`: C's strftime for the local time, for the specifiers scripts use.
 *
 * @module
 */

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

const two = (n: number) => String(n).padStart(2, "0");

/**
 * Format a date as C's strftime would (local time).
 *
 * @param fmt The format, e.g. `"%H:%M:%S\n"`.
 * @param d The time.
 * @returns The text.
 * @example
 * ```ts
 * strftime("%Y-%m-%d", new Date(2024, 0, 2)); // "2024-01-02"
 * ```
 */
export function strftime(fmt: string, d: Date): string {
  const dayOfYear = Math.floor(
    (Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) - Date.UTC(d.getFullYear(), 0, 1)) /
      86400000,
  ) + 1;
  const tz = -d.getTimezoneOffset();
  const conv: Record<string, () => string> = {
    a: () => DAYS[d.getDay()].slice(0, 3),
    A: () => DAYS[d.getDay()],
    b: () => MONTHS[d.getMonth()].slice(0, 3),
    h: () => MONTHS[d.getMonth()].slice(0, 3),
    B: () => MONTHS[d.getMonth()],
    d: () => two(d.getDate()),
    e: () => String(d.getDate()).padStart(2, " "),
    H: () => two(d.getHours()),
    I: () => two(d.getHours() % 12 || 12),
    j: () => String(dayOfYear).padStart(3, "0"),
    m: () => two(d.getMonth() + 1),
    M: () => two(d.getMinutes()),
    p: () => (d.getHours() < 12 ? "AM" : "PM"),
    S: () => two(d.getSeconds()),
    y: () => two(d.getFullYear() % 100),
    Y: () => String(d.getFullYear()),
    z: () => `${tz < 0 ? "-" : "+"}${two(Math.floor(Math.abs(tz) / 60))}${two(Math.abs(tz) % 60)}`,
    s: () => String(Math.floor(d.getTime() / 1000)),
    T: () => `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`,
    R: () => `${two(d.getHours())}:${two(d.getMinutes())}`,
    D: () => `${two(d.getMonth() + 1)}/${two(d.getDate())}/${two(d.getFullYear() % 100)}`,
    F: () => `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`,
    n: () => "\n",
    t: () => "\t",
    "%": () => "%",
  };
  return fmt.replace(/%(.)/g, (all, c: string) => (conv[c] ? conv[c]() : all));
}
