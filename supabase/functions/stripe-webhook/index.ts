import { serveFunction } from "../_shared/serve.ts";
import { webhookFunction } from "./handler.ts";

serveFunction(webhookFunction);
