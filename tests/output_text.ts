/**
 * Reading a child process's output as text as it comes, for the tests and the benchmarks
 * that start a process and wait for the line it prints once ready (no other imports, so a
 * benchmark takes it without the test helpers).
 *
 * @module
 */

/**
 * A child's output (stdout or stderr), read as text as it comes: the tests that start a
 * process wait for a line it prints once ready, act on it, then let go of the stream.
 */
export class OutputText {
  /** Everything read so far. */
  text = "";
  readonly #reader: ReadableStreamDefaultReader<string>;

  /** @param stream The child's piped stdout or stderr. */
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }

  /**
   * Read on until the text holds `part`, or the stream ends.
   *
   * @param part A string, or a pattern the text must match.
   * @returns Whether the text holds it.
   */
  async until(part: string | RegExp): Promise<boolean> {
    const has = () => typeof part === "string" ? this.text.includes(part) : part.test(this.text);
    while (!has()) {
      const { value, done } = await this.#reader.read();
      if (done) return false;
      this.text += value;
    }
    return true;
  }

  /**
   * Read to the end of the stream.
   *
   * @returns The whole text.
   */
  async rest(): Promise<string> {
    for (let r = await this.#reader.read(); !r.done; r = await this.#reader.read()) {
      this.text += r.value;
    }
    return this.text;
  }

  /** Stop reading: the stream is cancelled, so no pipe stays open. */
  async close(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}
