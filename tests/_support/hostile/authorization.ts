/** Hostile cases about the Authorization header itself (checkout and portal). */
import {
  type CaseContext,
  type HostileCase,
  KIB,
  MIB,
  requestTo,
  type Target,
  withAuthorization,
} from "./common.ts";

/**
 * Rows about the Authorization header itself. CR, LF and NUL cannot be injected: `Headers`
 * refuses them before a request exists (as an HTTP server would), so tabs and spaces stand in.
 */
export function headerCases(target: Target): HostileCase[] {
  const rows: [string, (c: CaseContext) => string | null, string?][] = [
    ["no Authorization header", () => null, "Missing authorization header"],
    ["an empty Authorization header", () => "", "Missing authorization header"],
    ["an Authorization header of spaces and tabs", () => " \t  ", "Missing authorization header"],
    ["`Bearer` with nothing after it", () => "Bearer", "Invalid authorization header"],
    ["`Bearer` and spaces", () => "Bearer    ", "Invalid authorization header"],
    ["`Basic` credentials", () => "Basic dXNlcjpwYXNzd29yZA==", "Invalid authorization header"],
    ["`Basic` with a valid token", (c) => `Basic ${c.user.token}`, "Invalid authorization header"],
    ["`Token` with a valid token", (c) => `Token ${c.user.token}`, "Invalid authorization header"],
    ["a valid token without a scheme", (c) => c.user.token, "Invalid authorization header"],
    ["`Bearer:` with a colon", (c) => `Bearer: ${c.user.token}`, "Invalid authorization header"],
    [
      "`Bearer=` glued to the token",
      (c) => `Bearer=${c.user.token}`,
      "Invalid authorization header",
    ],
    [
      "`Bearertoken` without a space",
      (c) => `Bearer${c.user.token}`,
      "Invalid authorization header",
    ],
    ["lowercase `bearer` with garbage", () => "bearer garbage", "Invalid access token"],
    [
      "uppercase `BEARER` with garbage",
      () => "BEARER g4rb4ge.g4rb4ge.g4rb4ge",
      "Invalid access token",
    ],
    ["two tokens separated by a space", (c) => `Bearer ${c.user.token} ${c.user.token}`],
    ["two Bearer credentials separated by a comma", (c) => `Bearer ${c.user.token}, Bearer x`],
    ["a valid token followed by a tab and garbage", (c) => `Bearer ${c.user.token}\tgarbage`],
    ["a tab injected inside the token", (c) => `Bearer ${c.user.token.replace(".", ".\t")}`],
    ["a space injected inside the token", (c) => `Bearer ${c.user.token.replace(".", ". ")}`],
    ["a no-break space between scheme and token", (c) => `Bearer\u00a0${c.user.token}`],
    ["a no-break space inside the token", (c) => `Bearer ${c.user.token.replace(".", "\u00a0.")}`],
    ["a 16 KiB token", () => `Bearer ${"A".repeat(16 * KIB)}`, "Invalid access token"],
    ["a 64 KiB token", () => `Bearer ${"A".repeat(64 * KIB)}`, "Invalid access token"],
    [
      "a 1 MiB three-part token",
      () => `Bearer ${"e".repeat(MIB / 2)}.${"e".repeat(MIB / 2)}.x`,
      "Invalid access token",
    ],
    ["Latin-1 bytes as the token", () => "Bearer \u00e9\u00ff\u00e0\u00e7", "Invalid access token"],
    ["a valid token with a Latin-1 byte appended", (c) => `Bearer ${c.user.token}\u00e9`],
    ["a Latin-1 scheme", (c) => `B\u00e9arer ${c.user.token}`, "Invalid authorization header"],
    ["`Bearer null`", () => "Bearer null", "Invalid access token"],
    ["`Bearer undefined`", () => "Bearer undefined", "Invalid access token"],
    ["`Bearer [object Object]`", () => "Bearer [object Object]"],
    ["`Bearer {}`", () => "Bearer {}", "Invalid access token"],
    ["`Bearer true`", () => "Bearer true", "Invalid access token"],
    ["`Bearer 0`", () => "Bearer 0", "Invalid access token"],
    ["`Bearer NaN`", () => "Bearer NaN", "Invalid access token"],
  ];
  const cases: HostileCase[] = rows.map(([name, authorization, error]) => ({
    name,
    target,
    status: 401,
    error,
    build: (c) => withAuthorization(target, authorization(c)),
  }));
  cases.push(
    {
      name: "two Authorization headers, both valid",
      target,
      status: 401,
      error: "Invalid authorization header",
      build: (c) => {
        const headers = new Headers();
        headers.append("Authorization", `Bearer ${c.user.token}`);
        headers.append("Authorization", `Bearer ${c.user.token}`);
        return requestTo(target, { headers });
      },
    },
    {
      name: "the token only in an apikey header",
      target,
      status: 401,
      error: "Missing authorization header",
      build: (c) => requestTo(target, { headers: { apikey: c.user.token } }),
    },
    {
      name: "the token only in a Supabase session cookie",
      target,
      status: 401,
      error: "Missing authorization header",
      build: (c) => requestTo(target, { headers: { cookie: `sb-access-token=${c.user.token}` } }),
    },
    {
      name: "the token under a misspelt Authorisation header",
      target,
      status: 401,
      error: "Missing authorization header",
      build: (c) => requestTo(target, { headers: { Authorisation: `Bearer ${c.user.token}` } }),
    },
  );
  return cases;
}
