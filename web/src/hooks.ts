import { useEffect, useState } from 'react';
import { request } from './api';

/** The value once it has stopped changing for ms (live previews and counts ask once per pause, not per keystroke). */
export function useDebounced<T>(value: T, ms = 300): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const id = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(id);
  }, [value, ms]);
  return settled;
}

/**
 * Downloads an API export with this tab's credentials (a plain link would carry the session
 * cookie but not a Bearer key), saved under the name the API's content-disposition gives.
 */
export async function download(url: string, fallbackName: string) {
  const res = await request<string>('GET', url, { headers: { accept: 'text/csv' } });
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? fallbackName;
  const href = URL.createObjectURL(new Blob([res.data], { type: 'text/csv' }));
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
}
