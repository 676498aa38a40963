/** The hostile input corpus: every family of cases, for every function it targets. */
import { headerCases } from "./authorization.ts";
import { bodyCases } from "./bodies.ts";
import type { HostileCase } from "./common.ts";
import { methodCases } from "./methods.ts";
import { controlledTokenCases, futureIatCases, tokenCases } from "./tokens.ts";
import { webhookBodyCases } from "./webhook_bodies.ts";
import { webhookSignatureCases } from "./webhook_signatures.ts";

/** Every row of the corpus. */
export function hostileCorpus(): HostileCase[] {
  const cases: HostileCase[] = [];
  for (const target of ["checkout", "portal"] as const) {
    cases.push(...headerCases(target), ...tokenCases(target), ...bodyCases(target));
    cases.push(...futureIatCases(target));
  }
  for (const target of ["checkout-controlled", "portal-controlled"] as const) {
    cases.push(...controlledTokenCases(target));
  }
  for (const target of ["checkout", "portal", "webhook"] as const) {
    cases.push(...methodCases(target));
  }
  cases.push(...webhookSignatureCases(), ...webhookBodyCases());
  return cases;
}
