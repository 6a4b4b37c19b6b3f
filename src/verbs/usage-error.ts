/** A request that cannot run as asked: the front end shows it with the verb's usage (exit status 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
