import { buildOnFirstRequest } from "../_shared/http.ts";
import { createLogger } from "../_shared/log.ts";
import { checkoutHandlerFromEnv } from "./handler.ts";

Deno.serve(
  buildOnFirstRequest(
    { name: "stripe-checkout", logger: createLogger() },
    () => checkoutHandlerFromEnv(),
  ),
);
