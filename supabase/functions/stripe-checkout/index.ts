import { serveFunction } from "../_shared/serve.ts";
import { checkoutFunction } from "./handler.ts";

serveFunction(checkoutFunction);
