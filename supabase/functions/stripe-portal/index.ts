import { buildOnFirstRequest } from "../_shared/http.ts";
import { createLogger } from "../_shared/log.ts";
import { portalHandlerFromEnv } from "./handler.ts";

Deno.serve(
  buildOnFirstRequest(
    { name: "stripe-portal", logger: createLogger() },
    () => portalHandlerFromEnv(),
  ),
);
