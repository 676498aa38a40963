import { serveFunction } from "../_shared/serve.ts";
import { syncFunction } from "./handler.ts";

serveFunction(syncFunction);
