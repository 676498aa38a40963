/**
 * The SDK's Web Crypto provider with the imported HMAC key kept between calls, as the webhook
 * once did; the bench holds it against the SDK's own provider, which imports the key each time.
 */
import { Stripe } from "../../supabase/functions/_shared/stripe.ts";

const encoder = new TextEncoder();

/** Signs with a cached `CryptoKey` per secret; hashes with Web Crypto. */
export class KeyCachingCryptoProvider extends Stripe.CryptoProvider {
  readonly #keys = new Map<string, Promise<CryptoKey>>();

  override computeHMACSignature(): string {
    throw new Error("KeyCachingCryptoProvider signs asynchronously only");
  }

  override async computeHMACSignatureAsync(payload: string, secret: string): Promise<string> {
    let key = this.#keys.get(secret);
    if (key === undefined) {
      key = crypto.subtle.importKey(
        "raw",
        encoder.encode(secret),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      );
      this.#keys.set(secret, key);
    }
    const signature = await crypto.subtle.sign("HMAC", await key, encoder.encode(payload));
    return Array.from(new Uint8Array(signature), (byte) => byte.toString(16).padStart(2, "0"))
      .join("");
  }

  override async computeSHA256Async(data: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
  }
}
