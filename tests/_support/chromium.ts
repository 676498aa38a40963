/**
 * Debian's Chromium for the browser tests, driven by playwright-core (no browser download):
 * where it is, whether it is installed, and how it is launched (loopback only, no sandbox as
 * root, nothing fetched in the background). Screenshots go to test-artifacts/.
 */
import { type Browser, chromium } from "npm:playwright-core@1.65.1";

/** The Chromium binary: `CHROMIUM_PATH`, else Debian's. */
export const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

/** Where the browser tests keep their screenshots. */
export const ARTIFACTS = new URL("../../test-artifacts/", import.meta.url).pathname;

/** Whether Chromium is installed, so that the browser tests can run. */
export function hasChromium(): boolean {
  try {
    Deno.statSync(CHROMIUM);
    return true;
  } catch {
    return false;
  }
}

/** Starts a headless Chromium. */
export async function launchChromium(): Promise<Browser> {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  return await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
