import { buildOnFirstRequest } from "../_shared/http.ts";
import { createLogger } from "../_shared/log.ts";
import { WEBHOOK_HTTP, webhookHandlerFromEnv } from "./handler.ts";

Deno.serve(
  buildOnFirstRequest(
    { ...WEBHOOK_HTTP, logger: createLogger() },
    () => webhookHandlerFromEnv(),
  ),
);
