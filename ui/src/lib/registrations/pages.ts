// A page cache for the virtualized registrations table: rows are fetched from the backend in
// pages as they scroll into view, and a changed query starts a new cache.
import type { RegistrationPage, RegistrationQuery, RegistrationRow } from "../backend";

export const PAGE_SIZE = 200;

export type PageLoader = (query: RegistrationQuery) => Promise<RegistrationPage>;

export class PageCache {
  private pages = new Map<number, RegistrationRow[]>();
  private loading = new Set<number>();
  private generation = 0;
  total: number | null = null;

  constructor(
    private load: PageLoader,
    private onChange: () => void,
    private onError: (reason: unknown) => void,
  ) {}

  /** Drops every page; responses to requests made before are ignored. */
  reset(): void {
    this.generation++;
    this.pages.clear();
    this.loading.clear();
    this.total = null;
  }

  row(index: number): RegistrationRow | undefined {
    return this.pages.get(Math.floor(index / PAGE_SIZE))?.[index % PAGE_SIZE];
  }

  /** Fetches the pages that hold rows `first` to `last` and are not cached or on their way. */
  ensure(query: Omit<RegistrationQuery, "offset" | "limit">, first: number, last: number): void {
    const firstPage = Math.floor(Math.max(0, first) / PAGE_SIZE);
    const lastPage = Math.floor(Math.max(0, last) / PAGE_SIZE);
    for (let page = firstPage; page <= lastPage; page++) {
      if (this.pages.has(page) || this.loading.has(page)) continue;
      if (this.total !== null && page * PAGE_SIZE >= this.total && page > 0) continue;
      this.fetch(query, page);
    }
  }

  private fetch(query: Omit<RegistrationQuery, "offset" | "limit">, page: number): void {
    const generation = this.generation;
    this.loading.add(page);
    this.load({ ...query, offset: page * PAGE_SIZE, limit: PAGE_SIZE })
      .then((result) => {
        if (generation !== this.generation) return;
        this.pages.set(page, result.items);
        this.total = result.total;
        this.onChange();
      })
      .catch((reason) => {
        if (generation === this.generation) this.onError(reason);
      })
      .finally(() => {
        if (generation === this.generation) this.loading.delete(page);
      });
  }
}
