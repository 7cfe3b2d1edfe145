import type { Request, RequestHandler, Response } from 'express';

/** What a client may still send after an early refusal before its connection is cut. */
const LINGER_BYTES = 8 * 1024 * 1024;
const LINGER_MS = 2000;

/**
 * For a refusal sent before the request body was read (too large, forbidden): the connection
 * closes after the answer, and the rest of the body is read and dropped for a moment first.
 * Cutting the socket while the client is still sending makes many TCP stacks reset the
 * connection and throw away the answer the client has not read yet (lingering close, as every
 * HTTP server does it). Nothing read here is kept.
 */
export function closeAfterResponse(req: Request, res: Response): void {
  if (req.complete || req.destroyed) return;
  if (!res.headersSent) res.setHeader('Connection', 'close');
  res.once('finish', () => {
    let drained = 0;
    const cut = () => req.socket.destroy();
    const timer = setTimeout(cut, LINGER_MS);
    timer.unref();
    req.on('data', (chunk: Buffer) => {
      drained += chunk.length;
      if (drained > LINGER_BYTES) cut();
    });
    req.once('end', () => clearTimeout(timer));
    req.unpipe();
    req.resume();
  });
}

/** A route that may refuse before it has read the body: any error answers, then closes as above. */
export function closingOnRefusal(handler: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return async (req, res, next) => {
    try {
      await handler(req, res);
    } catch (err) {
      closeAfterResponse(req, res);
      next(err);
    }
  };
}
