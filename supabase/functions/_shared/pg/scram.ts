/** Password authentication: SCRAM-SHA-256 (RFC 5802, RFC 7677) and, for old servers, MD5. */
import { PgConnectionError } from "./errors.ts";
import { encoder } from "./messages.ts";

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
}

async function hmac(key: Uint8Array<ArrayBuffer>, data: string): Promise<Uint8Array<ArrayBuffer>> {
  const imported = await crypto.subtle.importKey(
    "raw",
    key,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", imported, encoder.encode(data)));
}

/** The client's side of SCRAM-SHA-256 (RFC 5802, RFC 7677), without channel binding. */
export class ScramClient {
  readonly clientFirstBare: string;
  #password: string;
  #nonce: string;
  #serverSignature: Uint8Array | undefined;

  constructor(password: string, nonce = toBase64(crypto.getRandomValues(new Uint8Array(18)))) {
    this.#password = password.normalize("NFKC");
    this.#nonce = nonce;
    // The server takes the user from the startup message and ignores this one.
    this.clientFirstBare = `n=,r=${nonce}`;
  }

  /** The client-first-message. */
  first(): string {
    return `n,,${this.clientFirstBare}`;
  }

  /** The client-final-message, computed from the server-first-message. */
  async final(serverFirst: string): Promise<string> {
    const attributes = new Map(
      serverFirst.split(",").map((part) => [part.slice(0, 1), part.slice(2)] as const),
    );
    const nonce = attributes.get("r") ?? "";
    const salt = attributes.get("s");
    const iterations = Number(attributes.get("i"));
    if (!nonce.startsWith(this.#nonce) || nonce === this.#nonce) {
      throw new PgConnectionError("AUTH_FAILED", "The server's SCRAM nonce is invalid");
    }
    if (salt === undefined || !Number.isInteger(iterations) || iterations < 1) {
      throw new PgConnectionError("AUTH_FAILED", "The server's SCRAM parameters are invalid");
    }
    const passwordKey = await crypto.subtle.importKey(
      "raw",
      encoder.encode(this.#password),
      "PBKDF2",
      false,
      ["deriveBits"],
    );
    const salted = new Uint8Array(
      await crypto.subtle.deriveBits(
        { name: "PBKDF2", hash: "SHA-256", salt: fromBase64(salt), iterations },
        passwordKey,
        256,
      ),
    );
    const clientKey = await hmac(salted, "Client Key");
    const storedKey = new Uint8Array(await crypto.subtle.digest("SHA-256", clientKey));
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const clientSignature = await hmac(storedKey, authMessage);
    const proof = clientKey.map((byte, index) => byte ^ (clientSignature[index] ?? 0));
    this.#serverSignature = await hmac(await hmac(salted, "Server Key"), authMessage);
    return `${withoutProof},p=${toBase64(proof)}`;
  }

  /** Checks the server-final-message: the server proves it knows the password too. */
  verify(serverFinal: string) {
    const expected = this.#serverSignature;
    const signature = serverFinal.startsWith("v=") ? serverFinal.slice(2) : undefined;
    if (expected === undefined || signature !== toBase64(expected)) {
      throw new PgConnectionError("AUTH_FAILED", "The server's SCRAM signature is invalid");
    }
  }
}

/** MD5 in hex of `text` then `bytes`. */
async function md5Hex(text: string, bytes?: Uint8Array): Promise<string> {
  // MD5 is not in Web Crypto; Node's crypto loads only for a server that asks for it.
  const { createHash } = await import("node:crypto");
  const hash = createHash("md5").update(text);
  if (bytes) hash.update(bytes);
  return hash.digest("hex");
}

/** The answer to an MD5 password request: `md5` + md5(md5(password + user) + salt). */
export async function md5Password(user: string, password: string, salt: Uint8Array) {
  return `md5${await md5Hex(await md5Hex(password + user), salt)}`;
}
