/**
 * @alloquy/control/testing: what the tests and benchmarks of the services beside the control
 * server stand on: a real control server in a temporary home, and the guild operations they set
 * their scene with.
 */
export { startTestControl, type TestControl } from './test-control.js';
export { OPERATOR, accountActor, type Actor } from '../guild/service.js';
export type { Account } from '../accounts/account-service.js';
