/**
 * The demo app's files: the page at `/` and `/dashboard`, its script, stylesheet and
 * `config.js`, and supabase-js's browser build read from the npm package. Everything is served
 * from this origin under a Content-Security-Policy that allows nothing else.
 */
import supabaseJs from "npm:@supabase/supabase-js@2.119.1/dist/umd/supabase.js" with {
  type: "text",
};
import page from "./index.html" with { type: "text" };
import script from "./app.js" with { type: "text" };
import stylesheet from "./styles.css" with { type: "text" };
import config from "./config.js" with { type: "text" };

/** What the demo needs to know. */
export interface DemoOptions {
  /** The local server's origin, where Checkout and the portal send the browser back. */
  origin: string;
}

const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join("; ");

function asset(body: string, type: string, cache: boolean): Response {
  return new Response(body, {
    headers: {
      "Content-Type": `${type}; charset=utf-8`,
      "Content-Security-Policy": CONTENT_SECURITY_POLICY,
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
      "Cache-Control": cache ? "public, max-age=3600" : "no-store",
    },
  });
}

/** Creates the demo's routes; answers undefined for a path it does not serve. */
export function createDemo(options: DemoOptions) {
  const origin = new URL(options.origin);
  const files = new Map<string, () => Response>([
    ["/demo/app.js", () => asset(script, "text/javascript", false)],
    ["/demo/config.js", () => asset(config, "text/javascript", false)],
    ["/demo/styles.css", () => asset(stylesheet, "text/css", false)],
    ["/demo/supabase.js", () => asset(supabaseJs, "text/javascript", true)],
  ]);

  return (request: Request, path: string): Response | undefined => {
    if (request.method !== "GET" && request.method !== "HEAD") return undefined;
    if (path === "" || path === "/dashboard") {
      // The session lives in this origin's storage, and Checkout comes back to this origin: a
      // page opened as localhost would look signed out on return, so it moves here first.
      const url = new URL(request.url);
      if (url.host !== origin.host) {
        return Response.redirect(`${origin.origin}${url.pathname}${url.search}`, 307);
      }
      return asset(page, "text/html", false);
    }
    return files.get(path)?.();
  };
}
