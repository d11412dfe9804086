import type DataLoader from "dataloader";

/** Makes the loader of one kind of lookup; called at most once per request. */
export type LoaderFactory<K, V> = () => DataLoader<K, V>;

/**
 * The request's loaders, one per factory, made on first use: a module batches its lookups through
 * a factory of its own, and nothing central lists them.
 */
export class RequestLoaders {
  private readonly made = new Map<LoaderFactory<unknown, unknown>, DataLoader<unknown, unknown>>();

  get<K, V>(factory: LoaderFactory<K, V>): DataLoader<K, V> {
    let loader = this.made.get(factory as LoaderFactory<unknown, unknown>);
    if (!loader) {
      loader = factory() as DataLoader<unknown, unknown>;
      this.made.set(factory as LoaderFactory<unknown, unknown>, loader);
    }
    return loader as DataLoader<K, V>;
  }
}
