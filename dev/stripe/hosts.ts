/**
 * Which `Host` a request may name. The emulator listens on loopback, where any web page can reach
 * it through DNS rebinding (a name of the attacker's that resolves to 127.0.0.1): answering only
 * requests addressed to a loopback name, or to a name it was told about, shuts that door.
 */

/** Names that always mean this machine, and Docker's name for it. */
const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]", "host.docker.internal"];

/** The host name of a `Host` header value, without its port, lower case. */
function hostName(host: string): string {
  const value = host.trim().toLowerCase();
  if (value.startsWith("[")) {
    const end = value.indexOf("]");
    return end < 0 ? value : value.slice(0, end + 1);
  }
  return value.split(":")[0] ?? "";
}

/** Decides whether a request's `Host` is one the emulator answers. */
export class HostCheck {
  readonly #allowed: Set<string>;

  /** `urls` are further base URLs whose host names are accepted (the public URL). */
  constructor(urls: readonly string[] = [], names: readonly string[] = []) {
    this.#allowed = new Set(LOOPBACK_NAMES);
    for (const name of names) this.#allowed.add(name.toLowerCase());
    for (const url of urls) this.allowUrl(url);
  }

  /** Accepts the host name of a base URL too. */
  allowUrl(url: string): void {
    try {
      this.#allowed.add(hostName(new URL(url).host));
    } catch {
      // Not a URL: nothing to accept.
    }
  }

  /** Whether a request naming this `Host` (null when absent) is answered. */
  allows(host: string | null): boolean {
    if (host === null) return false;
    const name = hostName(host);
    return this.#allowed.has(name) || name.endsWith(".localhost");
  }
}
