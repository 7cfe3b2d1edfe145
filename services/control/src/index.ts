/**
 * @alloquy/control: the control server as a library, for the process entry (`main.ts`), the
 * operator's tooling and the other services' tests. Everything else in this package is internal.
 */
export { loadConfig, type ControlConfig } from './config/config.js';
export { startControlServer, VERSION, type ControlServer } from './server.js';
