/**
 * Serves one PGlite database over the Postgres wire protocol, so that ordinary drivers (the
 * functions' own client, the tooling's postgres.js) talk to it unchanged.
 *
 * PGlite is a single session, so connections take turns: each connection's messages up to and
 * including a Sync, simple Query, FunctionCall or Flush run as one batch under a global mutex,
 * and a connection inside a transaction (ReadyForQuery status `T` or `E`) keeps the mutex until
 * the transaction ends. Extended-protocol messages of different connections never interleave and
 * transactions are serialized. Session state (`set` without `local`) is shared by all connections.
 */
import type { PGliteInterface } from "@electric-sql/pglite";

/** A running wire server. */
export interface PgliteServer {
  /** The port it listens on, on 127.0.0.1. */
  port: number;
  /** Stops listening, closes every connection (rolling back an open transaction) and waits. */
  close(): Promise<void>;
}

/** Options for {@link servePglite}. */
export interface ServePgliteOptions {
  hostname?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;
const MAX_MESSAGE_BYTES = 1 << 30;

/** Frontend message types after which the client waits for an answer. */
const BATCH_ENDS = new Set(["S", "Q", "F", "H"]);

/** Starts serving `db` on `hostname:port`. */
export function servePglite(db: PGliteInterface, options: ServePgliteOptions = {}): PgliteServer {
  const listener = Deno.listen({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
  });
  const mutex = new Mutex();
  const connections = new Set<Connection>();
  const served = new Set<Promise<void>>();
  let closing = false;

  const accepting = (async () => {
    for await (const conn of listener) {
      if (closing) {
        conn.close();
        continue;
      }
      const connection = new Connection(conn, db, mutex);
      connections.add(connection);
      const done = connection.serve().finally(() => {
        connections.delete(connection);
        served.delete(done);
      });
      served.add(done);
    }
  })().catch((error) => {
    if (!closing) console.error("PGlite wire server stopped accepting connections", error);
  });

  return {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      if (closing) return;
      closing = true;
      listener.close();
      await accepting;
      for (const connection of connections) connection.close();
      await Promise.all([...served]);
    },
  };
}

/** A FIFO lock with an owner, held across batches while its owner is inside a transaction. */
class Mutex {
  #owner: Connection | null = null;
  #waiting: Array<{ connection: Connection; resolve: () => void }> = [];

  isHeldBy(connection: Connection): boolean {
    return this.#owner === connection;
  }

  acquire(connection: Connection): Promise<void> {
    if (this.#owner === connection) return Promise.resolve();
    if (this.#owner === null) {
      this.#owner = connection;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push({ connection, resolve }));
  }

  release(connection: Connection): void {
    if (this.#owner !== connection) return;
    const next = this.#waiting.shift();
    this.#owner = next?.connection ?? null;
    next?.resolve();
  }

  /** Forgets a closed connection that was still waiting for the lock. */
  abandon(connection: Connection): void {
    this.#waiting = this.#waiting.filter((waiter) => waiter.connection !== connection);
  }
}

class Connection {
  #conn: Deno.Conn;
  #db: PGliteInterface;
  #mutex: Mutex;
  #buffer: Uint8Array = new Uint8Array(0);
  #closed = false;
  /** ReadyForQuery status after the last batch: I idle, T in a transaction, E failed one. */
  #status = "I";

  constructor(conn: Deno.Conn, db: PGliteInterface, mutex: Mutex) {
    this.#conn = conn;
    this.#db = db;
    this.#mutex = mutex;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer.
    }
  }

  async serve(): Promise<void> {
    try {
      if (await this.#startup()) await this.#messages();
    } catch (error) {
      if (!this.#closed && !isDisconnect(error)) {
        console.error("PGlite wire server connection failed", error);
      }
    } finally {
      this.close();
      await this.#cleanUp();
    }
  }

  /** Answers SSL/GSS requests with "N" and runs the startup message. False when there is none. */
  async #startup(): Promise<boolean> {
    while (true) {
      const header = await this.#read(8);
      if (!header) return false;
      const view = new DataView(header.buffer, header.byteOffset, 8);
      const length = view.getInt32(0);
      const code = view.getInt32(4);
      if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
        await this.#write(new TextEncoder().encode("N"));
        continue;
      }
      if (code === CANCEL_REQUEST) return false;
      if (code !== PROTOCOL_3 || length < 8 || length > MAX_MESSAGE_BYTES) {
        await this.#write(errorResponse("08P01", "Unsupported frontend protocol"));
        return false;
      }
      const rest = await this.#read(length - 8);
      if (!rest) return false;
      const message = new Uint8Array(length);
      message.set(header);
      message.set(rest, 8);
      await this.#run([message], true);
      return true;
    }
  }

  async #messages(): Promise<void> {
    let batch: Uint8Array[] = [];
    while (!this.#closed) {
      const message = await this.#readMessage();
      if (!message) return;
      const type = String.fromCharCode(message[0] ?? 0);
      if (type === "X") return;
      batch.push(message);
      if (BATCH_ENDS.has(type)) {
        await this.#run(batch, type !== "H");
        batch = [];
      }
    }
  }

