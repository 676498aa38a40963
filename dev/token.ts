/** `deno task token <email>`: creates a local user if new and prints an access token for them. */
import { readDevEnv } from "./env.ts";

const email = Deno.args[0];
if (email === undefined || email.startsWith("-")) {
  console.error("Usage: deno task token <email>   (while deno task dev runs)");
  Deno.exit(2);
}
// The port `deno task dev` listens on, read from the same variables it reads.
const port = (await readDevEnv()).get("PORT") || "54321";
const url = `http://127.0.0.1:${port}/auth/v1/local/token`;
let response: Response;
try {
  response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email }),
  });
} catch {
  console.error(`error: nothing answers at ${url}; start it first with: deno task dev`);
  Deno.exit(1);
}
const body = await response.json().catch(() => ({}));
if (!response.ok || typeof body.access_token !== "string") {
  const reason = response.status === 404
    ? "the running server uses a configured Supabase project, not the local issuer"
    : body.error ?? `status ${response.status}`;
  console.error(`error: no token: ${reason}`);
  Deno.exit(1);
}
const validity = typeof body.expires_in === "number"
  ? `; token valid for ${describeSeconds(body.expires_in)}`
  : "";
console.error(
  `${
    body.user.created ? "Created" : "Existing"
  } user ${body.user.email} (${body.user.id})${validity}:`,
);
console.log(body.access_token);

/** "1 hour", "90 minutes", "45 seconds". */
function describeSeconds(seconds: number): string {
  const [amount, unit] = seconds % 3600 === 0
    ? [seconds / 3600, "hour"]
    : seconds % 60 === 0
    ? [seconds / 60, "minute"]
    : [seconds, "second"];
  return `${amount} ${unit}${amount === 1 ? "" : "s"}`;
}
