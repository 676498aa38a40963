/**
 * The local server's stand-ins for Supabase (Auth, REST) on the shared test environment, served
 * on a loopback port so that supabase-js talks to them as a browser would.
 */
import { createClient, type SupabaseClient } from "npm:@supabase/supabase-js@2.119.1";
import { LOCAL_PUBLISHABLE_KEY } from "../../dev/local.ts";
import { createDevHandler } from "../../dev/server.ts";
import type { Harness } from "./harness.ts";

/** A running local platform. */
export interface LocalPlatformServer {
  url: string;
  /** Lines the stand-ins logged (sign-in codes, failures). */
  logs: string[];
  /** A supabase-js client of this server, without storage or timers. */
  client(): SupabaseClient;
  /** Signs a new (or known) email in through supabase-js; returns the client and session. */
  signIn(email: string): Promise<{ client: SupabaseClient; accessToken: string; userId: string }>;
  /** The code last "sent" to `email`, from the local mailbox. */
  codeFor(email: string): Promise<string>;
  close(): Promise<void>;
}

/** Serves the functions and the local stand-ins of `h` on a free loopback port. */
export function serveLocalPlatform(h: Harness): LocalPlatformServer {
  const logs: string[] = [];
  const handler = createDevHandler({
    checkout: h.checkout,
    portal: h.portal,
    webhook: h.webhook,
    sync: h.sync,
    platform: {
      issuer: h.issuer,
      sql: h.sql,
      publishableKey: LOCAL_PUBLISHABLE_KEY,
      origin: "http://127.0.0.1:54321",
      log: (line) => logs.push(line),
    },
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  const url = `http://127.0.0.1:${server.addr.port}`;
  const platform: LocalPlatformServer = {
    url,
    logs,
    client: () =>
      createClient(url, LOCAL_PUBLISHABLE_KEY, {
        auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
      }),
    async codeFor(email) {
      const response = await fetch(
        `${url}/auth/v1/local/mailbox?email=${encodeURIComponent(email)}`,
      );
      const body = await response.json() as { code?: string };
      if (typeof body.code !== "string") throw new Error(`No code for "${email}"`);
      return body.code;
    },
    async signIn(email) {
      const client = platform.client();
      const sent = await client.auth.signInWithOtp({ email });
      if (sent.error) throw sent.error;
      const token = await platform.codeFor(email);
      const { data, error } = await client.auth.verifyOtp({ email, token, type: "email" });
      if (error || !data.session || !data.user) throw error ?? new Error("No session");
      return { client, accessToken: data.session.access_token, userId: data.user.id };
    },
    close: () => server.shutdown(),
  };
  return platform;
}
