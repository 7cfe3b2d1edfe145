/**
 * The logging surface the IRC link needs. pino's Logger satisfies it, so the app passes
 * a pino child logger; tests pass nothing (silent) or a collecting fake.
 */
export interface LinkLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const ignore = (): void => undefined;

export const silentLogger: LinkLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
