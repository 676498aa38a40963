/**
 * A TCP proxy on 127.0.0.1 for fault tests: it sits between a pool and the test database and can
 * drop connections (all at once, after some bytes, or when the client sends a given statement),
 * refuse new ones for a while (a server restart), and delay traffic.
 */
import { contains } from "./bytes.ts";

/** A running proxy and its fault controls. */
export interface TcpProxy {
  /** The port it listens on, on 127.0.0.1. */
  readonly port: number;
  /** Connections accepted so far (refused ones included). */
  readonly accepted: number;
  /** Connections the proxy cut (by `reset`, a byte limit or a matched message). */
  readonly dropped: number;
  /** Bytes received from clients so far, over every connection. */
  readonly clientBytes: number;
  /** `url` with its host and port replaced by the proxy's. */
  urlFor(url: string): string;
  /** Drops every open connection now ("close" by default). */
  reset(mode?: CutMode): void;
  /** How the byte-limit and message rules cut a connection ("close" by default). */
  cutMode: CutMode;
  /** Cuts a connection when the client sends bytes containing `text` (not forwarded); null stops. */
  dropWhenClientSends(text: string | null): void;
  /**
   * Forwards client bytes containing `text`, then cuts the connection before the server's answer
   * reaches the client (the server did the work; the client never hears of it); null stops.
   */
  dropAnswerTo(text: string | null): void;
  /** Cuts each connection once its client has sent more than `bytes` bytes; null stops. */
  dropAfterClientBytes(bytes: number | null): void;
  /** Stops listening: new connections are refused, as while a server restarts. */
  pause(): Promise<void>;
  /** Listens on the same port again. */
  resume(): void;
  /** Delays every chunk in both directions by this many milliseconds. */
  latencyMs: number;
  /** Stops listening, closes every connection and waits for the pipes to end. */
  close(): Promise<void>;
}

interface Link {
  client: Deno.Conn;
  server: Deno.Conn | null;
  clientBytes: number;
  /** No more forwarding: the link is being torn down. */
  closed: boolean;
  /** Cut gracefully: the client got a FIN and its remaining bytes are read and discarded. */
  draining: boolean;
  /** The client sent the `dropAnswerTo` text: the server's next bytes cut the link. */
  answerDoomed: boolean;
}

/** How a connection is cut. */
export type CutMode =
  /** The server side closes and the client sees an orderly end of stream (FIN), as at a restart. */
  | "close"
  /** Both sides close at once, with the client's unread bytes pending: the client sees a reset. */
  | "reset";

