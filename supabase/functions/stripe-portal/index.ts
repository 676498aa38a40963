import { serveFunction } from "../_shared/serve.ts";
import { portalFunction } from "./handler.ts";

serveFunction(portalFunction);
