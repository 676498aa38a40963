import { buildOnFirstRequest } from "../_shared/http.ts";
import { createLogger } from "../_shared/log.ts";
import { CHECKOUT_HTTP, checkoutHandlerFromEnv } from "./handler.ts";

Deno.serve(
  buildOnFirstRequest(
    { ...CHECKOUT_HTTP, logger: createLogger() },
    () => checkoutHandlerFromEnv(),
  ),
);
