/**
 * A pool of connections to one database, and transactions whose BEGIN and COMMIT travel with
 * their first and last statements.
 */
import { type BackendKey, Connection, type QueryResult, sendCancelRequest } from "./connection.ts";
import { PgConnectionError, PgError } from "./errors.ts";
import type { SqlText } from "./sql.ts";
import { parseDatabaseUrl } from "./url.ts";

/** Options for {@link createPool}. */
export interface PoolOptions {
  /** Most connections open at once. */
  max?: number;
  /** Milliseconds an unused connection stays open. */
  idleTimeoutMs?: number;
  /** Milliseconds to connect and authenticate, unless the URL's `connect_timeout` says. */
  connectTimeoutMs?: number;
  /**
   * Milliseconds a query may wait for its answer; past that the server is asked to cancel it,
   * its connection is closed and what was in flight on it fails with `QUERY_TIMEOUT`. No limit
   * when undefined.
   */
  queryTimeoutMs?: number;
  /** Called with the text of each query sent. */
  onQuery?: (text: string) => void;
}

/** Statements inside one transaction, on one connection. */
export interface Transaction {
  /** Runs SQL text; the first call carries the BEGIN. Results are the text's own statements'. */
  query(text: SqlText): Promise<QueryResult[]>;
  /** Runs SQL text and commits with it, in one round trip. */
  commit(text?: SqlText): Promise<QueryResult[]>;
}

/** A pool of connections to one database. */
export interface Pool {
  /** Runs SQL text on a free connection (several statements run as one implicit transaction). */
  query(text: SqlText): Promise<QueryResult[]>;
  /**
   * Runs `work` in a transaction on one connection: it commits when `work` calls `commit` or
   * returns, and rolls back when `work` throws.
   */
  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T>;
  /** Closes every connection; what is still running (cancels included) gets `timeoutMs`. */
  end(options?: { timeoutMs?: number }): Promise<void>;
}

