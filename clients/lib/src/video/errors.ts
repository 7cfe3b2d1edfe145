/** The one error type the video module throws. */

export type VideoErrorCode =
  /** The signalling service refused a request; `serverCode` says why (`forbidden`, `not_found`, ...). */
  | 'refused'
  /** The WebSocket could not be opened, or closed while a request waited. */
  | 'connection_closed'
  /** No answer in time. */
  | 'timeout'
  /** The browser would not capture (no camera, the user said no, the screen picker was closed). */
  | 'capture_failed'
  /** The room was left, or the connection is not in one. */
  | 'not_in_room';

export class VideoError extends Error {
  constructor(
    readonly code: VideoErrorCode,
    message: string,
    /** The signalling service's error code when `code` is `refused`. */
    readonly serverCode?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'VideoError';
  }
}
