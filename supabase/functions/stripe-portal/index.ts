import { buildOnFirstRequest } from "../_shared/http.ts";
import { createLogger } from "../_shared/log.ts";
import { PORTAL_HTTP, portalHandlerFromEnv } from "./handler.ts";

Deno.serve(
  buildOnFirstRequest(
    { ...PORTAL_HTTP, logger: createLogger() },
    () => portalHandlerFromEnv(),
  ),
);
