/** Hostile cases that use a method other than POST (every function). */
import { type HostileCase, requestTo, type Target } from "./common.ts";

const WRONG_METHODS = ["GET", "PUT", "PATCH", "DELETE", "HEAD", "PROPFIND", "FOO"];

/** A request with every method but POST (and OPTIONS, the preflight). */
export function methodCases(target: Target): HostileCase[] {
  return WRONG_METHODS.map((method) => ({
    name: `method ${method}`,
    target,
    status: 405,
    error: "Method not allowed",
    build: (c) => {
      const headers = new Headers({ "Stripe-Signature": "t=1,v1=00" });
      if (target !== "webhook") headers.set("Authorization", `Bearer ${c.user.token}`);
      const body = method === "GET" || method === "HEAD" ? undefined : "{}";
      return requestTo(target, { method, headers, body });
    },
  }));
}
