/** The wire protocol (3.0): frontend messages as bytes, and the server's byte stream as messages. */
import { PgConnectionError } from "./errors.ts";

export const encoder = new TextEncoder();
export const decoder = new TextDecoder();

/** The protocol version of the startup message (3.0). */
const PROTOCOL_VERSION = 196608;
/** The codes that take the place of a protocol version in SSLRequest and CancelRequest. */
const SSL_REQUEST_CODE = 80877103;
const CANCEL_REQUEST_CODE = 80877102;

/** Builds one frontend message: a type byte (none for startup) and a length-prefixed body. */
export function message(
  type: string | null,
  ...parts: (Uint8Array | string | number)[]
): Uint8Array {
  const chunks = parts.map((part) => {
    if (typeof part === "number") {
      const bytes = new Uint8Array(4);
      new DataView(bytes.buffer).setInt32(0, part);
      return bytes;
    }
    return typeof part === "string" ? encoder.encode(`${part}\0`) : part;
  });
  const bodyLength = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const offset = type === null ? 0 : 1;
  const out = new Uint8Array(offset + 4 + bodyLength);
  const view = new DataView(out.buffer);
  if (type !== null) out[0] = type.charCodeAt(0);
  view.setInt32(offset, 4 + bodyLength);
  let at = offset + 4;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** The startup message: the protocol version and the session's parameters. */
export function startupMessage(parameters: Record<string, string>): Uint8Array {
  return message(
    null,
    PROTOCOL_VERSION,
    ...Object.entries(parameters).flatMap(([key, value]) => [key, value]),
    new Uint8Array([0]),
  );
}

/** SSLRequest: asks the server whether it speaks TLS on this connection. */
export function sslRequest(): Uint8Array {
  return message(null, SSL_REQUEST_CODE);
}

/** CancelRequest: asks the server to cancel what the backend `pid` is running. */
export function cancelRequest(pid: number, secret: number): Uint8Array {
  return message(null, CANCEL_REQUEST_CODE, pid, secret);
}

/** A simple-protocol Query of SQL text. */
export function queryMessage(text: string): Uint8Array {
  return message("Q", text);
}

/** One backend message: its type letter and body. */
export interface BackendMessage {
  type: string;
  body: Uint8Array;
}

/** Splits the server's byte stream into messages. */
export class MessageReader {
  #conn: Deno.Conn;
  #buffer = new Uint8Array(16 * 1024);
  #start = 0;
  #end = 0;
  /**
   * The longest message accepted. Small until the server has authenticated us, so that talking
   * to something that is not PostgreSQL fails at once instead of buffering what it sends.
   */
  maxLength = 64 * 1024;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** The next whole message, or null when the server closed the connection. */
  async next(): Promise<BackendMessage | null> {
    while (true) {
      const available = this.#end - this.#start;
      if (available >= 5) {
        const view = new DataView(this.#buffer.buffer, this.#start);
        const length = view.getInt32(1);
        if (length < 4 || length > this.maxLength) {
          throw new PgConnectionError("PROTOCOL_VIOLATION", "Invalid message length");
        }
        if (available >= 1 + length) {
          const type = String.fromCharCode(this.#buffer[this.#start] ?? 0);
          const body = this.#buffer.subarray(this.#start + 5, this.#start + 1 + length);
          this.#start += 1 + length;
          return { type, body };
        }
        this.#reserve(1 + length);
      } else {
        this.#reserve(5);
      }
      const read = await this.#conn.read(this.#buffer.subarray(this.#end));
      if (read === null) return null;
      this.#end += read;
    }
  }

  /** Makes room for a message of `size` bytes from the current start, and for reading more. */
  #reserve(size: number) {
    if (this.#start + size <= this.#buffer.length && this.#end < this.#buffer.length) return;
    if (size <= this.#buffer.length) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
    } else {
      const grown = new Uint8Array(Math.max(size, this.#buffer.length * 2));
      grown.set(this.#buffer.subarray(this.#start, this.#end));
      this.#buffer = grown;
    }
    this.#end -= this.#start;
    this.#start = 0;
  }
}

/** Reads the fields of a message body in order. */
export class BodyReader {
  #view: DataView;
  #bytes: Uint8Array;
  at = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  int16(): number {
    const value = this.#view.getInt16(this.at);
    this.at += 2;
    return value;
  }

  int32(): number {
    const value = this.#view.getInt32(this.at);
    this.at += 4;
    return value;
  }

  cstring(): string {
    const end = this.#bytes.indexOf(0, this.at);
    const stop = end === -1 ? this.#bytes.length : end;
    const value = decoder.decode(this.#bytes.subarray(this.at, stop));
    this.at = stop + 1;
    return value;
  }

  bytes(length: number): Uint8Array {
    const value = this.#bytes.subarray(this.at, this.at + length);
    this.at += length;
    return value;
  }

  rest(): Uint8Array {
    return this.bytes(this.#bytes.length - this.at);
  }
}

/** The fields of an ErrorResponse or NoticeResponse, by their one-letter codes. */
export function errorFields(body: Uint8Array): Map<string, string> {
  const reader = new BodyReader(body);
  const fields = new Map<string, string>();
  while (reader.at < body.length) {
    const code = String.fromCharCode(reader.bytes(1)[0] ?? 0);
    if (code === "\0") break;
    fields.set(code, reader.cstring());
  }
  return fields;
}
