// Where the demo finds Supabase. Here: the local server that serves this page, and the local
// project's publishable key (`deno task dev` prints it). A real app puts its project's URL and
// publishable key here; neither is a secret.
export const SUPABASE_URL = location.origin;
export const SUPABASE_PUBLISHABLE_KEY = "sb_publishable_local_demo_key";
/** Shows the code the local server "sent", read from its mailbox: local development only. */
export const LOCAL_TEST_MODE = true;
