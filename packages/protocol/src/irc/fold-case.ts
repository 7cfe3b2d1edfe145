/**
 * ASCII lowercase: the hub's CASEMAPPING for our deployments is `ascii`, and account and channel
 * names are compared the same way everywhere (IRC link, guild model, history).
 */
export function foldCase(text: string): string {
  return text.replace(/[A-Z]/g, (c) => c.toLowerCase());
}
