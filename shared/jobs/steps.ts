/**
 * Registers the step of every engine with the app. Imported for its effect by the functions,
 * the worker and the CLI, so each process knows how to run every kind of run.
 *
 * @module
 */
