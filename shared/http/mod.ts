/**
 * The HTTP layer shared by the functions: errors and their statuses, CORS, authorisation.
 *
 * @module
 */
export * from "./errors.ts";
export * from "./cors.ts";
export * from "./auth.ts";
export * from "./handler.ts";
