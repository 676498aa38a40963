/**
 * TLS as libpq's sslmodes ask for it, within what Deno's TLS can do: it always checks the server's
 * certificate chain and cannot skip that, so every mode that encrypts also checks the chain
 * (against the system's authorities, `sslrootcert`, and Supabase's CA for Supabase's hosts).
 *
 * - `disable`, `allow`: plain text, no SSLRequest (libpq's `allow` would retry with TLS when the
 *   server refuses plain text; this client does not).
 * - `prefer` (the default): SSLRequest first; TLS when the server accepts, plain text only when
 *   it declines. A server that accepted never gets plain text: a failed handshake is an error.
 * - `require`, `verify-ca`: TLS or an error; the chain is checked, the host name is not.
 * - `verify-full`: TLS or an error; the chain and the host name are checked.
 */
import { PgConnectionError } from "./errors.ts";
import { sslRequest } from "./messages.ts";
import { isSupabaseHost, SUPABASE_ROOT_CA_2021 } from "./supabase_ca.ts";
import type { ConnectionSettings, SslMode } from "./url.ts";

const REQUIRED: readonly SslMode[] = ["require", "verify-ca", "verify-full"];

/** Writes all of `bytes`. */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

/** The PEM of a URL's `sslrootcert` text, "+" restored where URL decoding made it a space. */
function pemFromUrl(text: string): string {
  return text.split(/\r?\n/).map((line) =>
    line.startsWith("-----") ? line : line.replaceAll(" ", "+")
  )
    .join("\n");
}

/** The certificate authorities to trust beside the system's. */
async function trustedAuthorities(settings: ConnectionSettings): Promise<string[]> {
  const authorities: string[] = [];
  const root = settings.sslrootcert;
  if (root !== undefined && root !== "system") {
    if (root.includes("-----BEGIN")) authorities.push(pemFromUrl(root));
    else {
      try {
        authorities.push(await Deno.readTextFile(root));
      } catch (error) {
        const reason = error instanceof Error ? `: ${error.message}` : "";
        throw new PgConnectionError(
          "CONNECT_FAILED",
          `Could not read sslrootcert "${root}"${reason}`,
          { cause: error },
        );
      }
    }
  }
  if (isSupabaseHost(settings.hostname)) authorities.push(SUPABASE_ROOT_CA_2021);
  return authorities;
}

/**
 * Negotiates TLS on a fresh TCP connection as `settings.sslmode` asks, before anything else is
 * sent; returns the connection to speak the protocol on (the TLS one, or `tcp` itself).
 */
export async function negotiateTls(
  tcp: Deno.TcpConn,
  settings: ConnectionSettings,
): Promise<Deno.Conn> {
  const mode = settings.sslmode;
  if (mode === "disable" || mode === "allow") return tcp;
  const target = `${settings.hostname}:${settings.port}`;
  await writeAll(tcp, sslRequest());
  // One byte and no more: anything the server sent beyond it would reach the TLS handshake and
  // fail it, so nothing sent before the handshake can pass for the server's (CVE-2021-23222).
  const answer = new Uint8Array(1);
  if ((await tcp.read(answer)) !== 1) {
    throw new PgConnectionError("CONNECT_FAILED", "The database closed the connection");
  }
  if (answer[0] === 0x4e) { // N
    if (!REQUIRED.includes(mode)) return tcp;
    throw new PgConnectionError(
      "CONNECT_FAILED",
      `The database at ${target} does not accept TLS, which sslmode "${mode}" requires`,
    );
  }
  if (answer[0] !== 0x53) { // S
    throw new PgConnectionError(
      "PROTOCOL_VIOLATION",
      `The database at ${target} gave an unexpected answer to the TLS request`,
    );
  }
  const tls = await Deno.startTls(tcp, {
    hostname: settings.hostname,
    caCerts: await trustedAuthorities(settings),
    unsafelyDisableHostnameVerification: mode !== "verify-full",
  });
  try {
    // Deno finishes the handshake lazily; finish it here, where a failure is a TLS failure.
    await tls.handshake();
  } catch (error) {
    try {
      tls.close();
    } catch {
      // Already closed.
    }
    const reason = error instanceof Error ? error.message : String(error);
    const instead = mode === "prefer" ? `, or sslmode=disable to connect in plain text` : "";
    throw new PgConnectionError(
      "CONNECT_FAILED",
      `TLS with the database at ${target} failed (${reason}); the server offered TLS, so the ` +
        `client will not fall back to plain text: add sslrootcert=<its CA's PEM file or text> ` +
        `to the URL to trust its certificate${instead}`,
      { cause: error },
    );
  }
  return tls;
}