/** Starts a proxy forwarding to `target` (host and port). */
function startTcpProxy(target: { hostname: string; port: number }): TcpProxy {
  let listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const links = new Set<Link>();
  const pipes = new Set<Promise<void>>();
  const encoder = new TextEncoder();
  let dropPattern: Uint8Array | null = null;
  let answerPattern: Uint8Array | null = null;
  let byteLimit: number | null = null;
  let paused = false;
  let closing = false;
  let accepted = 0;
  let dropped = 0;
  let clientBytes = 0;
  let cutMode: CutMode = "close";

  const closeQuietly = (conn: Deno.Conn | null) => {
    try {
      conn?.close();
    } catch {
      // Already closed.
    }
  };

  /** Ends a link: counted when the proxy cut it, rather than one side leaving. */
  const cut = (link: Link, counted: boolean, mode: CutMode = "reset") => {
    if (link.closed) return;
    link.closed = true;
    if (counted) dropped += 1;
    closeQuietly(link.server);
    if (mode === "close" && !closing) {
      link.draining = true;
      link.client.closeWrite().catch(() => closeQuietly(link.client));
    } else {
      closeQuietly(link.client);
    }
  };

  const delay = () =>
    proxy.latencyMs > 0
      ? new Promise<void>((resolve) => setTimeout(resolve, proxy.latencyMs))
      : Promise.resolve();

  /** Copies one direction until either side ends; checks the fault rules on client bytes. */
  const pump = async (link: Link, from: Deno.Conn, to: Deno.Conn, fromClient: boolean) => {
    const buffer = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const count = await from.read(buffer);
        if (count === null) break;
        if (link.draining && fromClient) continue;
        if (link.closed) break;
        const chunk = buffer.slice(0, count);
        if (fromClient) {
          link.clientBytes += count;
          clientBytes += count;
          const matched = dropPattern !== null && contains(chunk, dropPattern);
          if (matched || (byteLimit !== null && link.clientBytes > byteLimit)) {
            cut(link, true, cutMode);
            if (link.draining) continue;
            return;
          }
          if (answerPattern !== null && contains(chunk, answerPattern)) link.answerDoomed = true;
        } else if (link.answerDoomed) {
          cut(link, true, cutMode);
          return;
        }
        await delay();
        if (link.closed) break;
        let offset = 0;
        while (offset < chunk.length) offset += await to.write(chunk.subarray(offset));
      }
    } catch {
      // A side went away; the link ends below.
    }
    if (link.draining) {
      if (fromClient) closeQuietly(link.client);
      return;
    }
    cut(link, false);
  };

  const serve = async (client: Deno.Conn) => {
    const link: Link = {
      client,
      server: null,
      clientBytes: 0,
      closed: false,
      draining: false,
      answerDoomed: false,
    };
    links.add(link);
    try {
      await connectAndPump(link);
    } finally {
      links.delete(link);
    }
  };

  const connectAndPump = async (link: Link) => {
    const client = link.client;
    try {
      link.server = await Deno.connect({ hostname: target.hostname, port: target.port });
    } catch {
      return cut(link, false);
    }
    if (link.closed) {
      link.server.close();
      return;
    }
    await Promise.all([
      pump(link, client, link.server, true),
      pump(link, link.server, client, false),
    ]);
  };

  const track = async (client: Deno.Conn) => {
    try {
      await serve(client);
    } finally {
      closeQuietly(client);
    }
  };

  const accept = async (from: Deno.Listener) => {
    try {
      for await (const client of from) {
        accepted += 1;
        if (closing) {
          client.close();
          continue;
        }
        const piped = track(client).finally(() => pipes.delete(piped));
        pipes.add(piped);
      }
    } catch {
      // The listener closed.
    }
  };
  let accepting = accept(listener);

  const proxy: TcpProxy = {
    port,
    get accepted() {
      return accepted;
    },
    get dropped() {
      return dropped;
    },
    get clientBytes() {
      return clientBytes;
    },
    latencyMs: 0,
    urlFor(url) {
      const proxied = new URL(url);
      proxied.hostname = "127.0.0.1";
      proxied.port = String(proxy.port);
      return proxied.href;
    },
    reset(mode = "close") {
      for (const link of links) cut(link, true, mode);
    },
    set cutMode(mode: CutMode) {
      cutMode = mode;
    },
    get cutMode() {
      return cutMode;
    },
    dropWhenClientSends(text) {
      dropPattern = text === null ? null : encoder.encode(text);
    },
    dropAnswerTo(text) {
      answerPattern = text === null ? null : encoder.encode(text);
    },
    dropAfterClientBytes(bytes) {
      byteLimit = bytes;
    },
    async pause() {
      if (paused) return;
      paused = true;
      listener.close();
      await accepting;
    },
    resume() {
      if (!paused || closing) return;
      paused = false;
      listener = Deno.listen({ hostname: "127.0.0.1", port });
      accepting = accept(listener);
    },
    async close() {
      if (closing) return;
      closing = true;
      if (!paused) listener.close();
      await accepting;
      for (const link of links) {
        link.closed = true;
        closeQuietly(link.server);
        closeQuietly(link.client);
      }
      await Promise.all([...pipes]);
    },
  };
  return proxy;
}

/** Starts a proxy in front of the database of a `postgres://` URL. */
export function startDatabaseProxy(databaseUrl: string): TcpProxy {
  const url = new URL(databaseUrl);
  return startTcpProxy({ hostname: url.hostname, port: Number(url.port || 5432) });
}
