import { buildOnFirstRequest } from "../_shared/http.ts";
import { createLogger } from "../_shared/log.ts";
import { webhookHandlerFromEnv } from "./handler.ts";

Deno.serve(
  buildOnFirstRequest(
    { name: "stripe-webhook", logger: createLogger(), failureMessage: "Webhook handler failed" },
    () => webhookHandlerFromEnv(),
  ),
);
