// Streaming CSV uploads: request bytes → UTF-8 check → csv-parse → source mapping → staged payloads,
// handed to the intake repository (db/intake.ts), which COPYs them inside one transaction with the
// batch row. Memory stays flat whatever the file size (every stage is a stream with backpressure),
// and any error rolls the whole batch back: a malformed file stages nothing.
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import { isUtf8 } from 'node:buffer';
import { parse, CsvError } from 'csv-parse';
import { EmptyBatchError, type IntakeRepository, type StagedBatch } from '../db/intake';
import { identifies, mapRecord, payloadOf, type SourceFormat } from '../common/source-mappings';
import { HttpError } from './errors';

export interface CsvBatch {
  batchId: string;
  source: string;
  format: SourceFormat;
  mapping?: Record<string, string>;
  actor?: string;
  maxBytes: number;
}

/** A problem with the file itself: answered as 400 naming the line. */
class CsvInputError extends Error {
  constructor(readonly line: number, message: string) {
    super(`line ${line}: ${message}`);
  }
}

const MAX_LINE_BYTES = 16 * 1024 * 1024;

/** Passes bytes on whole lines only after checking they are UTF-8; counts lines and bytes. */
class Utf8Lines extends Transform {
  private tail: Buffer = Buffer.alloc(0);
  private line = 1;
  private bytes = 0;
  constructor(private readonly maxBytes: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) return done(new HttpError(413, `CSV upload exceeds ${Math.round(this.maxBytes / 1048576)} MB`));
    const buf = this.tail.length ? Buffer.concat([this.tail, chunk]) : chunk;
    const end = buf.lastIndexOf(0x0a) + 1; // 0x0A never occurs inside a multi-byte UTF-8 sequence
    this.tail = buf.subarray(end);
    if (this.tail.length > MAX_LINE_BYTES) return done(new CsvInputError(this.line, 'line longer than 16 MB'));
    if (end === 0) return done();
    const whole = buf.subarray(0, end);
    const bad = this.check(whole);
    if (bad) return done(bad);
    this.push(whole);
    done();
  }
  override _flush(done: TransformCallback): void {
    const bad = this.tail.length ? this.check(this.tail) : null;
    if (bad) return done(bad);
    if (this.tail.length) this.push(this.tail);
    done();
  }
  private check(buf: Buffer): CsvInputError | null {
    if (isUtf8(buf) && !buf.includes(0)) {
      for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, i + 1)) this.line++;
      return null;
    }
    // find the offending line (only on the error path)
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      const line = buf.subarray(start, nl < 0 ? buf.length : nl + 1);
      if (!isUtf8(line)) return new CsvInputError(this.line, 'not valid UTF-8 (save the file as UTF-8)');
      if (line.includes(0)) return new CsvInputError(this.line, 'contains a NUL byte');
      this.line++;
      if (nl < 0) return null;
      start = nl + 1;
    }
  }
}

/**
 * Stages a CSV upload as a batch. Returns staged=false (and drains the stream) when the batch id
 * is already staged; throws HttpError 400 naming the line for a malformed file.
 */
export async function stageCsv(intake: IntakeRepository, batch: CsvBatch, input: Readable): Promise<StagedBatch> {
  let lastRecordLine = 1; // the header; an unclosed quote is reported where its record began
  const toPayloads = new Transform({
    objectMode: true,
    transform(rec: { record: Record<string, string>; info: { lines: number } }, _enc, done) {
      const mapped = mapRecord(batch.format, rec.record, batch.mapping);
      if (!identifies(mapped)) {
        return done(new CsvInputError(rec.info.lines, 'a row needs an email, a LinkedIn URL or a name'));
      }
      done(null, payloadOf(rec.record, mapped));
    },
  });
  // Built only once the batch id is claimed; a failing stage destroys toPayloads with its error,
  // which fails the repository's COPY pipeline (and a failing COPY destroys these stages).
  const payloads = () =>
    pipeline(
      input,
      new Utf8Lines(batch.maxBytes),
      parse({
        columns: headerColumns, bom: true, skip_empty_lines: true, info: true,
        on_record: (record, context) => {
          lastRecordLine = context.lines;
          return record;
        },
      }),
      toPayloads,
      () => undefined,
    );
  try {
    return await intake.stageBatch({ batchId: batch.batchId, source: batch.source, actor: batch.actor }, payloads);
  } catch (err) {
    if (err instanceof EmptyBatchError) throw new HttpError(400, 'the CSV has a header but no rows');
    throw asHttpError(err, lastRecordLine);
  } finally {
    input.resume(); // let the rest of the upload drain: an existing batch's, or so the 4xx reaches the client
  }
}

/** Header names trimmed; an empty or repeated header is a malformed file. */
function headerColumns(header: string[]): string[] {
  const seen = new Set<string>();
  return header.map((h, i) => {
    const name = h.trim();
    if (!name) throw new CsvInputError(1, `column ${i + 1} has no header`);
    if (seen.has(name)) throw new CsvInputError(1, `header "${name}" appears twice`);
    seen.add(name);
    return name;
  });
}

function asHttpError(err: unknown, lastRecordLine: number): unknown {
  if (err instanceof HttpError) return err;
  if (err instanceof CsvInputError) return new HttpError(400, `malformed CSV, ${err.message}; nothing was staged`, { line: err.line });
  if (err instanceof CsvError) {
    const line = err.code === 'CSV_QUOTE_NOT_CLOSED' ? lastRecordLine + 1 : typeof err.lines === 'number' ? err.lines : undefined;
    const cause = err.cause instanceof CsvInputError ? err.cause : undefined;
    if (cause) return new HttpError(400, `malformed CSV, ${cause.message}; nothing was staged`, { line: cause.line });
    const what = err.code === 'CSV_QUOTE_NOT_CLOSED' ? 'a quote opened here is never closed' : err.message;
    return new HttpError(400, `malformed CSV, line ${line ?? '?'}: ${what}; nothing was staged`, { line, code: err.code });
  }
  return err;
}
