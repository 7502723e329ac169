// parse-full-name ships no types; the part of its API we use.
declare module 'parse-full-name' {
  export interface ParsedName {
    title: string;
    first: string;
    middle: string;
    last: string;
    nick: string;
    suffix: string;
    error: string[];
  }
  export function parseFullName(name: string, partToReturn?: string, fixCase?: 0 | 1 | -1, stopOnError?: 0 | 1, useLongLists?: 0 | 1): ParsedName;
}
