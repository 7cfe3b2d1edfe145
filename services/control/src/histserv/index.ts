/** HistServ: message history recorded from IRC, and the command stock clients read it with. */
export { startHistServ } from './histserv.js';
export type { HistServ, HistServLink, HistServOptions } from './histserv.js';
export { HistoryRecorder, interpretMessage } from './recorder.js';
export type { Interpretation, RecorderOptions, RecorderStats, Sender, SkipReason } from './recorder.js';
export { histservReply, formatMessage, RequestLimiter, HISTORY_MAX, SEARCH_RESULTS } from './commands.js';
export type { HistServRequest } from './commands.js';
