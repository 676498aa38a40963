/** The fuzz loop's draws from a seeded generator: characters, bytes, mutations, odd events. */
import { sampleEvent } from "./webhook.ts";

/** Draws from a seeded generator. */
export class Draw {
  constructor(readonly random: () => number) {}

  int(below: number): number {
    return Math.floor(this.random() * below);
  }

  chance(probability: number): boolean {
    return this.random() < probability;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error("Cannot pick from an empty list");
    return item;
  }

  /** A header-safe character: printable ASCII, tab, or Latin-1 (never CR, LF or NUL). */
  headerChar(): string {
    const roll = this.random();
    if (roll < 0.05) return "\t";
    if (roll < 0.2) return String.fromCharCode(0xa0 + this.int(0x60));
    return String.fromCharCode(0x20 + this.int(0x5f));
  }

  headerText(maxLength: number): string {
    return Array.from({ length: this.int(maxLength + 1) }, () => this.headerChar()).join("");
  }

  bytes(length: number): Uint8Array<ArrayBuffer> {
    const bytes = new Uint8Array(length);
    for (let i = 0; i < length; i++) bytes[i] = this.int(256);
    return bytes;
  }

  /** `text` with 1 to `max` header-safe characters replaced, inserted or deleted. */
  mutateText(text: string, max = 4): string {
    let result = text;
    for (let i = 0, n = 1 + this.int(max); i < n; i++) {
      const at = this.int(result.length + 1);
      const op = this.int(3);
      if (op === 0) result = result.slice(0, at) + this.headerChar() + result.slice(at + 1);
      else if (op === 1) result = result.slice(0, at) + this.headerChar() + result.slice(at);
      else result = result.slice(0, at) + result.slice(at + 1);
    }
    return result;
  }

  /** `bytes` with 1 to `max` random bytes flipped. */
  flipBytes(bytes: Uint8Array, max = 4): Uint8Array<ArrayBuffer> {
    const copy = new Uint8Array(bytes);
    if (copy.length === 0) return copy;
    for (let i = 0, n = 1 + this.int(max); i < n; i++) {
      const at = this.int(copy.length);
      copy[at] = (copy[at] ?? 0) ^ (1 + this.int(255));
    }
    return copy;
  }
}

/** Methods other than POST the fuzz loop sends (one request in five). */
export const FUZZ_OTHER_METHODS = [
  "GET",
  "PUT",
  "PATCH",
  "DELETE",
  "HEAD",
  "OPTIONS",
  "PROPFIND",
];

/** Values a signed event's fields are replaced with: none of them makes an event we apply. */
const ODD_VALUES: readonly unknown[] = [
  null,
  0,
  -1,
  "",
  "x",
  true,
  [],
  {},
  [{}],
  { object: null },
  { object: {} },
  { object: "cus_1" },
  "customer.updated",
  "charge.succeeded",
  "__proto__",
];

/**
 * A sample event with one to three fields (id, type, data, data.object, ...) replaced by odd
 * values, or an odd JSON document instead of an object. Its type is never one the webhook
 * applies, so even a well-shaped result is acknowledged without a write or a Stripe call.
 */
export function reshapedEvent(draw: Draw): string {
  if (draw.chance(0.1)) return draw.pick(["[]", "{}", "42", '"evt_1"', "true", "[null]", "{}{}"]);
  const event = JSON.parse(sampleEvent()) as Record<string, unknown>;
  for (let i = 0, n = 1 + draw.int(3); i < n; i++) {
    const value = draw.pick(ODD_VALUES);
    const field = draw.pick(["id", "type", "data", "object", "created", "data.object", "extra"]);
    if (field === "data.object") event.data = { object: value };
    else event[field] = value;
  }
  return JSON.stringify(event);
}

/** Header names the fuzz loop adds, with random values. */
export const FUZZ_HEADERS = [
  "content-type",
  "apikey",
  "x-client-info",
  "x-request-id",
  "cookie",
  "origin",
  "x-forwarded-for",
  "accept",
  "accept-encoding",
  "stripe-signature",
  "authorization",
  "content-length",
  "x-stripe-event",
];
