/**
 * The entry of the probe command line's bundle (see probe/bundle.ts): the command line and
 * the direct back end, with the runner (probe/bundle_runner.ts) in a file of its own that
 * is loaded once the probes are attached.
 *
 * @module
 */

import { registerBundle } from "./bundle.ts";
import * as pipeline from "./pipeline.ts";
import * as start from "./direct/start.ts";

// The bundle is build/bundle/: the repository is two levels up.
registerBundle(new URL("../../", import.meta.url), {
  "probe/direct/start.ts": () => Promise.resolve(start),
  "probe/pipeline.ts": () => Promise.resolve(pipeline),
  "probe/runner.ts": () => import(new URL("./bundle_runner.js", import.meta.url).href),
});

export { probeMain } from "./cli.ts";
