/** The record of API calls, for tests to assert on what a client sent. */
import type { ParamObject } from "./form.ts";
import { snapshot } from "./objects.ts";

/** One API call as received. */
export interface RecordedRequest {
  method: string;
  path: string;
  params: ParamObject;
  idempotencyKey: string | null;
  /** The status answered (0 while the call is still running). */
  status: number;
}

/** Every API call so far, in the order received. */
export class RequestRecorder {
  #requests: RecordedRequest[] = [];

  /** Records a call; set `status` on the returned entry when it is answered. */
  record(request: Omit<RecordedRequest, "status">): RecordedRequest {
    const entry: RecordedRequest = { ...request, status: 0 };
    this.#requests.push(entry);
    return entry;
  }

  /** A copy of every call so far, oldest first. */
  list(): RecordedRequest[] {
    return snapshot(this.#requests);
  }

  /** Forgets every call. */
  clear(): void {
    this.#requests = [];
  }
}
