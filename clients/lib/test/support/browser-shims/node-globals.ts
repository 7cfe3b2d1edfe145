/**
 * Injected into every browser bundle by bundleForBrowser. simple-peer and its
 * dependencies (readable-stream, randombytes) were written for Browserify,
 * which provided Node's `process` and `Buffer`; esbuild does not.
 *
 * The named exports let esbuild rewrite free `process` / `Buffer` references
 * to these polyfills; the assignments cover code that looks them up on the
 * global object at run time instead.
 */
import { Buffer } from 'buffer';
import process from 'process';

const globals = globalThis as { process?: unknown; Buffer?: unknown };
globals.process ??= process;
globals.Buffer ??= Buffer;

export { Buffer, process };
