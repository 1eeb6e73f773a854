/**
 * The second entry of the probe command line's bundle (see probe/bundle.ts): the runner,
 * which the command line imports once the probes are attached.
 *
 * @module
 */

export * from "./runner.ts";
