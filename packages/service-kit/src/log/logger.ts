import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The one structured logger: JSON lines on stdout (the supervisor files them per component).
 * Anything that could carry a secret is redacted by key name, so a careless `log.info(req)`
 * cannot leak a password or token.
 */
export function createLogger(level: string, name = 'control'): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: [
        'password',
        '*.password',
        'new_password',
        '*.new_password',
        'token',
        '*.token',
        'access_token',
        '*.access_token',
        'refresh_token',
        '*.refresh_token',
        'authorization',
        '*.authorization',
        'headers.authorization',
        'req.headers.authorization',
        'secret',
        '*.secret',
      ],
      censor: '[redacted]',
    },
  });
}