/** Opens no connection until the first query; then keeps up to `max` open for reuse. */
export function createPool(url: string, options: PoolOptions = {}): Pool {
  const settings = parseDatabaseUrl(url);
  const max = options.max ?? 10;
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  const connectTimeoutMs = settings.connectTimeoutMs ?? options.connectTimeoutMs ?? 10_000;
  const idle: { connection: Connection; timer: ReturnType<typeof setTimeout> }[] = [];
  const waiters: { resolve(connection: Connection): void; reject(error: Error): void }[] = [];
  const busy = new Set<Connection>();
  /** Cancel requests under way; end() waits for them, then stops what is left of them. */
  const cancels = new Set<Promise<void>>();
  const ending = new AbortController();
  let opening = 0;
  let ended = false;
  let drained: (() => void) | undefined;

  function cancel(key: BackendKey) {
    const sent = sendCancelRequest(settings, key, {
      timeoutMs: connectTimeoutMs,
      signal: ending.signal,
    }).finally(() => cancels.delete(sent));
    cancels.add(sent);
  }

  const openOptions = { connectTimeoutMs, onQueryTimeout: cancel };

  function poolEnded() {
    return new PgConnectionError("POOL_ENDED", "The database pool was ended");
  }

  async function open(): Promise<Connection> {
    opening += 1;
    try {
      const connection = await Connection.open(settings, openOptions);
      if (ended) {
        connection.close();
        throw poolEnded();
      }
      busy.add(connection);
      return connection;
    } catch (error) {
      // The slot is free again: someone waiting gets to try a connection of their own.
      queueMicrotask(serveWaiters);
      throw error;
    } finally {
      opening -= 1;
    }
  }

  /** Opens connections for waiters while there is room. */
  function serveWaiters() {
    while (waiters.length > 0 && busy.size + opening < max && !ended) {
      const waiter = waiters.shift();
      if (waiter) open().then(waiter.resolve, waiter.reject);
    }
  }

  function acquire(): Promise<Connection> {
    if (ended) return Promise.reject(poolEnded());
    while (idle.length > 0) {
      const entry = idle.pop();
      if (!entry) break;
      clearTimeout(entry.timer);
      if (entry.connection.closed) continue;
      entry.connection.ref(true);
      busy.add(entry.connection);
      return Promise.resolve(entry.connection);
    }
    if (busy.size + opening < max) return open();
    return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
  }

  function release(connection: Connection) {
    busy.delete(connection);
    const reusable = !connection.closed && connection.status === "I" && connection.idle &&
      !ended;
    if (!reusable) connection.close();
    const waiter = reusable ? waiters.shift() : undefined;
    if (waiter) {
      busy.add(connection);
      waiter.resolve(connection);
    } else if (reusable) {
      connection.ref(false);
      const timer = setTimeout(() => {
        const index = idle.findIndex((entry) => entry.connection === connection);
        if (index >= 0) idle.splice(index, 1);
        connection.close();
      }, idleTimeoutMs);
      Deno.unrefTimer(timer);
      idle.push({ connection, timer });
    } else {
      serveWaiters();
    }
    if (ended && busy.size === 0) drained?.();
  }

  /** Sends text the pool composed: the caller's {@link SqlText}, with BEGIN or COMMIT added. */
  function send(connection: Connection, text: string): Promise<QueryResult[]> {
    options.onQuery?.(text);
    return connection.query(text, options.queryTimeoutMs);
  }

  return {
    async query(text) {
      const connection = await acquire();
      try {
        return await send(connection, text);
      } finally {
        release(connection);
      }
    },

    async transaction(work) {
      const connection = await acquire();
      let state = "new" as "new" | "open" | "done";
      const sent: Promise<unknown>[] = [];
      // After a statement failed, PostgreSQL answers COMMIT by rolling back, without an error.
      const committed = (results: QueryResult[]) => {
        if (results.at(-1)?.command !== "COMMIT") {
          throw new PgError(
            new Map([["C", "25P02"], ["M", "The transaction failed and was rolled back"]]),
          );
        }
        return results;
      };
      const tx: Transaction = {
        async query(text) {
          if (state === "done") throw new Error("The transaction is already over");
          const first = state === "new";
          state = "open";
          const answer = send(connection, first ? `begin;\n${text}` : text);
          sent.push(answer.catch(() => {}));
          return first ? (await answer).slice(1) : await answer;
        },
        async commit(text) {
          if (state === "done") throw new Error("The transaction is already over");
          const begun = state === "open";
          state = "done";
          if (!begun) return text === undefined ? [] : await send(connection, text);
          const results = committed(await send(connection, `${text ?? ""}\n;commit`));
          return text === undefined ? [] : results.slice(0, -1);
        },
      };
      try {
        const result = await work(tx);
        if (state === "open") {
          state = "done";
          committed(await send(connection, "commit"));
        }
        return result;
      } catch (error) {
        // Statements still in flight decide the transaction's state; wait for their answers.
        await Promise.all(sent);
        if (!connection.closed && connection.status !== "I") {
          await send(connection, "rollback").catch(() => connection.close());
        }
        throw error;
      } finally {
        state = "done";
        release(connection);
      }
    },

    async end({ timeoutMs = 5_000 } = {}) {
      ended = true;
      for (const waiter of waiters.splice(0)) waiter.reject(poolEnded());
      for (const entry of idle.splice(0)) {
        clearTimeout(entry.timer);
        entry.connection.close();
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      if (busy.size > 0) {
        await Promise.race([new Promise<void>((resolve) => (drained = resolve)), deadline]);
        for (const connection of busy) connection.close();
        busy.clear();
      }
      if (cancels.size > 0) await Promise.race([Promise.all(cancels), deadline]);
      clearTimeout(timer);
      ending.abort();
      await Promise.all(cancels);
    },
  };
}