  /**
   * Runs whole messages as one exclusive batch. When the batch ends in a ReadyForQuery, keeps the
   * mutex while inside a transaction and releases it otherwise; after a Flush, keeps it.
   */
  async #run(messages: Uint8Array[], expectsReady: boolean): Promise<void> {
    await this.#mutex.acquire(this);
    if (this.#closed) return;
    const input = concat(messages);
    const writes: Uint8Array[] = [];
    let tail = new Uint8Array(0);
    await this.#db.runExclusive(() =>
      this.#db.execProtocolRawStream(input, {
        onRawData: (data) => {
          // PGlite hands out a view of its memory: copy before it is reused.
          const chunk = data.slice();
          writes.push(chunk);
          tail = concat([tail, chunk]).slice(-6);
        },
      })
    );
    if (expectsReady && tail.length === 6 && tail[0] === 0x5a) {
      this.#status = String.fromCharCode(tail[5] ?? 0x49);
    }
    if (expectsReady && this.#status === "I") this.#mutex.release(this);
    await this.#write(concat(writes));
  }

  /** Rolls back a transaction the closed connection left open, then lets the next one in. */
  async #cleanUp(): Promise<void> {
    this.#mutex.abandon(this);
    if (!this.#mutex.isHeldBy(this)) return;
    try {
      // Holding the mutex means a transaction or an unfinished extended-protocol exchange.
      await this.#db.runExclusive(() =>
        this.#db.execProtocolRawStream(simpleQuery("rollback"), { onRawData: () => {} })
      );
    } catch (error) {
      console.error("PGlite wire server could not roll back a closed connection", error);
    } finally {
      this.#status = "I";
      this.#mutex.release(this);
    }
  }

  async #readMessage(): Promise<Uint8Array | null> {
    const header = await this.#read(5);
    if (!header) return null;
    const length = new DataView(header.buffer, header.byteOffset, 5).getInt32(1);
    if (length < 4 || length > MAX_MESSAGE_BYTES) throw new Error(`Bad message length ${length}`);
    const body = await this.#read(length - 4);
    if (!body) return null;
    const message = new Uint8Array(1 + length);
    message.set(header);
    message.set(body, 5);
    return message;
  }

  /** Reads exactly `size` bytes, or null when the peer closes first. */
  async #read(size: number): Promise<Uint8Array | null> {
    while (this.#buffer.length < size) {
      const chunk = new Uint8Array(Math.max(64 * 1024, size - this.#buffer.length));
      let count: number | null;
      try {
        count = await this.#conn.read(chunk);
      } catch (error) {
        if (this.#closed || isDisconnect(error)) return null;
        throw error;
      }
      if (count === null) return null;
      this.#buffer = concat([this.#buffer, chunk.subarray(0, count)]);
    }
    const bytes = this.#buffer.slice(0, size);
    this.#buffer = this.#buffer.slice(size);
    return bytes;
  }

  async #write(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    try {
      while (offset < bytes.length && !this.#closed) {
        offset += await this.#conn.write(bytes.subarray(offset));
      }
    } catch (error) {
      if (!isDisconnect(error)) throw error;
      this.close();
    }
  }
}

function isDisconnect(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.Interrupted;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1 && chunks[0]) return chunks[0];
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

function simpleQuery(text: string): Uint8Array {
  const body = new TextEncoder().encode(`${text}\0`);
  const message = new Uint8Array(5 + body.length);
  message[0] = 0x51;
  new DataView(message.buffer).setInt32(1, 4 + body.length);
  message.set(body, 5);
  return message;
}

function errorResponse(code: string, text: string): Uint8Array {
  const fields = new TextEncoder().encode(`SFATAL\0VFATAL\0C${code}\0M${text}\0\0`);
  const message = new Uint8Array(5 + fields.length);
  message[0] = 0x45;
  new DataView(message.buffer).setInt32(1, 4 + fields.length);
  message.set(fields, 5);
  return message;
}
