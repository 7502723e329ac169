/**
 * A page cursor a repository cannot read: not one it returned, or one of another sort. Thrown by
 * the page queries (the cursor is decoded while the SQL is built); the API answers 400 naming the
 * cursor, with `reason` as the field's message.
 */
export class InvalidCursorError extends Error {
  constructor(readonly reason: string) {
    super('invalid cursor');
  }
}
