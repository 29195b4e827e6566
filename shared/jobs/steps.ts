/**
 * Registers the step of every engine with the app. Imported for its effect by the functions,
 * the worker and the CLI, so each process knows how to run every kind of run.
 *
 * @module
 */
import { registerStep } from "../app.ts";
import { createDatabaseStep } from "../database/run_step.ts";
import "../storage/register.ts";

registerStep("database", createDatabaseStep);
import "../retention/register.ts";
import "../replication/register.ts";
import "../restore_test/register.ts";
