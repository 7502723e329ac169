import { lazy, useState, type ComponentType } from 'react';

/**
 * A route's code split into its own chunk, as React.lazy does, that can also be loaded ahead
 * (`preload`). Once its chunk is in, the route renders at once instead of suspending: React.lazy
 * suspends on first render even when the module has already arrived, and a suspended route waits
 * for React's fallback throttle (up to 500 ms) before it shows.
 */
export function lazyRoute<M extends { default: ComponentType }>(load: () => Promise<M>) {
  let loaded: ComponentType | undefined;
  const preload = () => load().then((module) => { loaded = module.default; return module; });
  const Lazy = lazy(preload);
  function Route() {
    // chosen once per mount: switching from Lazy to the loaded component later would remount it
    const [View] = useState(() => loaded ?? Lazy);
    return <View />;
  }
  return Object.assign(Route, { preload });
}
