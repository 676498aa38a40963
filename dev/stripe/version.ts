/**
 * The API version the emulator speaks and stamps on events. The emulator keeps its own copy, so
 * that a test (not an import) proves it equal to the version the functions pin.
 */
export const API_VERSION = "2026-10-28.endive";
