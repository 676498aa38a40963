/** The doctor's report: what each check found, and the one place that prints it. */
import { redact } from "../../supabase/functions/_shared/log.ts";

/** How a check ended: it passed, it failed, or it could not run because an earlier one failed. */
export type Outcome = "pass" | "fail" | "skip";

/** What one check found. */
export interface CheckResult {
  outcome: Outcome;
  /** What was checked and what was found, on the check's one line. */
  summary: string;
  /** For a failure, what to run or do; printed on the same line after an arrow. */
  fix?: string;
  /** Lines printed under the check: findings, SQL to run. */
  details?: string[];
  /**
   * Lines printed exactly as they are: only the signing secret of an endpoint that `--fix` has
   * just created, which Stripe shows this once. Everything else goes through `redact`.
   */
  reveal?: string[];
}

/** A check that passed. */
export function passed(summary: string, details?: string[]): CheckResult {
  return { outcome: "pass", summary, ...(details && { details }) };
}

/** A check that failed, with what to do about it. */
export function failed(summary: string, fix: string, details?: string[]): CheckResult {
  return { outcome: "fail", summary, fix, ...(details && { details }) };
}

/** A check that could not run, and why (an earlier check that failed). */
export function skipped(summary: string, reason: string): CheckResult {
  return { outcome: "skip", summary: `${summary}: not checked, ${reason}` };
}

/** A check that could not run has not passed: it is marked as a failure, and says why. */
const MARKS: Record<Outcome, string> = { pass: "✓", fail: "✗", skip: "✗" };

/** The lines of one result: its check line, then its details indented. */
export function formatResult(result: CheckResult): string[] {
  const head = `${MARKS[result.outcome]} ${result.summary}${
    result.fix === undefined ? "" : ` → ${result.fix}`
  }`;
  return [
    redact(head),
    ...(result.details ?? []).map((line) => redact(`  ${line}`)),
    ...(result.reveal ?? []).map((line) => `  ${line}`),
  ];
}

/** The closing line: how many checks passed, failed and could not run. */
export function formatTotals(results: readonly CheckResult[]): string {
  const count = (outcome: Outcome) => results.filter((r) => r.outcome === outcome).length;
  const failures = count("fail");
  const skips = count("skip");
  if (failures === 0 && skips === 0) return `All ${results.length} checks pass.`;
  const parts = [`${failures} of ${results.length} checks fail`];
  if (skips > 0) parts.push(`${skips} could not run`);
  return `${parts.join(", ")}.`;
}
