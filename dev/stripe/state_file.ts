/** The JSON file that keeps the account between runs of the local server. */

/**
 * Reads and writes one JSON file. Writes run one at a time, each to a temporary file renamed
 * over the old one, so that a crash or two overlapping requests never leave half a file; the
 * file is readable by its owner only, since it holds webhook signing secrets.
 */
export class StateFile {
  #writing: Promise<void> = Promise.resolve();
  #pending: string | null = null;

  constructor(readonly path: string) {}

  /** The parsed file, or null when it does not exist. */
  async read(): Promise<unknown> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      throw error;
    }
    return JSON.parse(text);
  }

  /** Writes `value`; writes asked for while one runs collapse into the latest. */
  write(value: unknown): Promise<void> {
    const first = this.#pending === null;
    this.#pending = JSON.stringify(value);
    if (first) {
      this.#writing = this.#writing.then(async () => {
        const text = this.#pending;
        this.#pending = null;
        if (text === null) return;
        const temporary = `${this.path}.${crypto.randomUUID()}.tmp`;
        await Deno.writeTextFile(temporary, text, { mode: 0o600 });
        await Deno.rename(temporary, this.path);
      });
    }
    return this.#writing;
  }
}
